"""Options and context shared by the commands this package owns (config, run, doctor, demo).

``--config PATH`` is accepted both on the root group (``achpipe --config X run``) and on each
command (``achpipe run --config X``); the command's wins. The configuration is loaded once per
invocation, logging is set up from its ``[logging]`` section, and the result sits in
``ctx.meta`` so nested helpers can reach it with :func:`get_config`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click

from pipeline.config import CONFIG_ENV, AppConfig, load_config
from pipeline.logs import LoggingSettings, setup_logging

F = TypeVar("F", bound=Callable[..., Any])
_META_KEY = "achpipe.config"


class BusinessDate(click.ParamType):
    """``YYYY-MM-DD`` → :class:`datetime.date`, failing as a usage error (exit 2)."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date in YYYY-MM-DD form", param, ctx)


def config_option(func: F) -> F:
    """Add ``--config PATH`` (env ``ACHPIPE_CONFIG``) to a command."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help=f"achpipe.toml to use (default: ${CONFIG_ENV}, then ./achpipe.toml).",
    )(func)


def get_config(ctx: click.Context, config_path: Path | None = None) -> AppConfig:
    """Load (once per invocation) and return the configuration; set up logging from it."""
    cached = ctx.meta.get(_META_KEY)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    if config_path is None:
        root = ctx.find_root()
        config_path = (root.params or {}).get("config_path")
    config = load_config(config_path)
    settings = config.settings.get("logging", LoggingSettings())
    verbose = bool((ctx.find_root().params or {}).get("verbose"))
    setup_logging(settings, verbose=verbose)
    ctx.meta[_META_KEY] = config
    return config
