"""The sessions achpipe opens (pipeline/store/database.py)."""

from __future__ import annotations

from pipeline.store import connect
from pipeline.store.database import SESSION_SETTINGS


def test_achpipe_sessions_run_without_jit(pg_url: str) -> None:
    """JIT is off for every statement of an achpipe session, whatever the server's default:
    compiling per partition cost more than the ledger's queries themselves."""
    assert SESSION_SETTINGS["jit"] == "off"
    with connect(pg_url) as conn:
        assert conn.execute("SHOW jit").fetchone() == ("off",)
        assert conn.execute("SHOW application_name").fetchone() == ("achpipe",)
        # a session setting: it outlives transactions, the ledger's own included
        with conn.transaction():
            conn.execute("SELECT 1")
        assert conn.execute("SHOW jit").fetchone() == ("off",)
