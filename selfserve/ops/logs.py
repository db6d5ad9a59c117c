"""Logging set-up: event names with fields, JSON lines in production, no phone numbers."""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
# A safety net: anything that looks like a full phone number is masked before it is written.
_PHONE = re.compile(r"(?<![\w•.:/-])\+?\d[\d ]{6,16}\d(?![\w:-])")


def _mask_match(match: re.Match[str]) -> str:
    found = match.group(0)
    digits = [ch for ch in found if ch.isdigit()]
    if len(digits) < 8:
        return found
    return ("+" if found.startswith("+") else "") + digits[0] + "•••••••" + "".join(digits[-2:])


def scrub(text: str) -> str:
    """Mask digit runs that look like phone numbers: `+61491570156` → `+6•••••••56`."""
    return _PHONE.sub(_mask_match, text)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and v is not None}


class KeyValueFormatter(logging.Formatter):
    """`time level logger event key=value …`, for people reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        return scrub(f"{line} {extras}" if extras else line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return scrub(json.dumps(payload, default=str))


def configure_logging(as_json: bool, level: int = logging.INFO) -> None:
    """Send every log line through one scrubbing formatter on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if as_json
        else KeyValueFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_selfserve", False):
            root.removeHandler(existing)
    handler._selfserve = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # twilio's HTTP client logs request bodies (numbers, codes) at INFO.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
