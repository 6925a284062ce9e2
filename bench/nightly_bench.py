"""A full nightly run on N transfers (default 1,000,000): the time of each step.

    python bench/nightly_bench.py [--transfers N] [--pg postgresql://…/test] [--profile DIR]

Real components: a fresh database on the Postgres server, a real OpenSSH sshd on loopback (the
test fixture's), the sandbox's bank working on the sshd's tree. Night 1 runs collect, build,
seal, upload and verify on the N transfers; the sandbox bank then takes the upload (not timed:
it is the emulator's work, with an acknowledgment listing every entry and a day of returns);
night 2 runs fetch, ingest, reconcile, rates and report over everything. ``refresh`` (API
statuses) is timed separately and not counted: polling one API call per 20 transfers is the
emulator's limit, not the pipeline's. Target: the counted steps under 60 s.

Each step is printed with its wall seconds (as the run records them) and the CPU seconds of
this process (the pipeline plus the in-process sandbox; Postgres's and sshd's own CPU are not
included): on a shared machine the wall figure carries everyone else's load, the CPU figure
is the honest one. The CPU of the step's Postgres backends is read from /proc when the server
runs on this machine ("pg cpu"). ``--profile DIR`` writes a cProfile of each step. Run it
once or twice, not in a loop.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CENTRAL = ZoneInfo("America/Chicago")
DAY1, DAY2 = date(2026, 3, 2), date(2026, 3, 3)
COUNTED = (
    "collect",
    "build",
    "seal",
    "upload",
    "verify",
    "fetch",
    "ingest",
    "reconcile",
    "rates",
    "report",
)


def server_cpu(dbname: str) -> dict[int, float]:
    """CPU seconds so far of each Postgres backend serving ``dbname`` (pid → seconds), from
    /proc: the server's share of a step when it runs on this machine (empty otherwise)."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not title.startswith("postgres: ") or f" {dbname} " not in title:
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        found[int(proc.name)] = (int(fields[11]) + int(fields[12])) / tick
    return found


def transfers(n: int, day: date) -> pl.DataFrame:
    """N transfers in connectFi create columns, built column-wise (no Python loop)."""
    i = pl.int_range(0, n, eager=True)
    routings = pl.Series(["011000015", "021000021", "026009593", "031000053", "053207766"])
    frame = pl.DataFrame({"i": i}).with_columns(
        reference=pl.lit(f"B{day:%y%m%d}") + pl.col("i").cast(pl.String).str.pad_start(8, "0"),
        cents=(pl.col("i") * 7919 % 250_000 + 500),
        debit=(pl.col("i") % 7 != 0),
    )
    frame = frame.with_columns(
        cents=pl.when(pl.col("cents") % 100 == 13).then(pl.col("cents") + 1).otherwise("cents")
    )
    return frame.select(
        "reference",
        clientCode=pl.lit("ACME"),
        effectiveEntryDate=pl.lit(""),
        standardEntryClassCode=pl.lit("PPD"),
        individualName=pl.lit("BENCH PAYEE ") + (pl.col("i") % 1000).cast(pl.String),
        routingNumber=routings.gather((i % 5).to_list()),
        DFIAccountNumber=(pl.col("i") * 104729 % 10**10 + 10**9).cast(pl.String),
        accountType=pl.lit("Checking"),
        transactionType=pl.when(pl.col("debit")).then(pl.lit("Debit")).otherwise(pl.lit("Credit")),
        amount=(pl.col("cents") // 100).cast(pl.String)
        + "."
        + (pl.col("cents") % 100).cast(pl.String).str.pad_start(2, "0"),
        currency=pl.lit("USD"),
        companyEntryDescription=pl.lit("PAYMENT"),
        identificationNumber=pl.col("reference"),
        paymentTypeCode=pl.lit(""),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=1_000_000)
    parser.add_argument(
        "--pg",
        default=os.environ.get("ACHPIPE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="write a cProfile of each step to DIR/<date>-<step>.prof",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the bench database and files afterwards (printed) to inspect them",
    )
    args = parser.parse_args()

    from pipeline.config import load_config
    from pipeline.demo import demo_config_text
    from pipeline.run import RunOptions
    from pipeline.run.wiring import open_nightly
    from sandbox import Sandbox, SandboxClock, Scenario
    from tests.fixtures.sshd import start_sshd

    base = Path(tempfile.mkdtemp(prefix="achpipe-bench-"))
    dbname = f"achpipe_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{dbname}"')
    url = args.pg.rsplit("/", 1)[0] + "/" + dbname
    sshd = start_sshd(base / "sshd")
    sandbox = None
    try:
        (base / "odfi").mkdir()
        (base / "odfi" / "sftp").symlink_to(sshd.root)
        (sshd.root / "outbound" / "archive").mkdir(parents=True, exist_ok=True)
        start = datetime.combine(DAY1, dtime(17, 0), tzinfo=CENTRAL).astimezone(UTC)
        sandbox = Sandbox(
            scenario=Scenario.demo(seed=1),
            clock=SandboxClock(start, frozen=True),
            odfi_dir=base / "odfi",
        ).start()
        info = sandbox.info()
        work = base / "work"
        for sub in ("secrets", "intake"):
            (work / sub).mkdir(parents=True, exist_ok=True)
        (work / "secrets" / "account.key").write_text(os.urandom(32).hex() + "\n")
        (work / "secrets" / "api-secret").write_text(info["api"]["client_secret"] + "\n")
        sftp = {
            "host": sshd.host,
            "port": sshd.port,
            "username": sshd.username,
            "private_key": str(sshd.client_key),
            "known_hosts": str(sshd.known_hosts),
            "upload_dir": "inbound",
            "inbound_dir": "outbound/ack",
            "archive_dir": "outbound/archive",
            "inbound_dirs": ("outbound/ack", "outbound/returns", "outbound/noc"),
        }
        config_path = work / "achpipe.toml"
        config_path.write_text(
            demo_config_text(workdir=work, info=info, sftp=sftp, database_url=url)
        )
        t = time.perf_counter()
        transfers(args.transfers, DAY1).write_csv(work / "intake" / f"transfers-{DAY1}.csv")
        transfers(0, DAY2).write_csv(work / "intake" / f"transfers-{DAY2}.csv")
        print(f"setup: {args.transfers:,} transfers written in {time.perf_counter() - t:.1f}s")
        config = load_config(config_path, env={})
        timings: dict[str, float] = {}
        cpus: dict[str, float] = {}
        servers: dict[str, float] = {}
        print(f"load average at start: {os.getloadavg()}")

        def night(day: date, steps: tuple[str, ...]) -> None:
            for step in steps:
                profiler = cProfile.Profile() if args.profile else None
                wall, cpu = time.perf_counter(), time.process_time()
                if profiler is not None:
                    profiler.enable()
                with open_nightly(config) as nightly:
                    before = server_cpu(dbname)
                    summary = nightly.execute(RunOptions(business_date=day, only=step))  # type: ignore[arg-type]
                    after = server_cpu(dbname)
                server = sum(v - before.get(pid, 0.0) for pid, v in after.items())
                if profiler is not None:
                    profiler.disable()
                    args.profile.mkdir(parents=True, exist_ok=True)
                    profiler.dump_stats(args.profile / f"{day}-{step}.prof")
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                doc = summary.to_json()
                s = next(x for x in doc["steps"] if x["step"] == step)
                timings[f"{day} {step}"] = s["seconds"]
                cpus[f"{day} {step}"] = cpu
                servers[f"{day} {step}"] = server
                detail = {k: v for k, v in s["detail"].items() if isinstance(v, int | float)}
                print(
                    f"  {day} {step:<10} {s['seconds']:8.2f}s wall {cpu:8.2f}s cpu"
                    f" {server:7.2f}s pg cpu ({wall:6.2f}s with open/close)  {detail}",
                    flush=True,
                )

        print("night 1")
        night(
            DAY1,
            (
                "collect",
                "build",
                "seal",
                "upload",
                "verify",
                "fetch",
                "ingest",
                "refresh",
                "reconcile",
                "rates",
                "report",
            ),
        )
        t = time.perf_counter()
        sandbox.set_clock(start + timedelta(minutes=30))
        sandbox.poll()
        sandbox.set_clock(datetime.combine(DAY2, dtime(17, 0), tzinfo=CENTRAL).astimezone(UTC))
        print(
            f"(bank: pickup, acknowledgment, returns: {time.perf_counter() - t:.1f}s, not counted)"
        )
        print("night 2")
        night(
            DAY2,
            (
                "collect",
                "build",
                "seal",
                "upload",
                "verify",
                "fetch",
                "ingest",
                "refresh",
                "reconcile",
                "rates",
                "report",
            ),
        )
        counted = sum(v for k, v in timings.items() if k.split()[1] in COUNTED)
        counted_cpu = sum(v for k, v in cpus.items() if k.split()[1] in COUNTED)
        counted_pg = sum(v for k, v in servers.items() if k.split()[1] in COUNTED)
        refresh = sum(v for k, v in timings.items() if k.endswith("refresh"))
        refresh_cpu = sum(v for k, v in cpus.items() if k.endswith("refresh"))
        print("per step, both nights (wall / cpu of this process / cpu of its Postgres backends):")
        for step in (*COUNTED, "refresh"):
            w = sum(v for k, v in timings.items() if k.split()[1] == step)
            c = sum(v for k, v in cpus.items() if k.split()[1] == step)
            g = sum(v for k, v in servers.items() if k.split()[1] == step)
            print(f"  {step:<10} {w:8.2f}s wall {c:8.2f}s cpu {g:7.2f}s pg cpu")
        print(
            f"total of counted steps: {counted:.1f}s wall, {counted_cpu:.1f}s cpu,"
            f" {counted_pg:.1f}s pg cpu (target < 60 s wall);"
            f" refresh: {refresh:.1f}s wall, {refresh_cpu:.1f}s cpu"
        )
        print(f"load average at end: {os.getloadavg()}")
    finally:
        if sandbox is not None:
            sandbox.stop()
        sshd.stop()
        if args.keep:
            print(f"database kept: {url}; files kept: {base}")
        else:
            with psycopg.connect(args.pg, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            shutil.rmtree(base, ignore_errors=True)  # a million-transfer run leaves ~1 GB


if __name__ == "__main__":
    main()
