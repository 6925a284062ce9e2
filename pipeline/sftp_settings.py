"""The ``[sftp]`` section of ``achpipe.toml``: one endpoint, pinned, with explicit timeouts.

Example::

    [sftp]
    host = "sftp.bank.example"
    port = 22
    username = "acme-ach"
    private_key = "/etc/achpipe/id_ed25519"          # or file:/..., env:NAME (key text)
    private_key_passphrase = "env:ACHPIPE_SFTP_KEY_PASS"
    # password = "env:ACHPIPE_SFTP_PASSWORD"        # only used when set explicitly
    known_hosts = "/etc/achpipe/known_hosts"         # and/or:
    host_key_fingerprint = "SHA256:3q2+7w..."       # as `ssh-keygen -lf` prints it
    upload_dir = "inbound"
    inbound_dir = "outbound/returns"
    inbound_patterns = ["*.ach", "*.ach.pgp", "*.json"]
    archive_dir = "outbound/archive"                 # omit to leave fetched files in place
    upload_mode = "rename"                           # or "direct" for servers that forbid rename
    verify_readback = false                          # re-read and hash every upload
    connect_timeout = 15.0                           # or: timeouts = { connect = 15, io = 30 }
    io_timeout = 30.0                                # no reply for this long = stalled
    retries = 3                                      # transient failures only
    backoff_initial = 1.0
    backoff_max = 30.0

At least one of ``known_hosts`` / ``host_key_fingerprint`` is required: there is no mode
that trusts a key on first use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self

from pipeline.errors import ConfigError

__all__ = ["SftpSettings"]

_FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}=?$")


def _str(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"sftp.{name}: expected a non-empty string")
    return value


def _number(name: str, value: object, *, minimum: float, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"sftp.{name}: expected a number")
    if integer and not isinstance(value, int):
        raise ConfigError(f"sftp.{name}: expected a whole number")
    if value < minimum:
        raise ConfigError(f"sftp.{name}: must be at least {minimum}")
    return value


@dataclass(frozen=True)
class SftpSettings:
    """Validated ``[sftp]`` settings (secrets stay references until connect time)."""

    host: str
    username: str
    port: int = 22
    private_key: str | None = None
    private_key_passphrase: str | None = None
    password: str | None = None
    known_hosts: str | None = None
    host_key_fingerprint: str | None = None
    upload_dir: str = "."
    inbound_dir: str = "."
    inbound_patterns: tuple[str, ...] = ("*",)
    archive_dir: str | None = None
    upload_mode: str = "rename"
    verify_readback: bool = False
    connect_timeout: float = 15.0
    io_timeout: float = 30.0
    retries: int = 3
    backoff_initial: float = 1.0
    backoff_max: float = 30.0

    @classmethod
    def from_mapping(cls, section: Mapping[str, object]) -> Self:
        """Validate the ``[sftp]`` table; :class:`ConfigError` names the offending key."""
        values: dict[str, object] = {}
        for name, value in section.items():
            if name in (
                "host",
                "username",
                "private_key",
                "private_key_passphrase",
                "password",
                "known_hosts",
                "upload_dir",
                "inbound_dir",
                "archive_dir",
            ):
                values[name] = _str(name, value)
            elif name == "port":
                port = int(_number(name, value, minimum=1, integer=True))
                if port > 65535:
                    raise ConfigError("sftp.port: must be at most 65535")
                values[name] = port
            elif name == "host_key_fingerprint":
                text = _str(name, value)
                if not _FINGERPRINT.match(text):
                    raise ConfigError(
                        "sftp.host_key_fingerprint: expected 'SHA256:<43 base64 chars>' "
                        "as printed by ssh-keygen -lf"
                    )
                values[name] = text.rstrip("=")
            elif name == "inbound_patterns":
                if isinstance(value, str):
                    value = [value]
                if not isinstance(value, list | tuple) or not value:
                    raise ConfigError("sftp.inbound_patterns: expected a list of glob patterns")
                values[name] = tuple(_str(name, v) for v in value)
            elif name == "upload_mode":
                if value not in ("rename", "direct"):
                    raise ConfigError("sftp.upload_mode: expected 'rename' or 'direct'")
                values[name] = value
            elif name == "verify_readback":
                if not isinstance(value, bool):
                    raise ConfigError("sftp.verify_readback: expected true or false")
                values[name] = value
            elif name in ("connect_timeout", "io_timeout"):
                values[name] = float(_number(name, value, minimum=0.1))
            elif name == "timeouts":  # the table form: timeouts = { connect = 15, io = 30 }
                if not isinstance(value, Mapping):
                    raise ConfigError("sftp.timeouts: expected a table {connect = s, io = s}")
                for key, seconds in value.items():
                    if key not in ("connect", "io"):
                        raise ConfigError(f"sftp.timeouts.{key}: unknown (connect or io)")
                    values[f"{key}_timeout"] = float(
                        _number(f"timeouts.{key}", seconds, minimum=0.1)
                    )
            elif name in ("backoff_initial", "backoff_max"):
                values[name] = float(_number(name, value, minimum=0))
            elif name == "retries":
                values[name] = int(_number(name, value, minimum=0, integer=True))
            else:
                raise ConfigError(f"sftp.{name}: unknown setting")
        for required in ("host", "username"):
            if required not in values:
                raise ConfigError(f"sftp.{required}: required")
        if "known_hosts" not in values and "host_key_fingerprint" not in values:
            raise ConfigError(
                "sftp.known_hosts: set known_hosts or host_key_fingerprint "
                "(host keys are always pinned)"
            )
        if "private_key" not in values and "password" not in values:
            raise ConfigError("sftp.private_key: set private_key (or password explicitly)")
        return cls(**values)  # type: ignore[arg-type]

    @property
    def endpoint(self) -> str:
        """``user@host:port`` for messages (no secrets)."""
        return f"{self.username}@{self.host}:{self.port}"
