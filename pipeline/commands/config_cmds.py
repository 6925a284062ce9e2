"""``achpipe config check`` and ``achpipe config show``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from pipeline.commands._options import config_option
from pipeline.config import AppConfig, is_secret_key, load_config, to_toml
from pipeline.errors import EXIT_USAGE, ConfigError
from pipeline.secrets import resolve_secret


@click.group()
def config() -> None:
    """Validate or display the configuration (achpipe.toml + environment overrides)."""


def _secret_problems(raw: Mapping[str, Any]) -> list[str]:
    """Resolve every ``env:``/``file:`` reference under a secret key; list what fails."""
    problems: list[str] = []

    def walk(value: Any, path: str, key: str) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(v, f"{path}.{k}" if path else str(k), str(k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{path}[{i}]", key)
        elif isinstance(value, str) and is_secret_key(key) and value.startswith(("env:", "file:")):
            try:
                resolve_secret(value, setting=path)
            except ConfigError as exc:
                problems.append(str(exc))

    walk(raw, "", "")
    return problems


def check_config(config_path: Path | None) -> tuple[AppConfig | None, list[str]]:
    """Every problem with the configuration, collected in one pass (empty list: valid)."""
    errors: list[ConfigError] = []
    try:
        cfg = load_config(config_path, collect=errors)
    except ConfigError as exc:  # unreadable file: nothing else can be checked
        return None, [str(exc)]
    problems = [str(e) for e in errors]
    for extra in _secret_problems(cfg.raw):
        # the section's own validation may already have said it (in its own words)
        reference = extra.rsplit(": ", 2)[-2] if extra.count(": ") >= 2 else extra
        if not any(reference in p for p in problems):
            problems.append(extra)
    return cfg, problems


@config.command("check")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.pass_context
def check(ctx: click.Context, config_path: Path | None, as_json: bool) -> None:
    """Validate every section and resolve every secret reference; exit 2 listing all problems."""
    config_path = config_path or ctx.find_root().params.get("config_path")
    cfg, problems = check_config(config_path)
    source = str(cfg.source) if cfg and cfg.source else None
    if as_json:
        doc = {
            "ok": not problems,
            "source": source,
            "overrides": list(cfg.overrides) if cfg else [],
            "problems": problems,
        }
        click.echo(json.dumps(doc, indent=2))
    elif problems:
        click.echo(f"config {source or '(no file)'}: {len(problems)} problem(s)", err=True)
        for p in problems:
            click.echo(f"  - {p}", err=True)
    else:
        click.echo(f"config OK: {source or '(no file, defaults only)'}")
        if cfg and cfg.overrides:
            click.echo("  overridden from the environment: " + ", ".join(cfg.overrides))
    if problems:
        ctx.exit(EXIT_USAGE)


@config.command("show")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of TOML.")
@click.pass_context
def show(ctx: click.Context, config_path: Path | None, as_json: bool) -> None:
    """Print the effective configuration (file + environment) with every secret redacted."""
    config_path = config_path or ctx.find_root().params.get("config_path")
    problems: list[ConfigError] = []
    cfg = load_config(config_path, collect=problems)  # show even an invalid config
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    doc = cfg.redacted()
    if as_json:
        click.echo(json.dumps(doc, indent=2, default=str))
        return
    header = f"# source: {cfg.source or '(no file)'}"
    if cfg.overrides:
        header += "\n# from the environment: " + ", ".join(cfg.overrides)
    click.echo(header + "\n" + to_toml(doc))
