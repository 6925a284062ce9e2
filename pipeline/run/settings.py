"""``[run]``: how the nightly run behaves for this deployment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from pipeline.errors import ConfigError

_SOURCES = ("api", "file", "both")
_KEYS = {
    "job",
    "transfers_source",
    "transfers_file",
    "break_threshold",
    "fail_on_rate_limit",
    "collect_days_back",
    "inbound_dirs",
}


@dataclass(frozen=True)
class RunSettings:
    """Nightly run behaviour.

    ``transfers_source``: where collect takes the day's transfers from: ``api`` (the
    processor's ``/transfer-to/ach/list`` for the window), ``file`` (``transfers_file``, CSV or
    Parquet with the create-call columns; ``{date}`` in the path is the business date) or
    ``both``. ``collect_days_back``: how many calendar days before the business date the list
    window starts (transfers created since the previous banking day's cut-off).
    ``break_threshold``: reconciliation breaks tolerated before exit 3.
    ``fail_on_rate_limit``: exit 4 when a return-rate limit is crossed.
    ``inbound_dirs``: every remote directory the bank answers in (acknowledgments, returns,
    NOCs); empty means ``[sftp] inbound_dir`` alone.
    """

    job: str = "nightly"
    transfers_source: str = "api"
    transfers_file: str | None = None
    break_threshold: int = 0
    fail_on_rate_limit: bool = True
    collect_days_back: int = 4
    inbound_dirs: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, section: Mapping[str, object]) -> Self:
        unknown = sorted(set(section) - _KEYS)
        if unknown:
            raise ConfigError(
                f"[run] unknown setting {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})"
            )
        job = section.get("job", "nightly")
        if not isinstance(job, str) or not job.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(
                f"[run] job must be a short name (letters, digits, - and _), got {job!r}"
            )
        source = section.get("transfers_source", "api")
        if source not in _SOURCES:
            raise ConfigError(
                f"[run] transfers_source must be one of {', '.join(_SOURCES)}, got {source!r}"
            )
        tfile = section.get("transfers_file")
        if tfile is not None and not isinstance(tfile, str):
            raise ConfigError("[run] transfers_file must be a path string")
        if source in ("file", "both") and not tfile:
            raise ConfigError(f"[run] transfers_source = {source!r} needs transfers_file")
        threshold = section.get("break_threshold", 0)
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
            raise ConfigError(
                f"[run] break_threshold must be a non-negative integer, got {threshold!r}"
            )
        fail_rates = section.get("fail_on_rate_limit", True)
        if not isinstance(fail_rates, bool):
            raise ConfigError(f"[run] fail_on_rate_limit must be true or false, got {fail_rates!r}")
        days_back = section.get("collect_days_back", 4)
        if (
            isinstance(days_back, bool)
            or not isinstance(days_back, int)
            or not 0 <= days_back <= 30
        ):
            raise ConfigError(f"[run] collect_days_back must be an integer 0-30, got {days_back!r}")
        dirs = section.get("inbound_dirs", [])
        if not isinstance(dirs, list) or not all(isinstance(d, str) and d for d in dirs):
            raise ConfigError("[run] inbound_dirs must be a list of remote directory paths")
        return cls(
            inbound_dirs=tuple(dirs),
            job=job,
            transfers_source=str(source),
            transfers_file=tfile,
            break_threshold=threshold,
            fail_on_rate_limit=fail_rates,
            collect_days_back=days_back,
        )

    def transfers_path(self, business_date: str) -> Path | None:
        if not self.transfers_file:
            return None
        return Path(self.transfers_file.replace("{date}", business_date)).expanduser()
