"""The Postgres ledger: schema migrations, embedded server, account protection, repository.

Start here: :func:`open_ledger` (config → migrated :class:`Ledger`), or
``Ledger(connect(url), AccountProtector(secret))``. Errors are in :mod:`.errors`.
"""

from pipeline.store.copy import copy_frame, copy_frames
from pipeline.store.database import DatabaseTarget, connect, open_database, open_ledger
from pipeline.store.embedded import EmbeddedPostgres, default_data_dir, embedded_postgres
from pipeline.store.entries_load import load_entries
from pipeline.store.errors import (
    DatabaseUnavailable,
    DuplicateError,
    EmbeddedPostgresError,
    FileIdModifiersExhausted,
    InvalidStateTransition,
    MigrationChecksumError,
    MigrationError,
    StoreError,
    StoreIntegrityError,
    map_psycopg_error,
    translate_errors,
)
from pipeline.store.inbound import InboundFile
from pipeline.store.ledger import Ledger
from pipeline.store.locks import advisory_lock
from pipeline.store.migrations import (
    SQL_DIR,
    Migration,
    MigrationStatus,
    load_migrations,
    migrate,
    migration_status,
)
from pipeline.store.outbound import FILE_ID_MODIFIERS, FILE_TRANSITIONS, OutboundFile
from pipeline.store.protect import AccountProtector, SecurityConfig, mask_corrected_data
from pipeline.store.runs import Run, Step
from pipeline.store.url import DatabaseConfig, configured_url, redact_url

__all__ = [
    "FILE_ID_MODIFIERS",
    "FILE_TRANSITIONS",
    "SQL_DIR",
    "AccountProtector",
    "DatabaseConfig",
    "DatabaseTarget",
    "DatabaseUnavailable",
    "DuplicateError",
    "EmbeddedPostgres",
    "EmbeddedPostgresError",
    "FileIdModifiersExhausted",
    "InboundFile",
    "InvalidStateTransition",
    "Ledger",
    "Migration",
    "MigrationChecksumError",
    "MigrationError",
    "MigrationStatus",
    "OutboundFile",
    "Run",
    "SecurityConfig",
    "Step",
    "StoreError",
    "StoreIntegrityError",
    "advisory_lock",
    "configured_url",
    "connect",
    "copy_frame",
    "copy_frames",
    "default_data_dir",
    "embedded_postgres",
    "load_entries",
    "load_migrations",
    "map_psycopg_error",
    "mask_corrected_data",
    "migrate",
    "migration_status",
    "open_database",
    "open_ledger",
    "redact_url",
    "translate_errors",
]
