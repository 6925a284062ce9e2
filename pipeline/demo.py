"""``achpipe demo``: the whole nightly cycle on one machine, with no bank, in well under a minute.

What it does, in order:

1. makes a working directory (printed) with an ``achpipe.toml`` that points at everything
   below — the configuration a newcomer can read and reuse;
2. starts the sandbox in this process: the connectFi-style API on a loopback port, the ODFI
   behind an SFTP server (paramiko), and their keys (the bank's PGP key pair, the
   originator's key pair, SSH host and client keys);
3. for each demo banking day writes the originator's transfers for that day (connectFi
   create-call columns; a few accounts carry the sandbox's magic suffixes so returns and
   NOCs surely come back) and runs the real nightly run for that date against the embedded
   Postgres in the working directory: build, seal, upload, verify, fetch, ingest, refresh,
   reconcile, rates, report — then lets the sandbox bank pick the upload up;
4. runs a few more nights without new transfers so late returns and NOCs arrive, are
   ingested exactly once and show up in the reports;
5. prints where the finance and compliance reports are.

The sandbox clock is driven explicitly (frozen between moves), so a demo is reproducible:
same seed, same files, same returns.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import tempfile
import time as walltime
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from nacha.build_input import TRANSFER_COLUMNS
from nacha.calendar import FED_CALENDAR
from pipeline.config import load_config
from pipeline.run import RunOptions, RunSummary, StepFailed

CENTRAL = ZoneInfo("America/Chicago")
DEMO_START = date(2026, 3, 2)  # a Monday; any banking day works
ROUTINGS = (
    "011000015",
    "021000021",
    "026009593",
    "031000053",
    "053207766",
    "111000025",
    "122000247",
)
NAMES = (
    "ALICE MARTIN",
    "BOB NGUYEN",
    "CAROL DIAZ",
    "DAVID OKAFOR",
    "ERIN KOWALSKI",
    "FRANK ROSSI",
    "GRACE LEE",
    "HENRY SMITH",
    "IRENE COHEN",
    "JAMAL WRIGHT",
)
# Magic account suffixes the sandbox honours (connectfi-ach.md §10): these entries surely
# come back as returns/NOCs, on top of the scenario's seeded rates.
MAGIC = ("R01", "R03", "C01", "C02", "C05")
INTAKE_COLUMNS = TRANSFER_COLUMNS


@dataclass
class DemoResult:
    workdir: Path
    config_path: Path
    reports_dir: Path | None
    summaries: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def demo_days(start: date, sending: int, closing: int) -> tuple[list[date], list[date]]:
    """``sending`` banking days from ``start`` with new transfers, then ``closing`` more."""
    days: list[date] = []
    d = start if FED_CALENDAR.is_banking_day(start) else FED_CALENDAR.next_banking_day(start)
    while len(days) < sending + closing:
        days.append(d)
        d = FED_CALENDAR.next_banking_day(d)
    return days[:sending], days[sending:]


def generate_transfers(day: date, count: int, *, seed: int) -> pl.DataFrame:
    """A day's transfers in connectFi ``/transfer-to/ach/create`` columns (amounts as text).

    ``identificationNumber`` carries the reference so the bank (and the API) can name each
    entry after it. Deterministic for (day, count, seed).
    """
    import random

    rng = random.Random(f"{seed}-{day.isoformat()}")
    rows: list[dict[str, str]] = []
    for i in range(count):
        reference = f"D{day:%y%m%d}{i:05d}"
        debit = rng.random() < 0.85
        sec = rng.choice(("PPD", "PPD", "PPD", "CCD", "WEB")) if debit else "PPD"
        account = f"{rng.randrange(10**8, 10**10)}"
        if i < len(MAGIC) and day.day % 2 == i % 2:
            account = account[:-3] + MAGIC[i]
        cents = rng.randrange(500, 250_000)
        if cents % 100 == 13:  # the sandbox declines $x.13: keep the demo about returns
            cents += 1
        rows.append(
            {
                "reference": reference,
                "clientCode": "ACME",
                "effectiveEntryDate": "",
                "standardEntryClassCode": sec,
                "individualName": rng.choice(NAMES) if sec != "CCD" else "NORTHWIND TRADERS",
                "routingNumber": rng.choice(ROUTINGS),
                "DFIAccountNumber": account,
                "accountType": rng.choice(("Checking", "Checking", "Savings")),
                "transactionType": "Debit" if debit else "Credit",
                "amount": f"{cents // 100}.{cents % 100:02d}",
                "currency": "USD",
                "companyEntryDescription": "PAYMENT",
                "identificationNumber": reference,
                "paymentTypeCode": "S" if sec == "WEB" else "",
            }
        )
    return pl.DataFrame(rows, schema=dict.fromkeys(INTAKE_COLUMNS, pl.String))


def _toml_str(value: str | Path) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def demo_config_text(
    *,
    workdir: Path,
    info: dict[str, Any],
    sftp: dict[str, Any] | None = None,
    database_url: str | None = None,
    api_overrides: str = "",
) -> str:
    """The demo's achpipe.toml: the sample originator, the sandbox's endpoints and keys.

    ``sftp`` (host, port, username, private_key, known_hosts) replaces the sandbox's own SFTP
    server (the end-to-end tests use a real OpenSSH sshd); ``database_url`` replaces the
    embedded Postgres.
    """
    api, odfi = info["api"], info["odfi"]
    sftp = sftp or info["sftp"]
    dirs = sftp.get("inbound_dirs", (odfi["ack_dir"], odfi["returns_dir"], odfi["noc_dir"]))
    inbound_dirs = ", ".join(_toml_str(d) for d in dirs)
    database = (
        f"url = {_toml_str(database_url)}"
        if database_url
        else "# No url: the embedded Postgres under this directory.\n"
        f"embedded_dir = {_toml_str(workdir / 'db')}"
    )
    return f"""# achpipe demo configuration (written by `achpipe demo`; everything is local).
[originator]
immediate_origin = "1234567890"
immediate_origin_name = "ACME PAYMENTS INC"
odfi_routing = "{odfi["routing"]}"
reference_code = "ACHPIPE"

[odfi]
immediate_destination = "{odfi["routing"]}"
immediate_destination_name = "SANDBOX BANK"
timezone = "America/Chicago"
same_day_cutoff = "09:30"
next_day_cutoff = "19:30"

[[companies]]
client_code = "ACME"
company_name = "ACME PAYMENTS"
company_id = "1234567890"
default = true

[build]
service_class_mode = "mixed"
effective_date_policy = "roll"

[database]
{database}

[security]
account_key = {_toml_str("file:" + str(workdir / "secrets" / "account.key"))}

[pgp]
our_key = {_toml_str(odfi["originator_secret_key"])}
bank_key = {_toml_str(odfi["bank_public_key"])}
compression = "zip"

[sftp]
host = "{sftp["host"]}"
port = {sftp["port"]}
username = "{sftp["username"]}"
private_key = {_toml_str(sftp["private_key"])}
known_hosts = {_toml_str(sftp["known_hosts"])}
upload_dir = "{sftp.get("upload_dir", odfi["upload_dir"])}"
inbound_dir = "{sftp.get("inbound_dir", odfi["ack_dir"])}"
archive_dir = "{sftp.get("archive_dir", "/outbound/archive")}"
retries = 2
backoff_initial = 0.2

[api]
base_url = "{api["base_url"]}"
client_id = "{api["client_id"]}"
client_secret = {_toml_str("file:" + str(workdir / "secrets" / "api-secret"))}
{api_overrides}

[run]
transfers_source = "file"
transfers_file = {_toml_str(workdir / "intake" / "transfers-{date}.csv")}
inbound_dirs = [{inbound_dirs}]
break_threshold = 0

[paths]
data_dir = {_toml_str(workdir / "data")}

[logging]
format = "json"
level = "warning"
"""


def prepare_workdir(workdir: Path | None) -> Path:
    """A fresh directory for the demo; traversable (0755) so the embedded Postgres, which
    runs as a system user when achpipe runs as root, can reach its data inside it."""
    if workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix="achpipe-demo-"))
    elif workdir.exists() and any(workdir.iterdir()):
        raise FileExistsError(f"{workdir} is not empty; choose a new directory")
    workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o755)
    for sub in ("secrets", "intake"):
        (workdir / sub).mkdir(exist_ok=True)
    (workdir / "secrets").chmod(0o700)
    return workdir


def run_demo(
    workdir: Path | None = None,
    *,
    sending_days: int = 3,
    closing_days: int = 2,
    per_day: int = 200,
    seed: int = 7,
    start: date = DEMO_START,
    database_url: str | None = None,
    echo: Callable[[str], None] = print,
) -> DemoResult:
    """Run the demo (see the module docstring); returns where everything is."""
    from sandbox import Sandbox, SandboxClock, Scenario

    started = walltime.perf_counter()
    # The in-process SFTP server logs every client disconnect as an error: not news here.
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    workdir = prepare_workdir(workdir)
    echo(f"achpipe demo in {workdir}")
    key = secrets.token_bytes(32)
    (workdir / "secrets" / "account.key").write_text(key.hex() + "\n")
    send, close = demo_days(start, sending_days, closing_days)
    first_morning = datetime.combine(send[0], time(8, 0), tzinfo=CENTRAL).astimezone(UTC)
    sandbox = Sandbox(
        scenario=Scenario.demo(seed=seed),
        clock=SandboxClock(first_morning, frozen=True),
        odfi_dir=workdir / "sandbox",
        sftp_port=0,
    )
    result = DemoResult(workdir=workdir, config_path=workdir / "achpipe.toml", reports_dir=None)
    with sandbox:
        info = sandbox.info()
        # Where fetched bank files are moved once recorded ([sftp] archive_dir).
        (Path(info["odfi"]["root"]) / "outbound" / "archive").mkdir(parents=True, exist_ok=True)
        (workdir / "secrets" / "api-secret").write_text(info["api"]["client_secret"] + "\n")
        result.config_path.write_text(
            demo_config_text(workdir=workdir, info=info, database_url=database_url)
        )
        echo(
            f"sandbox: API {info['api']['base_url']}, SFTP {info['sftp']['host']}:"
            f"{info['sftp']['port']}, "
            + ("your database" if database_url else f"embedded Postgres in {workdir / 'db'}")
        )
        env = {
            k: v
            for k, v in os.environ.items()
            if k != "DATABASE_URL" and not k.startswith("ACHPIPE_")
        }
        config = load_config(result.config_path, env=env)
        for day in [*send, *close]:
            evening = datetime.combine(day, time(17, 0), tzinfo=CENTRAL)
            sandbox.set_clock(evening.astimezone(UTC))
            intake = workdir / "intake" / f"transfers-{day.isoformat()}.csv"
            count = per_day if day in send else 0  # closing nights: an empty intake file
            generate_transfers(day, count, seed=seed).write_csv(intake)
            summary = _night(config, day)
            if os.environ.get("ACHPIPE_DEMO_TIMINGS"):
                echo(
                    "    " + ", ".join(f"{x['step']} {x['seconds']:.2f}s" for x in summary["steps"])
                )
            result.summaries.append(summary)
            echo(_one_line(summary))
            # After the run the bank picks the upload up (ack, API transfers); returns and
            # NOCs fall due on later mornings and are fetched by the next night's run.
            sandbox.set_clock((evening + timedelta(minutes=30)).astimezone(UTC))
            sandbox.poll()
        last = result.summaries[-1]
        reports = last.get("reports_dir")
        result.reports_dir = Path(reports) if reports else None
    result.seconds = walltime.perf_counter() - started
    return result


def _night(config: Any, day: date) -> dict[str, Any]:
    from pipeline.run.wiring import open_nightly

    options = RunOptions(business_date=day, job=config.typed("run").job)
    try:
        with open_nightly(config) as nightly:
            summary: RunSummary = nightly.execute(options)
    except StepFailed as exc:
        return exc.summary.to_json()
    return summary.to_json()


def _one_line(doc: dict[str, Any]) -> str:
    counts = {s["step"]: s.get("detail", {}) for s in doc.get("steps", [])}
    built = counts.get("build", {})
    ingest = counts.get("ingest", {})
    breaks = doc.get("breaks", {}).get("count", 0)
    return (
        f"  {doc['date']}: sent {built.get('entries', 0)} entries in {built.get('files', 0)} "
        f"file(s); received {ingest.get('acks', 0)} ack(s), {ingest.get('returns', 0)} "
        f"return(s), {ingest.get('nocs', 0)} NOC(s); breaks {breaks}; "
        f"exit {doc['exit_code']} ({doc['exit_reason']})"
    )


def cleanup(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
