"""Structured logs: one JSON object per line, through the standard logging module.

`python -m service` hands `log_config(level)` to uvicorn, so its own messages and the
service's (one `service.access` line per request) come out alike, in every worker."""

import json
import logging
from datetime import UTC, datetime
from typing import Any

# The attributes every LogRecord has (and uvicorn's coloured copy of its message); any
# other attribute came from `extra=` and is logged.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName", "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update((key, value) for key, value in vars(record).items()
                     if key not in _RECORD_ATTRIBUTES)
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def log_config(level: str) -> dict[str, Any]:
    """A logging.config.dictConfig for uvicorn and the service: JSON lines on stderr."""
    logger = {"handlers": ["stderr"], "level": level.upper(), "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                                "stream": "ext://sys.stderr"}},
        "loggers": {"uvicorn": logger, "service": logger},
    }
