"""Logging for people at a terminal and for schedulers reading stderr.

When stderr is a terminal, log lines are short and human (``12:01:03 upload  sent 2 files``)
and long steps show click progress bars. Otherwise (cron, systemd, CI) every line is one JSON
object with a timestamp, level, logger, message, the run id and any structured fields, so a
log shipper can index them without parsing prose. The choice can be forced with
``[logging] format = "json" | "human" | "auto"`` or ``ACHPIPE_LOGGING_FORMAT``.

The run id lives in a context variable: :func:`bind_run_id` sets it for the duration of a run
and every record logged meanwhile carries it, whichever module logs.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any, Self, TypeVar

import click

from pipeline.errors import ConfigError

LOGGER_NAME = "achpipe"
_run_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("achpipe_run_id", default=None)
_FORMATS = ("auto", "json", "human")
_LEVELS = ("debug", "info", "warning", "error")
# Attributes every LogRecord has; anything else came from `extra=` and is a structured field.
_STANDARD_ATTRS = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {
    "message",
    "asctime",
    "taskName",
}

T = TypeVar("T")


@dataclass(frozen=True)
class LoggingSettings:
    """``[logging]``: ``format`` auto|json|human (auto: human on a terminal), ``level``."""

    format: str = "auto"
    level: str = "info"

    @classmethod
    def from_mapping(cls, section: Mapping[str, object]) -> Self:
        unknown = sorted(set(section) - {"format", "level"})
        if unknown:
            raise ConfigError(f"[logging] unknown setting {unknown[0]!r} (known: format, level)")
        fmt = str(section.get("format", "auto")).lower()
        if fmt not in _FORMATS:
            raise ConfigError(f"[logging] format must be one of {', '.join(_FORMATS)}, got {fmt!r}")
        level = str(section.get("level", "info")).lower()
        if level not in _LEVELS:
            raise ConfigError(f"[logging] level must be one of {', '.join(_LEVELS)}, got {level!r}")
        return cls(format=fmt, level=level)


def current_run_id() -> str | None:
    return _run_id.get()


@contextlib.contextmanager
def bind_run_id(run_id: str) -> Iterator[None]:
    """Tag every log record emitted inside the block with ``run_id``."""
    token = _run_id.set(run_id)
    try:
        yield
    finally:
        _run_id.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, run_id, then structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        run_id = getattr(record, "run_id", None) or _run_id.get()
        if run_id:
            doc["run_id"] = run_id
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key != "run_id" and not key.startswith("_"):
                doc[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            doc["exc_type"] = record.exc_info[0].__name__
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str, separators=(",", ":"))


class HumanFormatter(logging.Formatter):
    """``HH:MM:SS level message key=value`` for people; warnings and errors stand out."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        fields = " ".join(
            f"{k}={v}"
            for k, v in vars(record).items()
            if k not in _STANDARD_ATTRS and k != "run_id" and not k.startswith("_")
        )
        level = "" if record.levelno == logging.INFO else f"{record.levelname.lower()}: "
        line = f"{stamp} {level}{record.getMessage()}" + (f"  {fields}" if fields else "")
        if record.levelno >= logging.WARNING:
            line = click.style(line, fg="red" if record.levelno >= logging.ERROR else "yellow")
        return line


def is_interactive(stream: IO[str] | None = None) -> bool:
    stream = sys.stderr if stream is None else stream
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def setup_logging(
    settings: LoggingSettings | None = None,
    *,
    stream: IO[str] | None = None,
    verbose: bool = False,
) -> bool:
    """Configure the ``achpipe`` logger for this process; return True when output is human.

    Idempotent: replaces the handler it installed before, so tests and repeated CLI
    invocations in one process do not duplicate lines.
    """
    settings = settings or LoggingSettings()
    stream = sys.stderr if stream is None else stream
    human = settings.format == "human" or (settings.format == "auto" and is_interactive(stream))
    handler = logging.StreamHandler(stream)
    handler.setFormatter(HumanFormatter() if human else JsonFormatter())
    handler.set_name("achpipe")
    logger = logging.getLogger(LOGGER_NAME)
    for old in list(logger.handlers):
        if old.get_name() == "achpipe":
            logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else getattr(logging, settings.level.upper()))
    logger.propagate = False
    return human


def get_logger(name: str) -> logging.Logger:
    """A child of the ``achpipe`` logger (``achpipe.<name>``)."""
    return logging.getLogger(f"{LOGGER_NAME}.{name}")


@contextlib.contextmanager
def progress(
    items: Iterable[T],
    *,
    label: str,
    length: int | None = None,
    show: bool | None = None,
    item_show_func: Any = None,
) -> Iterator[Iterable[T]]:
    """Iterate with a progress bar on a terminal, silently otherwise (logs carry progress)."""
    show = is_interactive() if show is None else show
    if not show:
        yield items
        return
    with click.progressbar(
        items, label=label, length=length, file=sys.stderr, item_show_func=item_show_func
    ) as bar:
        yield bar


__all__ = [
    "JsonFormatter",
    "LoggingSettings",
    "bind_run_id",
    "current_run_id",
    "get_logger",
    "is_interactive",
    "progress",
    "setup_logging",
]
