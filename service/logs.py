"""Logging with a scrubbing filter at the boundary: no secrets or PHI leave in log lines."""

from __future__ import annotations

import logging
import re

_SECRET = re.compile(r"(hw|cl)_[A-Za-z0-9_\-]{20,}|(sk|key)-[A-Za-z0-9_\-]{10,}|"
                     r"[\w.+-]+@[\w-]+\.[\w.]+|\b\d{3}[\s-]?\d{3}[\s-]?\d{4}\b")


class ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _SECRET.sub("[redacted]", record.getMessage())
        record.args = ()
        return True


def configure_logging() -> None:
    root = logging.getLogger()
    if not any(isinstance(f, ScrubFilter) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.addFilter(ScrubFilter())
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    for noisy in ("LiteLLM", "litellm", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
