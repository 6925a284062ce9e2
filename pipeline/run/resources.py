"""What the steps use, opened lazily from the configuration and closed together.

Only the ledger is opened up front (no run can be recorded without it, and "Postgres
unreachable" must fail before anything happens). SFTP, the API client and the PGP keys are
opened on first use, so a run with the SFTP server down still builds and seals, records that,
and fails at upload with a clear transient error; the rerun resumes at upload.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any

from pipeline.config import AppConfig, PathsSettings
from pipeline.errors import ConfigError
from pipeline.run.pg_ledger import PgRunLedger
from pipeline.run.queries import RunQueries
from pipeline.run.seams import RemoteFile
from pipeline.run.settings import RunSettings


class PgpSealer:
    """:class:`pipeline.run.seams.Sealer` over ``pipeline.pgp`` with the configured keys."""

    def __init__(self, config: AppConfig) -> None:
        from pipeline.pgp_settings import PgpSettings

        self.settings: PgpSettings = config.typed("pgp")
        self.keys = self.settings.load_keys()
        self.suffix = ".asc" if self.settings.armor else ".pgp"

    def seal(self, data: bytes, *, filename: str = "") -> bytes:
        from pipeline.pgp import seal_for_bank

        return seal_for_bank(data, keys=self.keys, settings=self.settings, filename=filename)

    def unseal_file(self, source: Path, target: Path) -> None:
        from pipeline.pgp import unseal_file_from_bank

        unseal_file_from_bank(source, target, keys=self.keys, settings=self.settings)


class SftpTransport:
    """:class:`pipeline.run.seams.Transport` over ``pipeline.sftp.SftpClient``.

    ``inbound_dirs`` (``[run] inbound_dirs``) lists every remote directory the bank answers
    in (acknowledgments, returns, NOCs); empty means ``[sftp] inbound_dir`` alone.
    """

    def __init__(self, config: AppConfig, *, inbound_dirs: tuple[str, ...] = ()) -> None:
        from pipeline.sftp import SftpClient
        from pipeline.sftp_settings import SftpSettings

        self.settings = SftpSettings.from_mapping(config.section("sftp"))
        self.client = SftpClient(self.settings)
        self.inbound_dirs = inbound_dirs or (self.settings.inbound_dir,)

    def upload(self, local: Path, remote_name: str) -> str:
        return str(self.client.upload(local, remote_name).remote_path)

    def remote_size(self, remote_path: str) -> int | None:
        size: int | None = self.client.remote_size(remote_path)
        return size

    def list_inbound(self) -> list[RemoteFile]:
        found: list[RemoteFile] = []
        for directory in self.inbound_dirs:
            # One connection for every directory: the client reads inbound_dir per call.
            self.client.settings = replace(self.settings, inbound_dir=directory)
            try:
                listed = self.client.list_inbound()
            finally:
                self.client.settings = self.settings
            for f in listed:
                found.append(
                    RemoteFile(path=f.path, name=f.name, size=f.size, kind_hint=_kind_hint(f.path))
                )
        return found

    def download(self, remote: RemoteFile, dest_dir: Path) -> tuple[Path, str]:
        # A fresh private name: the SFTP client refuses to replace a different local file,
        # and a partial download from a crashed run may still sit in dest_dir.
        target = dest_dir / f"{secrets.token_hex(6)}-{Path(remote.name).name}"
        result = self.client.download(remote.path, target)
        return Path(result.local_path), str(result.sha256)

    def archive(self, remote: RemoteFile) -> None:
        self.client.archive(remote.path)

    def close(self) -> None:
        self.client.close()


def _kind_hint(path: str) -> str:
    low = path.lower()
    for word, kind in (("ack", "ack"), ("return", "return"), ("noc", "noc"), ("cor", "noc")):
        if word in low:
            return kind
    return "unknown"


class Resources:
    """The run's handles. ``ledger`` is a ``pipeline.store.Ledger`` already migrated."""

    def __init__(self, config: AppConfig, ledger: Any) -> None:
        self.config = config
        self.ledger = ledger
        self.run_ledger = PgRunLedger(ledger.conn, ledger.conn)
        self.queries = RunQueries(ledger.conn)
        self._closers: list[Any] = []

    @property
    def paths(self) -> PathsSettings:
        return self.config.paths

    @property
    def run_settings(self) -> RunSettings:
        settings: RunSettings = self.config.typed("run")
        return settings

    @cached_property
    def build_settings(self) -> Any:
        if "build" not in self.config.settings:
            raise ConfigError("[originator], [odfi] and [[companies]] are needed to build files")
        return self.config.settings["build"].settings

    @cached_property
    def sealer(self) -> PgpSealer:
        return PgpSealer(self.config)

    @cached_property
    def transport(self) -> SftpTransport:
        transport = SftpTransport(self.config, inbound_dirs=self.run_settings.inbound_dirs)
        self._closers.append(transport.close)
        return transport

    @cached_property
    def api(self) -> Any:
        from pipeline.api import ApiSettings, ConnectFiClient

        client = ConnectFiClient(ApiSettings.from_mapping(self.config.section("api")))
        self._closers.append(client.close)
        return client

    def close(self) -> None:
        for close in reversed(self._closers):
            with contextlib.suppress(Exception):
                close()
        self._closers.clear()
