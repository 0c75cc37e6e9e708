"""Logging with a scrubbing filter at the boundary: no secrets or PHI leave in log lines."""

from __future__ import annotations

import logging
import re
import traceback

_SECRET = re.compile(r"(hw|cl)_[A-Za-z0-9_\-]{20,}|(sk|key)-[A-Za-z0-9_\-]{10,}|"
                     r"[\w.+-]+@[\w-]+\.[\w.]+|\b\d{3}[\s-]?\d{3}[\s-]?\d{4}\b")

# A client link's path is a bearer secret even when the token is malformed or revoked.
_LINK_PATH = re.compile(r"(/c/|/api/v1/client-view/)[^/?#\s\"']+")


def scrub(text: str) -> str:
    return _SECRET.sub("[redacted]", _LINK_PATH.sub(r"\1[redacted]", text))


class ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = ()
        return True


class TracebackFilter(logging.Filter):
    """An exception's message may quote client text or SQL values: keep its type and the
    frames (file, line, code) and drop the message. Uvicorn logs every unhandled error
    this way on `uvicorn.error`, whose handler is not ours."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[0] is not None:
            kind, _, tb = record.exc_info
            frames = "".join(traceback.format_tb(tb))
            record.msg = f"{scrub(record.getMessage())}: {kind.__name__}\n{frames.rstrip()}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True


class AccessLogFilter(logging.Filter):
    """Uvicorn's access log has its own handler (root scrubbing never sees it) and its
    formatter unpacks the args tuple, so the path is redacted in place, shape kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(scrub(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str) and not record.args:
            record.msg = scrub(record.msg)
        return True


def configure_logging() -> None:
    root = logging.getLogger()
    if not any(isinstance(f, ScrubFilter) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.addFilter(TracebackFilter())
        handler.addFilter(ScrubFilter())
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    errors = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, TracebackFilter) for f in errors.filters):
        errors.addFilter(TracebackFilter())
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLogFilter) for f in access.filters):
        access.addFilter(AccessLogFilter())
    for noisy in ("LiteLLM", "litellm", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
