"""The ``achpipe`` command: the root group, exit-code mapping and subcommand registry.

Subcommands live in ``pipeline/commands/<topic>.py``; each module exposes click commands or
groups and is registered in ``_COMMANDS`` below. Commands stay thin: parse options, call one
library function, render human output or ``--json``. Errors derived from
:class:`nacha.errors.AchpipeError` carry their exit code (``pipeline/errors.py``); this module
is the one place that turns them into a process status.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from nacha.errors import AchpipeError

# (module, attribute) of every subcommand, imported lazily so that `achpipe validate` does not
# pay for paramiko, pgpy or psycopg imports.
_COMMANDS: dict[str, tuple[str, str]] = {
    "sandbox": ("pipeline.commands.sandbox", "sandbox"),
    "validate": ("pipeline.commands.nacha_files", "validate"),
    "inspect": ("pipeline.commands.nacha_files", "inspect"),
    "convert": ("pipeline.commands.nacha_files", "convert"),
    "config": ("pipeline.commands.config_cmds", "config"),
    "doctor": ("pipeline.commands.doctor", "doctor"),
    "run": ("pipeline.commands.run", "run"),
    "demo": ("pipeline.commands.demo", "demo"),
    "build": ("pipeline.commands.build", "build"),
    "reverse": ("pipeline.commands.file_ops", "reverse"),
    "segment": ("pipeline.commands.file_ops", "segment"),
    "merge": ("pipeline.commands.file_ops", "merge"),
    "db": ("pipeline.commands.db", "db"),
    "keys": ("pipeline.commands.transport", "keys"),
    "pgp": ("pipeline.commands.transport", "pgp"),
    "sftp": ("pipeline.commands.transport", "sftp"),
    "reconcile": ("pipeline.commands.reconcile", "reconcile"),
    "rates": ("pipeline.commands.reconcile", "rates"),
    "retries": ("pipeline.commands.retries", "retries"),
    "noc": ("pipeline.commands.retries", "noc"),
    "payees": ("pipeline.commands.retries", "payees"),
}


class AchpipeClickError(click.ClickException):
    """An :class:`AchpipeError` shown the click way (``Error: ...`` on stderr) with its code."""

    def __init__(self, error: AchpipeError) -> None:
        super().__init__(str(error))
        self.exit_code = error.exit_code


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use and whose errors map to exit codes."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except AchpipeError as exc:
            raise AchpipeClickError(exc) from exc

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _COMMANDS:
            module_name, attr = _COMMANDS[cmd_name]
            return getattr(importlib.import_module(module_name), attr)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup)
@click.version_option(package_name="achpipe")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="achpipe.toml to use (default: $ACHPIPE_CONFIG, then ./achpipe.toml).",
)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def cli(config_path: Path | None, verbose: bool) -> None:
    """achpipe: build, seal, send and reconcile NACHA ACH files every banking night.

    Exit codes (every command): 0 ok, 1 error, 2 usage/config, 3 reconciliation breaks,
    4 return-rate limit crossed, 75 locked or transient failure (retry later),
    99 not a banking day.
    """


def main() -> None:
    """Console entry point (``achpipe``)."""
    cli(prog_name="achpipe")


if __name__ == "__main__":
    main()
