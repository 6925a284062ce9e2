"""Log lines: JSON with the run id for schedulers, short text for people."""

from __future__ import annotations

import io
import json
import logging

from pipeline.logs import LoggingSettings, bind_run_id, get_logger, setup_logging


def test_json_lines_carry_run_id_and_fields() -> None:
    buf = io.StringIO()  # not a terminal → JSON in "auto"
    assert setup_logging(LoggingSettings(), stream=buf) is False
    with bind_run_id("run-123"):
        get_logger("run").info("step done", extra={"step": "upload", "files": 2})
    get_logger("run").warning("outside")
    first, second = (json.loads(line) for line in buf.getvalue().splitlines())
    assert first["run_id"] == "run-123" and first["step"] == "upload" and first["files"] == 2
    assert first["level"] == "info" and first["logger"] == "achpipe.run"
    assert "run_id" not in second


def test_human_format_when_forced() -> None:
    buf = io.StringIO()
    assert setup_logging(LoggingSettings(format="human"), stream=buf) is True
    get_logger("x").info("hello", extra={"n": 1})
    line = buf.getvalue().strip()
    assert line.endswith("hello  n=1") and not line.startswith("{")


def test_setup_is_idempotent_and_respects_level() -> None:
    buf = io.StringIO()
    setup_logging(LoggingSettings(level="warning"), stream=buf)
    setup_logging(LoggingSettings(level="warning"), stream=buf)
    get_logger("x").info("hidden")
    get_logger("x").error("shown")
    assert len(buf.getvalue().splitlines()) == 1
    assert sum(h.get_name() == "achpipe" for h in logging.getLogger("achpipe").handlers) == 1
