"""The embedded default really starts a PostgreSQL 18, migrates it, and stops it — without
widening the permissions of directories it did not create."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pipeline.store import EmbeddedPostgres, EmbeddedPostgresError, migrate, migration_status
from pipeline.store.embedded import SERVER_SETTINGS, postgres_bin_dir

IS_ROOT = os.geteuid() == 0


def _wheel_reason() -> str | None:
    try:
        postgres_bin_dir()
    except EmbeddedPostgresError as exc:
        return str(exc)
    if IS_ROOT and shutil.which("useradd") is None and shutil.which("/usr/sbin/useradd") is None:
        return "running as root without useradd: cannot create the server's system user"
    return None


pytestmark = pytest.mark.skipif(_wheel_reason() is not None, reason=str(_wheel_reason()))


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data directory the server's user can reach. As root, pytest's tmp_path sits under a
    0700 directory, so use a fresh directory under /var/tmp (made traversable by us, since we
    created it) — achpipe itself never chmods it."""
    if not IS_ROOT:
        yield tmp_path / "data"
        return
    parent = Path(tempfile.mkdtemp(prefix="achpipe-embedded-", dir="/var/tmp"))
    parent.chmod(0o755)
    try:
        yield parent / "data"
    finally:
        server = EmbeddedPostgres(parent / "data")
        if (server.pgdata / "PG_VERSION").exists():
            server.stop(force=True)
        shutil.rmtree(parent, ignore_errors=True)


def test_embedded_starts_migrates_and_stops(data_dir: Path) -> None:
    first = EmbeddedPostgres(data_dir)
    url = first.start()
    try:
        assert f"host={first.pgdata}" in url or "host=/tmp/achpipe-pg-" in url
        with psycopg.connect(url, autocommit=True) as conn:
            assert conn.info.server_version >= 180000
            assert conn.execute("SHOW listen_addresses").fetchone() == ("",)  # no TCP at all
            for name, value in SERVER_SETTINGS.items():
                assert conn.execute(f"SHOW {name}").fetchone() == (value,)
            assert len(migrate(conn)) >= 3
            assert migration_status(conn).ok
        # A second user of the same data directory shares the running server.
        second = EmbeddedPostgres(data_dir)
        assert second.start() == url
        assert not first.stop()  # not the last user: keeps running
        assert second.is_running()
        with psycopg.connect(url, autocommit=True) as conn:
            assert migrate(conn) == []  # data persisted
        assert second.stop()  # last user stops it
        assert not second.is_running()
    finally:
        first.stop()
    assert stat.S_IMODE(first.pgdata.stat().st_mode) == 0o700
    if IS_ROOT:
        owner = first.pgdata.stat().st_uid
        assert owner != 0  # the server runs as a system user, never as root
    # Restart on existing data (a warm start of the next CLI command).
    again = EmbeddedPostgres(data_dir)
    with psycopg.connect(again.start(), autocommit=True) as conn:
        assert migrate(conn) == []
    assert again.stop()


@pytest.mark.skipif(not IS_ROOT, reason="the permission guard only matters when run as root")
def test_root_refuses_to_open_a_private_directory(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    before = {p: stat.S_IMODE(p.stat().st_mode) for p in (private, *private.parents)}
    with pytest.raises(EmbeddedPostgresError, match="will not widen its permissions"):
        EmbeddedPostgres(private / "data").start()
    after = {p: stat.S_IMODE(p.stat().st_mode) for p in (private, *private.parents)}
    assert after == before
