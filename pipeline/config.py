"""``achpipe.toml``: find it, overlay the environment, validate every section, redact secrets.

One TOML file configures a deployment. The root command loads it once into an
:class:`AppConfig` (``ctx.obj``) so that every subcommand reads the same validated values.

Where the file is found, first match wins:

1. ``--config PATH`` on the command line;
2. the ``ACHPIPE_CONFIG`` environment variable;
3. ``./achpipe.toml`` in the working directory.

Environment overrides (for containers and schedulers that inject settings): a variable
``ACHPIPE_<SECTION>_<KEY>`` replaces ``[section] key``. Section and key are matched
case-insensitively against the known section names (``ACHPIPE_SFTP_UPLOAD_DIR`` sets
``[sftp] upload_dir``). The value is converted to the type the file already uses for that
key (bool ``true/false/1/0/yes/no``, integer, float, or a comma-separated list); otherwise it
stays a string, so routing numbers keep their leading zeros. ``DATABASE_URL`` sets
``[database] url``. ``[[companies]]`` cannot be overridden from the environment (a list of
tables has no unambiguous flat name); edit the file.

Secrets are never written in the file in clear in production: a value ``env:NAME`` or
``file:/path`` is resolved by :func:`pipeline.secrets.resolve_secret` at the moment a module
needs it. :func:`redacted` replaces every secret-bearing value (by key name) for display.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from nacha.masking import mask_account
from pipeline.errors import ConfigError
from pipeline.secrets import REDACTED, describe_reference

CONFIG_ENV = "ACHPIPE_CONFIG"
ENV_PREFIX = "ACHPIPE_"
DEFAULT_FILE = "achpipe.toml"

# Every section the team agreed on (design.md / BRIEF.md). Unknown sections are an error:
# a typo such as [stfp] must not silently leave SFTP unconfigured.
KNOWN_SECTIONS: tuple[str, ...] = (
    "originator",
    "odfi",
    "companies",
    "build",
    "calendar",
    "database",
    "security",
    "sftp",
    "pgp",
    "api",
    "reconcile",
    "rates",
    "reports",
    "paths",
    "run",
    "logging",
    "sandbox",
    "actions",
)

# Keys whose values are (or reference) secrets, whatever the section. Matched on the last
# component of the key name, so `private_key_passphrase`, `client_secret`, `our_key`... match.
_SECRET_KEY = re.compile(
    r"(password|passphrase|secret|token|private_key|our_key|archive_key|account_key|api_key)$"
)
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]+:)(?P<pw>[^@\s]+)(?P<at>@)")


_ACCOUNT_KEY = re.compile(r"(^|_)account(_number)?$")


def is_secret_key(key: str) -> bool:
    """True when the setting named ``key`` holds a secret or a reference to one."""
    return bool(_SECRET_KEY.search(key.lower()))


def redact_url(url: str) -> str:
    """``postgresql://user:pw@host/db`` → ``postgresql://user:***@host/db``."""
    return _URL_PASSWORD.sub(lambda m: f"{m['head']}{REDACTED}{m['at']}", url)


def redacted(value: Any, *, key: str = "") -> Any:
    """A deep copy of ``value`` with every secret replaced, safe to print or log.

    ``env:``/``file:`` references stay visible (they say where the secret lives, not what it
    is); literal secrets become ``***``; passwords inside URLs are masked.
    """
    if isinstance(value, Mapping):
        return {k: redacted(v, key=str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redacted(v, key=key) for v in value]
    if isinstance(value, str):
        if key and is_secret_key(key):
            return describe_reference(value)
        if key and _ACCOUNT_KEY.search(key.lower()):
            return mask_account(value)  # account numbers are never printed in full
        return redact_url(value)
    return value


# ---------------------------------------------------------------------------------------------
# Section types: each module that needs settings owns a frozen dataclass with `from_mapping`.
# This table composes them; a section without an entry stays a plain mapping.
# ---------------------------------------------------------------------------------------------

SECTION_TYPES: dict[str, tuple[str, str]] = {
    "paths": ("pipeline.config", "PathsSettings"),
    "run": ("pipeline.run.settings", "RunSettings"),
    "logging": ("pipeline.logs", "LoggingSettings"),
    "database": ("pipeline.store.url", "DatabaseConfig"),
    "security": ("pipeline.store.protect", "SecurityConfig"),
    "pgp": ("pipeline.pgp_settings", "PgpSettings"),
    "rates": ("reconcile.rates", "RateOptions"),
    "sftp": ("pipeline.sftp_settings", "SftpSettings"),
    "api": ("pipeline.api.settings", "ApiSettings"),
    "actions": ("pipeline.actions.settings", "ActionsSettings"),
}

# Settings that span several sections: ``from_mapping`` receives the whole document. They
# are validated when any of their trigger sections is present (a config for `achpipe
# config show` alone need not describe an originator).
DOCUMENT_TYPES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "build": ("pipeline.build_config", "BuildConfig", ("originator", "odfi", "companies")),
}


@dataclass(frozen=True)
class PathsSettings:
    """``[paths]``: where achpipe keeps its working files.

    ``data_dir`` holds built and sealed outbound files, downloaded inbound files, the embedded
    Postgres (when no database URL is set) and the reports. Relative paths are resolved
    against the directory of the config file, so a checked-in config works from anywhere.
    """

    data_dir: Path = Path("achpipe-data")
    reports_dir: Path | None = None

    @classmethod
    def from_mapping(cls, section: Mapping[str, object]) -> Self:
        _only_keys("paths", section, {"data_dir", "reports_dir"})
        data_dir = _path("paths.data_dir", section.get("data_dir", "achpipe-data"))
        reports = section.get("reports_dir")
        return cls(
            data_dir=data_dir,
            reports_dir=None if reports is None else _path("paths.reports_dir", reports),
        )

    @property
    def outbound_dir(self) -> Path:
        return self.data_dir / "outbound"

    @property
    def inbound_dir(self) -> Path:
        return self.data_dir / "inbound"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def reports_root(self) -> Path:
        return self.reports_dir if self.reports_dir is not None else self.data_dir / "reports"

    @property
    def dry_run_dir(self) -> Path:
        return self.data_dir / "dry-run"


def _only_keys(section: str, mapping: Mapping[str, object], allowed: set[str]) -> None:
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise ConfigError(
            f"[{section}] unknown setting {unknown[0]!r} (known: {', '.join(sorted(allowed))})"
        )


def _path(setting: str, value: object) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{setting} must be a non-empty path string, got {value!r}")
    return Path(value).expanduser()


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppConfig:
    """The validated configuration: raw sections (after overrides) plus typed settings.

    ``settings[name]`` holds the module's dataclass for every section in
    :data:`SECTION_TYPES` (defaults when the section is absent); :meth:`section` gives any raw
    section. ``source`` is the file it came from (None when no file exists) and ``overrides``
    lists the ``section.key`` names the environment replaced, for ``config show``.
    """

    raw: Mapping[str, Any]
    settings: Mapping[str, Any]
    source: Path | None = None
    overrides: tuple[str, ...] = ()
    base_dir: Path = field(default_factory=Path.cwd)

    def section(self, name: str) -> Mapping[str, Any]:
        value = self.raw.get(name, {})
        return value if isinstance(value, Mapping) else {}

    def typed(self, name: str) -> Any:
        try:
            return self.settings[name]
        except KeyError:
            where = self.source or "achpipe.toml"
            raise ConfigError(f"[{name}] is not configured in {where}") from None

    @property
    def paths(self) -> PathsSettings:
        paths: PathsSettings = self.settings["paths"]
        return paths

    @property
    def database_url(self) -> str | None:
        url = self.section("database").get("url")
        return str(url) if url else None

    def redacted(self) -> dict[str, Any]:
        return redacted(dict(self.raw))


def find_config_file(explicit: Path | None, *, env: Mapping[str, str]) -> Path | None:
    """The config path per the precedence in the module docstring; None if there is none."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file {explicit} does not exist")
        return explicit
    from_env = env.get(CONFIG_ENV)
    if from_env:
        path = Path(from_env).expanduser()
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV}={from_env}: file does not exist")
        return path
    default = Path.cwd() / DEFAULT_FILE
    return default if default.is_file() else None


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc


def apply_env_overrides(
    raw: dict[str, Any], env: Mapping[str, str]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Overlay ``ACHPIPE_<SECTION>_<KEY>`` and ``DATABASE_URL``; return the names replaced."""
    result = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in raw.items()}
    applied: list[str] = []
    # A variable the file names as a secret reference (env:ACHPIPE_PGP_PASSPHRASE) is that
    # secret's value, not an override of a [pgp] "passphrase" key.
    referenced = set(_env_references(raw))
    # Longest section names first so a future `[sftp_x]` could never be shadowed by `[sftp]`.
    sections = sorted((s for s in KNOWN_SECTIONS if s != "companies"), key=len, reverse=True)
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV or name in referenced:
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        section = next((s for s in sections if rest.startswith(s + "_")), None)
        if section is None:
            continue
        key = rest[len(section) + 1 :]
        if not key:
            continue
        table = result.setdefault(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{name}: [{section}] is not a table in the config file")
        table[key] = _coerce(name, env[name], table.get(key))
        applied.append(f"{section}.{key}")
    if env.get("DATABASE_URL"):
        result.setdefault("database", {})["url"] = env["DATABASE_URL"]
        applied.append("database.url")
    return result, tuple(applied)


def _env_references(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return [n for v in value.values() for n in _env_references(v)]
    if isinstance(value, list):
        return [n for v in value for n in _env_references(v)]
    if isinstance(value, str) and value.startswith("env:"):
        return [value[4:]]
    return []


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _coerce(name: str, text: str, current: object) -> object:
    """Convert an environment string to the type the file uses for that key."""
    if isinstance(current, bool):
        low = text.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ConfigError(f"{name}={text!r}: expected true or false")
    if isinstance(current, int):
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{name}={text!r}: expected an integer") from None
    if isinstance(current, float):
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"{name}={text!r}: expected a number") from None
    if isinstance(current, list):
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def _resolve_relative_paths(raw: dict[str, Any], base: Path) -> None:
    """Make ``[paths]`` entries absolute relative to the config file's directory."""
    paths = raw.get("paths")
    if isinstance(paths, dict):
        for key in ("data_dir", "reports_dir"):
            value = paths.get(key)
            if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
                paths[key] = str(base / value)
    elif "paths" not in raw:
        raw["paths"] = {"data_dir": str(base / "achpipe-data")}


def section_type(name: str) -> type[Any] | None:
    """The settings class for ``name``, imported lazily (None if the section is untyped)."""
    target = SECTION_TYPES.get(name)
    if target is None:
        return None
    module = importlib.import_module(target[0])
    cls: type[Any] = getattr(module, target[1])
    return cls


def build_settings(
    raw: Mapping[str, Any], *, collect: list[ConfigError] | None = None
) -> dict[str, Any]:
    """Run every section's ``from_mapping``; raise the first error, or collect them all.

    A ``ValueError`` from a pure package's settings (``reconcile`` may not import
    ``pipeline``) is reported as a :class:`ConfigError` too.
    """
    settings: dict[str, Any] = {}

    def attempt(name: str, make: Callable[[], Any]) -> None:
        try:
            settings[name] = make()
        except ConfigError as exc:
            if collect is None:
                raise
            collect.append(exc)
        except ValueError as exc:
            err = ConfigError(f"[{name}] {exc}")
            if collect is None:
                raise err from exc
            collect.append(err)

    for name, (module, attr) in SECTION_TYPES.items():
        if name not in raw:
            # An absent section gets its defaults when it has them; a section with required
            # keys (e.g. [sftp] host) is simply "not configured" until a command needs it.
            with contextlib.suppress(ConfigError, ValueError):
                settings[name] = getattr(importlib.import_module(module), attr).from_mapping({})
            continue
        cls = section_type(name)
        assert cls is not None
        value = raw[name]
        if not isinstance(value, Mapping):
            attempt(name, lambda n=name: _not_a_table(n))
            continue
        attempt(name, lambda c=cls, v=value: c.from_mapping(v))
    for name, (module, attr, triggers) in DOCUMENT_TYPES.items():
        if not any(t in raw for t in triggers):
            continue
        cls = getattr(importlib.import_module(module), attr)
        attempt(name, lambda c=cls: c.from_mapping(raw))
    return settings


def _not_a_table(name: str) -> None:
    raise ConfigError(f"[{name}] must be a table")


def parse_config(
    raw: Mapping[str, Any],
    *,
    source: Path | None = None,
    env: Mapping[str, str] | None = None,
    collect: list[ConfigError] | None = None,
) -> AppConfig:
    """Validate an already-read mapping (the TOML document) into an :class:`AppConfig`."""
    env = os.environ if env is None else env
    unknown = sorted(set(raw) - set(KNOWN_SECTIONS))
    if unknown:
        err = ConfigError(f"unknown section [{unknown[0]}] (known: {', '.join(KNOWN_SECTIONS)})")
        if collect is None:
            raise err
        collect.append(err)
    merged, applied = apply_env_overrides(dict(raw), env)
    base = source.resolve().parent if source is not None else Path.cwd()
    _resolve_relative_paths(merged, base)
    settings = build_settings(merged, collect=collect)
    return AppConfig(raw=merged, settings=settings, source=source, overrides=applied, base_dir=base)


def load_config(
    path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    collect: list[ConfigError] | None = None,
) -> AppConfig:
    """Find, read, overlay and validate the configuration (see the module docstring)."""
    env = os.environ if env is None else env
    source = find_config_file(path, env=env)
    raw = read_toml(source) if source is not None else {}
    return parse_config(raw, source=source, env=env, collect=collect)


# ---------------------------------------------------------------------------------------------
# Rendering (config show)
# ---------------------------------------------------------------------------------------------


def to_toml(doc: Mapping[str, Any]) -> str:
    """A small TOML writer for ``config show``: scalars, lists, tables, arrays of tables."""
    lines: list[str] = []
    scalars = {k: v for k, v in doc.items() if not _is_table(v) and not _is_table_array(v)}
    for key, value in scalars.items():
        lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in doc.items():
        if _is_table(value):
            _emit_table(lines, [key], value)
        elif _is_table_array(value):
            for item in value:
                lines.append("")
                lines.append(f"[[{_key(key)}]]")
                for k, v in item.items():
                    lines.append(f"{_key(k)} = {_value(v)}")
    return "\n".join(lines).strip() + "\n"


def _emit_table(lines: list[str], path: list[str], table: Mapping[str, Any]) -> None:
    lines.append("")
    lines.append("[" + ".".join(_key(p) for p in path) + "]")
    nested = []
    for k, v in table.items():
        if _is_table(v):
            nested.append((k, v))
        else:
            lines.append(f"{_key(k)} = {_value(v)}")
    for k, v in nested:
        _emit_table(lines, [*path, k], v)


def _is_table(value: object) -> bool:
    return isinstance(value, Mapping)


def _is_table_array(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def _string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    return _string(str(value))


ConfigLoader = Callable[[], AppConfig]

__all__ = [
    "CONFIG_ENV",
    "KNOWN_SECTIONS",
    "SECTION_TYPES",
    "AppConfig",
    "PathsSettings",
    "apply_env_overrides",
    "find_config_file",
    "is_secret_key",
    "load_config",
    "parse_config",
    "redact_url",
    "redacted",
    "to_toml",
]
