"""Which database to use, and how to show its URL without its password.

Precedence: the ``DATABASE_URL`` environment variable, then ``[database] url`` in
``achpipe.toml`` (a literal or a secret reference such as ``env:LEDGER_URL`` /
``file:/run/secrets/ledger_url``), then the embedded Postgres under the data directory
(:mod:`pipeline.store.embedded`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pipeline.errors import ConfigError
from pipeline.secrets import REDACTED, Secret, resolve_secret

ENV_DATABASE_URL = "DATABASE_URL"
_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
_KEYWORD_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


@dataclass(frozen=True)
class DatabaseConfig:
    """The ``[database]`` section.

    ``url``: a server URL (or secret reference to one); empty means the embedded Postgres.
    ``embedded_dir``: where the embedded server keeps its data (default: see
    :func:`pipeline.store.embedded.default_data_dir`). ``embedded_user``: the system user the
    embedded server runs as when achpipe runs as root (default ``achpipe``).
    ``connect_timeout``: seconds to wait for a connection (default 10).
    """

    url: Secret | None = None
    embedded_dir: Path | None = None
    embedded_user: str = "achpipe"
    connect_timeout: int = 10

    @classmethod
    def from_mapping(cls, section: Mapping[str, object]) -> Self:
        known = {"url", "embedded_dir", "embedded_user", "connect_timeout"}
        unknown = sorted(set(section) - known)
        if unknown:
            raise ConfigError(f"[database] unknown key(s): {', '.join(unknown)}")
        url_ref = section.get("url")
        url: Secret | None = None
        if url_ref is not None:
            if not isinstance(url_ref, str):
                raise ConfigError("[database] url must be a string")
            if url_ref:
                url = resolve_secret(url_ref, setting="[database] url")
                check_url(url.reveal(), setting="[database] url")
        embedded_dir = section.get("embedded_dir")
        if embedded_dir is not None and not isinstance(embedded_dir, str):
            raise ConfigError("[database] embedded_dir must be a string path")
        user = section.get("embedded_user", "achpipe")
        if not isinstance(user, str) or not re.fullmatch(r"[a-z_][a-z0-9_-]{0,31}", user):
            raise ConfigError("[database] embedded_user must be a valid system user name")
        timeout = section.get("connect_timeout", 10)
        if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout <= 0:
            raise ConfigError("[database] connect_timeout must be a positive integer (seconds)")
        return cls(
            url=url,
            embedded_dir=Path(embedded_dir).expanduser() if embedded_dir else None,
            embedded_user=user,
            connect_timeout=timeout,
        )


def check_url(url: str, *, setting: str) -> None:
    """Refuse something that is clearly not a Postgres URL (message never shows the URL)."""
    scheme = urlsplit(url).scheme
    if scheme not in _SCHEMES:
        raise ConfigError(
            f"{setting}: expected a postgresql:// URL, got scheme {scheme or '(none)'!r}"
        )


def configured_url(
    config: DatabaseConfig | None = None, *, env: Mapping[str, str] | None = None
) -> Secret | None:
    """The server URL to use, or None for the embedded Postgres (``DATABASE_URL`` wins)."""
    environ = os.environ if env is None else env
    from_env = environ.get(ENV_DATABASE_URL, "").strip()
    if from_env:
        check_url(from_env, setting=ENV_DATABASE_URL)
        return Secret(from_env, source=f"env:{ENV_DATABASE_URL}")
    if config is not None and config.url is not None:
        return config.url
    return None


def normalize_url(url: str) -> str:
    """A URL libpq accepts (SQLAlchemy's ``postgresql+psycopg://`` becomes ``postgresql://``)."""
    if url.startswith("postgresql+psycopg://"):
        return "postgresql://" + url[len("postgresql+psycopg://") :]
    return url


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (in the netloc and in ``password=``).

    >>> redact_url("postgresql://app:s3cret@db.example:5432/ledger?sslmode=require")
    'postgresql://app:***@db.example:5432/ledger?sslmode=require'
    >>> redact_url("host=/tmp dbname=ledger password='x y'")
    'host=/tmp dbname=ledger password=***'
    """
    if "://" not in url:
        return _KEYWORD_PASSWORD.sub(lambda m: m.group(1) + REDACTED, url)
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostinfo = netloc.rpartition("@")
        if ":" in userinfo:
            user, _, password = userinfo.partition(":")
            userinfo = f"{user}:{REDACTED}" if password else user
        netloc = f"{userinfo}@{hostinfo}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() == "password" for k, _ in pairs):
            pairs = [(k, REDACTED if k.lower() == "password" else v) for k, v in pairs]
            query = urlencode(pairs, safe="*/")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
