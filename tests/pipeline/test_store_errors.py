"""The psycopg → achpipe error boundary, URL handling and the [database] section."""

from __future__ import annotations

import inspect

import psycopg
import pytest

import pipeline.store as store
from pipeline.errors import ConfigError, PermanentError, TransientError
from pipeline.store import (
    DatabaseConfig,
    DatabaseUnavailable,
    DuplicateError,
    StoreError,
    StoreIntegrityError,
    configured_url,
    connect,
    map_psycopg_error,
    redact_url,
)

# Every exception class psycopg exports, and the achpipe class it must become.
EXPECTED = {
    "Error": StoreError,
    "Warning": StoreError,
    "InterfaceError": StoreError,
    "DatabaseError": StoreError,
    "DataError": StoreError,
    "OperationalError": DatabaseUnavailable,
    "IntegrityError": StoreIntegrityError,
    "InternalError": StoreError,
    "ProgrammingError": StoreError,
    "NotSupportedError": StoreError,
}


def test_every_psycopg_exception_is_mapped() -> None:
    exported = {
        name
        for name, obj in vars(psycopg).items()
        if inspect.isclass(obj) and issubclass(obj, Exception) and name != "Rollback"
    }
    assert exported == set(EXPECTED), "psycopg exports a new exception class: map it"
    for name, ours in EXPECTED.items():
        mapped = map_psycopg_error(getattr(psycopg, name)("boom"), "doing x")
        assert type(mapped) is ours, name
        assert str(mapped).startswith("doing x: ")
    assert isinstance(map_psycopg_error(psycopg.errors.UniqueViolation("dup"), "x"), DuplicateError)
    assert isinstance(
        map_psycopg_error(psycopg.errors.SerializationFailure("s"), "x"), DatabaseUnavailable
    )
    assert issubclass(DatabaseUnavailable, TransientError) and DatabaseUnavailable.exit_code == 75
    assert issubclass(StoreError, PermanentError) and StoreError.exit_code == 1


def test_unreachable_server_is_transient_and_redacted() -> None:
    with pytest.raises(DatabaseUnavailable) as info:
        connect("postgresql://app:hunter2@127.0.0.1:1/ledger", connect_timeout=2)
    assert info.value.exit_code == 75
    assert "hunter2" not in str(info.value) and "***" in str(info.value)
    assert isinstance(info.value.__cause__, psycopg.OperationalError)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://app:s3cret@db:5432/ledger", "postgresql://app:***@db:5432/ledger"),
        ("postgresql://app@db/ledger", "postgresql://app@db/ledger"),
        (
            "postgresql://db/ledger?password=s3cret&sslmode=require",
            "postgresql://db/ledger?password=***&sslmode=require",
        ),
        (
            "postgresql+psycopg://u:p%40ss@/x?host=/run/pg",
            "postgresql+psycopg://u:***@/x?host=/run/pg",
        ),
        ("host=db password=s3cret dbname=x", "host=db password=*** dbname=x"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_database_config_and_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_URL", "postgresql://u:pw@db/ledger")
    cfg = DatabaseConfig.from_mapping({"url": "env:LEDGER_URL", "connect_timeout": 3})
    assert cfg.url is not None and "pw" not in repr(cfg)
    assert configured_url(cfg, env={}).reveal() == "postgresql://u:pw@db/ledger"
    env = {"DATABASE_URL": "postgresql://other/x"}
    assert configured_url(cfg, env=env).reveal() == "postgresql://other/x"
    assert configured_url(DatabaseConfig(), env={}) is None  # → embedded
    with pytest.raises(ConfigError, match="unknown key"):
        DatabaseConfig.from_mapping({"uri": "x"})
    with pytest.raises(ConfigError, match="postgresql://"):
        DatabaseConfig.from_mapping({"url": "mysql://u:secret@h/db"})
    with pytest.raises(ConfigError, match="connect_timeout"):
        DatabaseConfig.from_mapping({"connect_timeout": 0})
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        configured_url(None, env={"DATABASE_URL": "sqlite:///x"})


def test_public_names_are_exact() -> None:
    assert len(store.__all__) == len(set(store.__all__))
    public = {n for n in vars(store) if not n.startswith("_")} - {
        # submodules, reachable but not part of the flat API
        "copy",
        "csv_copy",
        "database",
        "embedded",
        "entries_load",
        "entries_sides",
        "entries_tables",
        "errors",
        "inbound",
        "ledger",
        "locks",
        "migrations",
        "outbound",
        "protect",
        "reads",
        "runs",
        "stats",
        "transfers",
        "url",
    }
    assert public == set(store.__all__)
