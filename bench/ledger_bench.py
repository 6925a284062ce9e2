"""Load 1,000,000 entries into the ledger with binary COPY and print the timings.

Usage: python bench/ledger_bench.py [--entries N] [--url postgresql://… | --embedded]

The server is --url, else $DATABASE_URL, else $ACHPIPE_TEST_PG, else
postgresql://postgres@127.0.0.1:5432/test; a scratch database is created, migrated and
dropped. Printed figures (shared machine: expect ±50 % noise):

* copy-ref    — the yardstick the issue gives ("binary COPY of 1M rows was measured here at
                about 0.7 s", 0.64-0.73 s in the platform findings): psycopg's binary COPY of
                1M narrow Python tuples (id, 15-digit trace, amount, reference) through
                write_row into a table without keys, measured now. Machines (and one machine
                from hour to hour) differ by 2×: read each line against this one, not only
                by its wall time
* protect     — AES-GCM + keyed hash + last4 of every account (Python, per distinct value)
* copy-bare   — the same COPY into a WAL-logged table without constraints/indexes (baseline)
* copy        — the protected entries loaded into ``entries`` by the ledger's loader
                (``load_entries``: a day without a partition gets a fresh one; a million
                rows are loaded in parts, trace-number ranges that side connections COPY
                and index by sorting at the same time, then attached; the keys enforced)
* copy-1conn  — the same rows for another day on one backend (the path of a new day under
                ``entries_load.PARALLEL_MIN_ROWS`` rows): COPY, indexes, attach
* copy-live   — another 1M entries for the same effective date (the path of a second file
                for one day): that day's partition exists, in parts bounded by its traces;
                these traces lie above them, so they become new parts, loaded the same way
                (before: through the parts' live indexes, 5.7-7.7 s)
* copy-after-small — 1M entries for a day whose first file was small (1,000 entries, loaded
                before, outside the timing): that file made the day's first part, bounded by
                its traces, so these become new parts too (before: the small file made a
                plain partition and these went through its live indexes, 5.7-8.9 s)
* copy-named  — ``copy`` for another new day with an individual name (22 characters) and ID
                (15) in every row, as a PPD file carries them; the other lines leave both
                empty (NULL)
* record      — the whole ``Ledger.record_outbound_file`` (one transaction: file row,
                batches, join, COPY), given already-protected accounts
* end-to-end  — record_outbound_file from clear account numbers (protect + record)
* link        — the acknowledgment's processor id of every entry of the recorded file
                (``RunQueries.link_transfer_ids``, processor ids of 31 characters), appended to
                ``entry_transfer_links``

The target of the issue is the COPY load of 1M entries in under 2 s. Besides wall time each
line shows CPU seconds of this process and of the Postgres backend (read with psutil when the
server runs on this machine): on a machine shared with other jobs the wall time mostly
measures waiting for a core, the CPU seconds what the load itself costs.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import polars as pl
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.run.queries import RunQueries
from pipeline.secrets import Secret
from pipeline.store import (
    AccountProtector,
    EmbeddedPostgres,
    Ledger,
    OutboundFile,
    copy_frame,
    entries_load,
    load_entries,
    migrate,
)

ORIGIN, DEST = " 123456789", " 091000019"


class Meter:
    """Wall time, and CPU time of this process and of the server backend (if local).

    The server figure includes the parallel workers the backend starts (CREATE INDEX sorts
    with up to max_parallel_maintenance_workers of them) and the backends of the side
    connections a load in parts opens (entries_load): a thread samples the CPU times of both
    every 10 ms (from /proc, see ``_sample_workers``) while the meter runs, keeping each one's
    last reading, so a process's final few milliseconds may be missed. The sampling thread's
    own CPU is not counted as client.
    """

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.backend = None
        try:
            import psutil

            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            self.dbname = conn.info.dbname
            self.backend = psutil.Process(pid)
            self.backend.cpu_times()
        except Exception:  # remote server, no psutil, no permission: wall time only
            self.backend = None

    def _sample_workers(self) -> None:
        """Every 10 ms: the postmaster's new children that are this backend's parallel workers
        or backends of this database (the side connections), and the CPU time of each.

        Read straight from /proc (the postmaster's ``children`` list, each process's
        ``stat``): psutil's ``children()`` scans every process of the machine, and doing that
        100 times a second cost ~0.3 s of CPU per load, taken from the load it measured.
        Where that list is missing (no CONFIG_PROC_CHILDREN), psutil every 50 ms instead."""
        assert self.backend is not None
        probe = _proc_probe(self.backend.ppid()) or _psutil_probe(self.backend.ppid())
        worker = f"parallel worker for PID {self.backend.pid}"
        side = f" {self.dbname} "  # "postgres: user db [local] COPY"
        before = set(probe.children())  # those running before the meter started
        known: set[int] = set()
        while not self._stop.wait(probe.every):
            with suppress(*probe.errors):
                for pid in probe.children():
                    if pid in before or pid in known:
                        continue
                    # a new backend shows the postmaster's title until it has logged in:
                    # looked at again next time until it shows its own
                    with suppress(*probe.errors):
                        cmdline = probe.cmdline(pid)
                        if worker in cmdline or side in cmdline:
                            known.add(pid)
            for pid in known:
                with suppress(*probe.errors):
                    self._workers[pid] = probe.cpu(pid)
        self._sampler_cpu = time.thread_time()

    def __enter__(self) -> Meter:
        _settle(self.conn)
        self.t0, self.c0 = time.perf_counter(), time.process_time()
        self.s0 = sum(self.backend.cpu_times()[:2]) if self.backend else 0.0
        self._workers: dict[int, float] = {}
        self._sampler_cpu = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_workers, daemon=True)
        if self.backend:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.t0
        self._stop.set()
        if self.backend:
            self._thread.join()
        self.client = time.process_time() - self.c0 - self._sampler_cpu
        self.server = (
            (sum(self.backend.cpu_times()[:2]) - self.s0 + sum(self._workers.values()))
            if self.backend
            else None
        )

    def line(self, label: str, extra: str = "") -> str:
        cpu = f"cpu client {self.client:5.2f} s"
        if self.server is not None:
            cpu += f" + server {self.server:5.2f} s = {self.client + self.server:5.2f} s"
        return f"{label:<16} wall {self.wall:6.2f} s  {cpu}  {extra}".rstrip()


def _settle(conn: psycopg.Connection) -> None:
    """Write out what the lines before wrote, outside the timing: a CHECKPOINT (if this role
    may) and a sync. Without it a line starts with the previous line's 300-500 MB of WAL and
    pages still being written back and a checkpoint due, and its timing pays for them."""
    if conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        with suppress(psycopg.errors.InsufficientPrivilege):
            conn.execute("CHECKPOINT")
    os.sync()


@dataclass(frozen=True)
class _Probe:
    """How the meter lists the postmaster's children and reads their title and CPU seconds;
    ``errors``: what a process that ended between two reads raises."""

    children: Callable[[], list[int]]
    cmdline: Callable[[int], str]
    cpu: Callable[[int], float]
    every: float
    errors: tuple[type[BaseException], ...]


def _proc_probe(postmaster: int) -> _Probe | None:
    """Straight from /proc, or None where the kernel keeps no children list."""
    listing = Path(f"/proc/{postmaster}/task/{postmaster}/children")
    if not listing.exists():
        return None
    tick = os.sysconf("SC_CLK_TCK")

    def cpu(pid: int) -> float:
        # utime and stime: fields 14 and 15, counted after the ")" of the name
        fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    return _Probe(
        children=lambda: [int(pid) for pid in listing.read_text().split()],
        cmdline=lambda pid: (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        ),
        cpu=cpu,
        every=0.01,
        errors=(OSError, ValueError, IndexError),
    )


def _psutil_probe(postmaster: int) -> _Probe:
    import psutil

    parent = psutil.Process(postmaster)
    return _Probe(
        children=lambda: [p.pid for p in parent.children()],
        cmdline=lambda pid: " ".join(psutil.Process(pid).cmdline()),
        cpu=lambda pid: sum(psutil.Process(pid).cpu_times()[:2]),
        every=0.05,
        errors=(psutil.Error,),
    )


def frames(n: int, *, day: date, trace_base: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    batches_n = max(1, n // 10_000)
    batches = pl.DataFrame(
        {
            "batch_number": list(range(1, batches_n + 1)),
            "service_class_code": [225] * batches_n,
            "company_name": ["BENCH CO"] * batches_n,
            "company_id": [f"{1000000000 + i % 20}" for i in range(batches_n)],
            "sec_code": ["PPD"] * batches_n,
            "company_entry_description": ["BENCH"] * batches_n,
            "effective_date": [day] * batches_n,
        }
    )
    i = pl.int_range(0, n, dtype=pl.Int64)
    entries = pl.select(
        ((i // 10_000) + 1).clip(upper_bound=batches_n).alias("batch_number"),
        (pl.lit("12345678") + (i + trace_base).cast(pl.String).str.zfill(7)).alias("trace_number"),
        pl.lit(27, dtype=pl.Int16).alias("transaction_code"),
        ((i % 100_000) + 1).alias("amount_cents"),
        pl.lit("091000019").alias("rdfi_routing"),
        (i * 7919 + 100_000_000).cast(pl.String).alias("account_number"),
        (pl.lit("R") + i.cast(pl.String)).alias("reference"),
    )
    return batches, entries


def loadable_rows(
    ledger: Ledger, batches: pl.DataFrame, protected: pl.DataFrame, *, creation: date
) -> pl.DataFrame:
    """``protected`` (from :func:`frames`, accounts protected) as rows ``load_entries`` takes:
    a seed file with the first batch is recorded (empty), and every row names it and that
    batch, company 1000000000, PPD. The effective date is the caller's to add."""
    modifier = ledger.allocate_file_id_modifier(ORIGIN, DEST, creation)
    file_id = ledger.record_outbound_file(
        OutboundFile(
            file_name=f"seed-{creation}-{modifier}",
            content=f"seed-{creation}-{modifier}".encode(),
            immediate_origin=ORIGIN,
            immediate_destination=DEST,
            creation_date=creation,
            file_id_modifier=modifier,
        ),
        batches.head(1),
        protected.head(0),
    )
    batch_id = ledger.conn.execute(
        "SELECT id FROM batches WHERE outbound_file_id = %s", (file_id,)
    ).fetchone()[0]
    return protected.drop("batch_number").with_columns(
        pl.lit(file_id).alias("outbound_file_id"),
        pl.lit(batch_id).alias("batch_id"),
        pl.lit("1000000000").alias("company_id"),
        pl.lit("PPD").alias("sec_code"),
    )


@contextmanager
def bench_ledger(url: str | None) -> Iterator[tuple[psycopg.Connection, Ledger, str]]:
    """A throwaway, migrated database on the server at ``url`` (else ``DATABASE_URL``,
    ``ACHPIPE_TEST_PG`` or the local test server), with a ledger and a random account key;
    yields (connection, ledger, description) and drops the database afterwards."""
    server = (
        url
        or os.environ.get("DATABASE_URL")
        or os.environ.get("ACHPIPE_TEST_PG")
        or "postgresql://postgres@127.0.0.1:5432/test"
    )
    name = f"achpipe_bench_{uuid.uuid4().hex[:8]}"
    parts = urlsplit(server)
    db_url = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(db_url, autocommit=True) as conn:
            migrate(conn)
            protector = AccountProtector(Secret(base64.b64encode(os.urandom(32)).decode()))
            yield conn, Ledger(conn, protector), f"server {parts.hostname or 'socket'}, db {name}"
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--url", default=None)
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="run on a fresh embedded Postgres with the product's settings (the default database)",
    )
    args = parser.parse_args()
    with ExitStack() as stack:
        url = stack.enter_context(embedded_server()) if args.embedded else args.url
        run(args.entries, url)


@contextmanager
def embedded_server() -> Iterator[str]:
    """A throwaway embedded Postgres (``pipeline.store.embedded``, the product's default
    database and server settings) in a temp directory; yields its URL, then stops and removes
    it. Under /var/tmp when run as root: the server's system user must reach the directory."""
    parent = Path(
        tempfile.mkdtemp(prefix="achpipe-bench-pg-", dir="/var/tmp" if os.getuid() == 0 else None)
    )
    parent.chmod(0o755)
    server = EmbeddedPostgres(parent / "data")
    try:
        yield server.start()
    finally:
        server.stop(force=True)
        shutil.rmtree(parent, ignore_errors=True)


def run(n: int, url: str | None) -> None:
    """Print every figure for ``n`` entries on the server at ``url``."""
    with bench_ledger(url) as (conn, ledger, where):
        protector = ledger.protector
        print(f"entries: {n:,}  ({where})")

        # The yardstick, measured now: psycopg's binary COPY of 1M narrow rows
        # (Python tuples through write_row), the measurement the platform findings quote.
        narrow = [(i, f"{i:015d}", i % 100_000, f"R{i}") for i in range(n)]
        conn.execute(
            "CREATE TABLE ref_copy (id bigint, trace_number text, amount_cents integer,"
            " reference text) WITH (autovacuum_enabled = false)"
        )
        with (
            Meter(conn) as m,
            conn.transaction(),
            conn.cursor() as cur,
            cur.copy("COPY ref_copy FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(["int8", "text", "int4", "text"])
            for row in narrow:
                copy.write_row(row)
        print(m.line("copy-ref", "(4 narrow columns, no keys; the issue's machine: 0.64-0.73 s)"))
        conn.execute("DROP TABLE ref_copy")
        del narrow

        batches, entries = frames(n, day=date(2026, 3, 3), trace_base=0)
        with Meter(conn) as m:
            protected = protector.protect_frame(entries)
        print(m.line("protect", f"({m.client / n * 1e6:.2f} µs CPU/account)"))

        # Raw COPY into entries (file and batch rows first, outside the timing).
        day = date(2026, 3, 2)
        rows = loadable_rows(ledger, batches, protected, creation=day).with_columns(
            pl.lit(date(2026, 3, 1)).alias("effective_date")
        )
        # Baseline: the same rows into a table without constraints, indexes or triggers
        # (what this machine's COPY costs right now), then into the real table. Not a
        # TEMP table: those skip the WAL, which entries cannot (the ledger is durable). No
        # autovacuum on it: vacuuming its million fresh rows would run beside the next lines.
        conn.execute(
            "CREATE TABLE bare_entries (LIKE entries INCLUDING DEFAULTS)"
            " WITH (autovacuum_enabled = false)"
        )
        with Meter(conn) as m, conn.transaction():
            copy_frame(conn, "bare_entries", rows)
        print(m.line("copy-bare", "(no constraints/indexes: the machine's baseline)"))
        with Meter(conn) as m, conn.transaction():
            load_entries(conn, rows, columns=rows.columns)
        print(m.line("copy", f"({n / m.wall:,.0f} rows/s wall; a new day's partition)"))
        other_day = rows.with_columns(pl.lit(date(2026, 2, 27)).alias("effective_date"))
        threshold = entries_load.PARALLEL_MIN_ROWS
        entries_load.PARALLEL_MIN_ROWS = n + 1
        try:
            with Meter(conn) as m, conn.transaction():
                load_entries(conn, other_day, columns=other_day.columns)
        finally:
            entries_load.PARALLEL_MIN_ROWS = threshold
        print(m.line("copy-1conn", f"({n / m.wall:,.0f} rows/s wall; one backend)"))
        again = rows.with_columns(
            (pl.lit("87654321") + pl.col("trace_number").str.slice(8)).alias("trace_number")
        )
        with Meter(conn) as m, conn.transaction():
            load_entries(conn, again, columns=again.columns)
        path = "new parts of that day" if n >= threshold else "that day's live indexes"
        print(m.line("copy-live", f"({n / m.wall:,.0f} rows/s wall; {path})"))
        small_day = rows.with_columns(pl.lit(date(2026, 2, 26)).alias("effective_date"))
        with conn.transaction():
            load_entries(conn, small_day.head(1_000), columns=small_day.columns)
        with Meter(conn) as m, conn.transaction():
            load_entries(conn, small_day.slice(1_000), columns=small_day.columns)
        print(
            m.line(
                "copy-after-small",
                f"({(n - 1_000) / m.wall:,.0f} rows/s wall; a day whose first file was small)",
            )
        )

        i = pl.int_range(0, n, dtype=pl.Int64)
        named = rows.with_columns(
            (pl.lit("PAYEE ") + i.cast(pl.String)).str.pad_end(22).alias("individual_name"),
            (pl.lit("ID") + i.cast(pl.String).str.zfill(13)).alias("individual_id"),
            pl.lit(date(2026, 2, 25)).alias("effective_date"),
        )
        with Meter(conn) as m, conn.transaction():
            load_entries(conn, named, columns=named.columns)
        print(m.line("copy-named", f"({n / m.wall:,.0f} rows/s wall; names and IDs as in PPD)"))
        del named

        modifier = ledger.allocate_file_id_modifier(ORIGIN, DEST, day)
        with Meter(conn) as m:
            recorded = ledger.record_outbound_file(
                OutboundFile(
                    file_name="bench",
                    content=b"bench-1",
                    immediate_origin=ORIGIN,
                    immediate_destination=DEST,
                    creation_date=day,
                    file_id_modifier=modifier,
                ),
                batches,
                protected,
            )
        print(m.line("record", "(protected accounts given)"))

        batches2, entries2 = frames(n, day=date(2026, 3, 4), trace_base=0)
        modifier = ledger.allocate_file_id_modifier(ORIGIN, DEST, day)
        with Meter(conn) as m:
            ledger.record_outbound_file(
                OutboundFile(
                    file_name="bench2",
                    content=b"bench-2",
                    immediate_origin=ORIGIN,
                    immediate_destination=DEST,
                    creation_date=day,
                    file_id_modifier=modifier,
                ),
                batches2,
                entries2,
            )
        print(m.line("end-to-end", "(clear accounts: protect + record)"))

        links = list(
            zip(
                entries.get_column("trace_number").to_list(),
                [f"CLIENTID_{i:022d}" for i in range(n)],
                strict=True,
            )
        )
        size = "SELECT pg_relation_size('entries') / 1048576.0"
        before = conn.execute(size).fetchone()[0]
        with Meter(conn) as m:
            linked = RunQueries(conn).link_transfer_ids(recorded, links)
        grew = conn.execute(size).fetchone()[0] - before
        print(m.line("link", f"({linked:,} rows; the table grew {grew:,.0f} MB)"))


if __name__ == "__main__":
    main()
