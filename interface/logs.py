"""Structured logs: one JSON object a line, each with the request's id and, during a
command, its correlation id; plain text when stderr is a terminal.

The standard library's ``logging`` with a small formatter: the libraries the service uses
(uvicorn, psycopg_pool, eventsourcing) already log through it, so their lines come out
in the same shape without an adapter, and there is no dependency to keep.

The request's context is a dict in a context variable that the HTTP middleware sets for
each request; the command's dependency (``interface.http.deps.context``) adds the
correlation id to that same dict, which FastAPI's worker threads share by reference.
``ContextFilter`` stamps every record with it when the record is made.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

#: The current request's context: ``request_id`` and, once known, ``correlation_id``.
REQUEST_CONTEXT: ContextVar[dict[str, str] | None] = ContextVar("request_context", default=None)

CONTEXT_FIELDS = ("request_id", "correlation_id")

#: A LogRecord's own attributes: anything else on a record came as ``extra=``.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's message again, with terminal colours
}


def note(**fields: str | None) -> None:
    """Add fields (the correlation id) to the current request's context, if any."""
    context = REQUEST_CONTEXT.get()
    if context is not None:
        context.update({k: v for k, v in fields.items() if v is not None})


class ContextFilter(logging.Filter):
    """Copies the request's context onto each record (fields given by ``extra`` win)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = REQUEST_CONTEXT.get()
        if context:
            for key, value in context.items():
                if not hasattr(record, key):
                    setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON: time (UTC, ISO 8601), level, logger, message, the
    process id, the request's context, every ``extra`` field, and the exception if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,  # which process, where several serve the API
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """For a person at a terminal: the usual line, the request id at its end."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{text} [{request_id}]" if request_id else text


def handler(log_format: str = "auto", stream: TextIO | None = None) -> logging.Handler:
    """A handler writing to ``stream`` (stderr) in ``log_format``: ``json``, ``text``, or
    ``auto`` (text on a terminal, JSON otherwise)."""
    stream = stream or sys.stderr
    if log_format == "auto":
        log_format = "text" if stream.isatty() else "json"
    out = logging.StreamHandler(stream)
    out.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    out.addFilter(ContextFilter())
    return out


def configure(log_format: str = "auto", level: int = logging.INFO) -> None:
    """Every logger of the process (uvicorn's too) through one handler."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler(log_format))
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True


UVICORN_LOG_CONFIG: dict[str, Any] = {"version": 1, "disable_existing_loggers": False}
