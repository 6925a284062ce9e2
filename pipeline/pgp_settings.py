"""The ``[pgp]`` section of ``achpipe.toml`` and the keys it names.

Example::

    [pgp]
    our_key = "file:/etc/achpipe/originator.sec.asc"   # or a path, or env:ACHPIPE_PGP_KEY
    our_key_passphrase = "env:ACHPIPE_PGP_PASS"
    bank_key = "/etc/achpipe/bank.pub.asc"
    archive_key = "/etc/achpipe/archive.sec.asc"         # default: our_key
    archive_key_passphrase = "env:ACHPIPE_ARCHIVE_PASS"
    armor = false                                        # binary .pgp by default
    compression = "zip"                                  # none | zip | zlib | bzip2
    require_signature = true                             # inbound files must be signed by bank_key
    require_encryption = true                            # inbound plaintext is refused

Key files are only read by :meth:`PgpSettings.load_keys`, so ``from_mapping`` validates the
shape of the configuration without touching secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

from pipeline.errors import ConfigError

if TYPE_CHECKING:
    from pipeline.keys import OpenPgpKey

__all__ = ["COMPRESSION_NAMES", "PgpKeys", "PgpSettings"]

COMPRESSION_NAMES = ("none", "zip", "zlib", "bzip2")

_STRINGS = (
    "our_key",
    "our_key_passphrase",
    "bank_key",
    "archive_key",
    "archive_key_passphrase",
    "compression",
)
_BOOLS = ("armor", "require_signature", "require_encryption")


@dataclass(frozen=True)
class PgpKeys:
    """The three keys of the transport: ours (signs, reads inbound), the bank's, the archive's."""

    ours: OpenPgpKey
    bank: OpenPgpKey
    archive: OpenPgpKey


@dataclass(frozen=True)
class PgpSettings:
    """Validated ``[pgp]`` settings; key references are resolved by :meth:`load_keys`."""

    our_key: str | None = None
    our_key_passphrase: str | None = None
    bank_key: str | None = None
    archive_key: str | None = None
    archive_key_passphrase: str | None = None
    armor: bool = False
    compression: str = "zip"
    require_signature: bool = True
    require_encryption: bool = True

    @classmethod
    def from_mapping(cls, section: Mapping[str, object]) -> Self:
        """Validate the ``[pgp]`` table; :class:`ConfigError` names the offending key."""
        values: dict[str, object] = {}
        for name, value in section.items():
            if name in _STRINGS:
                if not isinstance(value, str) or not value:
                    raise ConfigError(f"pgp.{name}: expected a non-empty string")
            elif name in _BOOLS:
                if not isinstance(value, bool):
                    raise ConfigError(f"pgp.{name}: expected true or false")
            else:
                raise ConfigError(f"pgp.{name}: unknown setting")
            values[name] = value
        compression = values.get("compression", "zip")
        if compression not in COMPRESSION_NAMES:
            raise ConfigError(f"pgp.compression: expected one of {', '.join(COMPRESSION_NAMES)}")
        return cls(**values)  # type: ignore[arg-type]

    def load_keys(self) -> PgpKeys:
        """Read and unlock-test the configured keys (ConfigError if one is missing or bad)."""
        from pipeline.keys import load_key

        if not self.our_key:
            raise ConfigError("pgp.our_key: not configured")
        if not self.bank_key:
            raise ConfigError("pgp.bank_key: not configured")
        ours = load_key(
            self.our_key,
            passphrase=self.our_key_passphrase,
            setting="pgp.our_key",
            require_secret=True,
        )
        bank = load_key(self.bank_key, setting="pgp.bank_key")
        if self.archive_key:
            archive = load_key(
                self.archive_key,
                passphrase=self.archive_key_passphrase,
                setting="pgp.archive_key",
                require_secret=True,
            )
        else:
            archive = ours
        return PgpKeys(ours=ours, bank=bank.public, archive=archive)
