"""Host key pinning: a known_hosts file and/or a SHA256 fingerprint; no trust on first use.

The check runs on the key the server proved it holds during the key exchange, before any
credential is sent. Unknown or changed keys raise :class:`SftpHostKeyError` whose message
shows the offered key type and fingerprint, so an operator can compare it with the bank's
published value and update the pin deliberately.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import paramiko

from pipeline.errors import ConfigError
from pipeline.transport_errors import SftpHostKeyError

__all__ = ["HostKeyPin", "fingerprint"]


def fingerprint(key: paramiko.PKey) -> str:
    """``SHA256:<base64 without padding>``, exactly as ``ssh-keygen -lf`` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def _host_entry(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


class HostKeyPin:
    """What we accept for one endpoint: known_hosts entries and/or one fingerprint."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        known_hosts: str | Path | None = None,
        fingerprint: str | None = None,
    ) -> None:
        if known_hosts is None and fingerprint is None:
            raise ConfigError("sftp: a known_hosts file or a host_key_fingerprint is required")
        self.entry = _host_entry(host, port)
        self.fingerprint = fingerprint.rstrip("=") if fingerprint else None
        self.keys: dict[str, paramiko.PKey] = {}
        if known_hosts is not None:
            path = Path(known_hosts).expanduser()
            try:
                host_keys = paramiko.HostKeys(str(path))
            except OSError as exc:
                raise ConfigError(f"sftp.known_hosts: cannot read {path}: {exc}") from exc
            found = host_keys.lookup(self.entry)
            if found is None and port == 22:
                found = host_keys.lookup(f"[{host}]:22")
            self.keys = dict(found or {})
            self.known_hosts = path
            if not self.keys and self.fingerprint is None:
                # not an error yet: the connect reports the offered key so it can be added
                pass

    def key_types(self) -> list[str] | None:
        """Host key algorithms to offer, so the server presents the key we have pinned."""
        if self.fingerprint is not None or not self.keys:
            return None
        types = list(self.keys)
        if "ssh-rsa" in types:
            types += ["rsa-sha2-512", "rsa-sha2-256"]
        return types

    def check(self, offered: paramiko.PKey) -> None:
        """Raise :class:`SftpHostKeyError` unless ``offered`` matches a pin."""
        offered_fp = fingerprint(offered)
        name = offered.get_name()
        shown = f"{name} {offered_fp}"
        if self.fingerprint is not None and hmac.compare_digest(offered_fp, self.fingerprint):
            return
        pinned = self.keys.get(name)
        if pinned is None and name.startswith("rsa-sha2"):
            pinned = self.keys.get("ssh-rsa")
        if pinned is not None and hmac.compare_digest(pinned.asbytes(), offered.asbytes()):
            return
        expected = self.fingerprint or (
            ", ".join(f"{k} {fingerprint(v)}" for k, v in self.keys.items()) or None
        )
        if expected is None:
            raise SftpHostKeyError(
                f"host key for {self.entry} is not pinned (not in known_hosts and no "
                f"host_key_fingerprint); the server offered {shown}. Verify it with the bank, "
                f"then add it to known_hosts or set host_key_fingerprint.",
                offered=offered_fp,
            )
        raise SftpHostKeyError(
            f"HOST KEY MISMATCH for {self.entry}: the server offered {shown}, expected "
            f"{expected}. Refusing to connect (possible man-in-the-middle or re-keyed server).",
            offered=offered_fp,
            expected=expected,
        )
