"""Turn a model's answer into a worksheet: repair what is safe, name what is not."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from pydantic import ValidationError

from service.worksheet import MODALITIES, Modality, Worksheet

_REFUSAL = re.compile(
    r"^\W*(i'?m sorry|i am sorry|sorry,|i cannot|i can'?t|i won'?t|i'?m unable|i am unable|"
    r"i'?m not able|as an ai|unfortunately,? i)", re.I)
_MODALITY = {
    "voice note": "voice_note", "voice notes": "voice_note", "voice-note": "voice_note",
    "voicenote": "voice_note", "voice": "voice_note", "audio": "voice_note",
    "voice memo": "voice_note", "recording": "voice_note",
    "written": "paper", "worksheet": "paper", "writing": "paper", "pen and paper": "paper",
    "print": "paper", "printed": "paper", "notebook": "paper", "journal": "paper",
    "talk": "conversation", "talking": "conversation", "chat": "conversation",
    "phone app": "app", "notes app": "app", "mobile app": "app", "application": "app",
    "calendar reminder": "calendar", "reminder": "calendar", "diary": "calendar",
}
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%d.%m.%Y", "%d %B %Y", "%d %b %Y",
                 "%B %d, %Y", "%B %d %Y", "%b %d, %Y", "%A %d %B %Y", "%A, %B %d, %Y")


class ParseError(Exception):
    """Why the answer is not a worksheet, in words fit for the clinician and the repair prompt.

    `reason`: refused, truncated, no_json, invalid_json, not_object, invalid_fields;
    `fields` names the invalid fields (invalid_fields only), so the drafter can tell an
    answer whose only fault is its form (`modality`) from one it cannot use.
    """

    def __init__(self, reason: str, message: str, fields: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.reason = reason
        self.fields = fields


def _outermost_object(text: str) -> str | None:
    """The first balanced {...} in the text, honouring strings; None if unterminated."""
    start = text.find("{")
    if start < 0:
        return None
    depth, in_string, escaped = 0, False, False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
    return None


def _json_object(text: str, finish_reason: str | None) -> dict[str, Any]:
    if finish_reason == "content_filter":
        raise ParseError("refused", "the provider's content filter stopped the answer")
    text = re.sub(r"```[a-zA-Z]*", "", text)
    if "{" not in text:
        if _REFUSAL.search(text):
            raise ParseError("refused", "the model declined to draft this worksheet")
        if finish_reason == "length":
            raise ParseError("truncated", "the answer was cut off before the JSON began")
        raise ParseError("no_json", "the answer contains no JSON object")
    body = _outermost_object(text)
    if body is None:
        if finish_reason == "length":
            raise ParseError("truncated", "the answer was cut off (it hit the length limit) "
                             "before the JSON object was complete")
        raise ParseError("invalid_json", "the JSON object is unterminated")
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        try:  # a common slip: trailing commas
            data = json.loads(re.sub(r",\s*([}\]])", r"\1", body))
        except json.JSONDecodeError:
            raise ParseError("invalid_json", f"the JSON is invalid ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ParseError("not_object", "the JSON is not an object")
    if "worksheet" in data and isinstance(data["worksheet"], dict) and len(data) <= 2:
        data = data["worksheet"]
    return data


def _number(value: Any) -> Any:
    if isinstance(value, str):
        digits = re.findall(r"\d+(?:\.\d+)?", value)
        return float(digits[0]) if digits else None
    return value


def _date(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", value.strip())
    if m := re.match(r"^(\d{4}-\d{2}-\d{2})[T ]", text):
        text = m.group(1)
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    return None  # unreadable: the validator reports missing_review


def _text_list(value: Any) -> Any:
    if isinstance(value, str):
        return [line.strip(" -*\t") for line in value.splitlines() if line.strip(" -*\t")]
    if isinstance(value, list):
        return [json.dumps(v) if isinstance(v, dict) else str(v) for v in value
                if v is not None]
    return value


def _obstacles(value: Any) -> Any:
    if not isinstance(value, list):
        return [] if value in (None, "") else value
    out = []
    for item in value:
        if isinstance(item, str):
            obstacle, _, plan = item.partition("->")
            out.append({"obstacle": obstacle.strip(), "plan": plan.strip() or item})
        elif isinstance(item, dict):
            out.append({"obstacle": str(item.get("obstacle") or item.get("if") or ""),
                        "plan": str(item.get("plan") or item.get("then") or "")})
    return out


def _modality(value: Any, fallback: Modality | None) -> Any:
    """A known form, or a common synonym mapped to one. Anything else (unknown, missing,
    null) becomes `fallback` when the caller gives one, and otherwise stays as it is, so
    validation names the field and the repair round asks the model for a valid form:
    never a silent "paper"."""
    if isinstance(value, str):
        key = value.strip().lower()
        key = _MODALITY.get(key, key.replace(" ", "_").replace("-", "_"))
        if key in MODALITIES:
            return key
    return value if fallback is None else fallback


def _coerce(data: dict[str, Any], fallback_modality: Modality | None) -> dict[str, Any]:
    conf = data.get("confidence")
    if isinstance(conf, str):
        digits = re.findall(r"\d+", conf)
        conf = int(digits[0]) if digits else None
    if isinstance(conf, float):
        conf = round(conf)
    data["confidence"] = conf if isinstance(conf, int) and 1 <= conf <= 10 else None
    data["modality"] = _modality(data.get("modality"), fallback_modality)
    data["duration_minutes"] = _number(data.get("duration_minutes"))
    data["review_date"] = _date(data.get("review_date"))
    for key in ("steps", "fields"):
        data[key] = _text_list(data.get(key))
    data["obstacles"] = _obstacles(data.get("obstacles"))
    for key in ("title", "goal", "rationale", "task", "when", "where", "frequency",
                "done_criteria", "tracking"):
        if isinstance(data.get(key), int | float | list):
            value = data[key]
            data[key] = "; ".join(map(str, value)) if isinstance(value, list) else str(value)
    return data


def _invalid_fields(exc: ValidationError) -> ParseError:
    """Every invalid field (up to three in the message), so one correction can fix them all."""
    errors = exc.errors()
    fields = tuple(".".join(str(p) for p in e["loc"]) for e in errors)
    message = "; ".join(f"field {f}: {e['msg']}" for f, e in zip(fields, errors[:3], strict=False))
    return ParseError("invalid_fields", message, fields)


def parse_worksheet(text: str, *, template_id: str, finish_reason: str | None = None,
                    fallback_modality: Modality | None = None) -> Worksheet:
    """The worksheet in `text`; template_id is always the chosen template's.

    Without `fallback_modality` a missing or unknown modality is an invalid field; with it,
    that form replaces it (the drafter's last resort, which it reports to the clinician).
    """
    data = _coerce(_json_object(text or "", finish_reason), fallback_modality)
    data["template_id"] = template_id
    try:
        return Worksheet.model_validate(data)
    except ValidationError as exc:
        raise _invalid_fields(exc) from None
