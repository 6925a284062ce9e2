"""Benchmark: a valid 1,000,000-entry PPD file.

Prints CPU seconds (summed over polars' threads), wall seconds and peak RSS of (1) writing
it from frames with ``nacha.assemble`` (controls, hashes, padding computed) and (2) parse +
full validation with ``nacha.read`` + ``nacha.validate`` (every field format, all batch and
file totals, trace and SEC rules), each in a fresh child process so the peak RSS is its own,
and (3) the extra time to materialise the ``entries`` frame (the validator does not need it).

Targets on the 2-core reference machine: parse+validate < 0.5 s and < 300 MiB; write < 0.6 s.
Figures are noisy when the machine is shared: run it once or twice, not in a loop.

    python bench/nacha_bench.py [--entries N] [--batches B]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

import nacha  # noqa: E402

ODFI = "12345678"
ROUTINGS = ["02100002", "05320776", "07100001", "12200066", "26100927", "11100002"]


def frames(n_entries: int, n_batches: int) -> tuple[dict[str, object], pl.DataFrame, pl.DataFrame]:
    header = {
        "immediate_destination": "123456780",
        "immediate_origin": "1234567890",
        "file_creation_date": "260306",
        "file_creation_time": "2300",
        "file_id_modifier": "A",
        "immediate_destination_name": "FIRST EXAMPLE BANK",
        "immediate_origin_name": "ACME",
    }
    batches = pl.DataFrame(
        {"batch_number": pl.int_range(1, n_batches + 1, eager=True)}
    ).with_columns(
        pl.lit("225").alias("service_class_code"),
        pl.lit("ACME GYMS").alias("company_name"),
        pl.lit("1234567890").alias("company_id"),
        pl.lit("PPD").alias("sec_code"),
        pl.lit("DUES").alias("company_entry_description"),
        pl.lit("260309").alias("effective_entry_date"),
        pl.lit("1").alias("originator_status_code"),
        pl.lit(ODFI).alias("odfi_id"),
    )
    per = -(-n_entries // n_batches)
    i = pl.int_range(0, n_entries, eager=True)
    routing = pl.Series(ROUTINGS)
    entries = pl.DataFrame({"i": i}).with_columns(
        (pl.col("i") // per + 1).alias("batch_number"),
        pl.lit("27").alias("transaction_code"),
        pl.lit(routing).gather(pl.col("i") % len(ROUTINGS)).alias("rdfi_id"),
        (pl.col("i") * 7919 % 10**12).cast(pl.String).alias("dfi_account_number"),
        (pl.col("i") % 50_000 + 100).alias("amount"),
        pl.concat_str(pl.lit("MBR"), pl.col("i").cast(pl.String)).alias("identification_number"),
        pl.lit("JANE Q PUBLIC").alias("individual_name"),
        pl.concat_str(pl.lit(ODFI), (pl.col("i") + 1).cast(pl.String).str.pad_start(7, "0")).alias(
            "trace_number"
        ),
    )
    digits = {r: nacha.routing_check_digit(r) for r in ROUTINGS}
    entries = entries.with_columns(
        pl.col("rdfi_id").replace_strict(digits, return_dtype=pl.String).alias("check_digit")
    ).drop("i")
    return header, batches, entries


CHILD = """
import json, sys, time
sys.path.insert(0, {root!r})
import polars as pl
import nacha

def hwm():
    # VmHWM (peak RSS) of this process image; ru_maxrss survives execve on Linux
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0

base = hwm()
c0 = time.process_time()
t0 = time.perf_counter()
f = nacha.read({path!r})
t1 = time.perf_counter()
issues = nacha.validate(f)
t2 = time.perf_counter()
cpu = time.process_time() - c0
peak = hwm()
n = f.entries.height
t3 = time.perf_counter()
print(json.dumps(dict(read=t1 - t0, validate=t2 - t1, entries=t3 - t2, n=n, cpu=cpu,
                      errors=int((issues["severity"] == "error").sum()),
                      peak_kib=peak, base_kib=base)))
"""


WRITE_CHILD = """
import json, sys, time
sys.path.insert(0, {root!r})
sys.path.insert(0, {bench!r})
import nacha
from nacha_bench import frames, hwm

header, batches, entries = frames({n}, {b})
base = hwm()
c0 = time.process_time()
t0 = time.perf_counter()
data = nacha.assemble(file_header=header, batches=batches, entries=entries)
wall = time.perf_counter() - t0
cpu = time.process_time() - c0
open({path!r}, "wb").write(data)
print(json.dumps(dict(wall=wall, cpu=cpu, size=len(data), peak_kib=hwm(), base_kib=base)))
"""


def hwm() -> int:
    """VmHWM (peak RSS, KiB) of this process."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def _child(code: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--batches", type=int, default=100)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ppd.ach")
        w = _child(
            WRITE_CHILD.format(
                root=str(ROOT),
                bench=str(ROOT / "bench"),
                n=args.entries,
                b=args.batches,
                path=path,
            )
        )
        r = _child(CHILD.format(root=str(ROOT), path=path))
    print(
        f"write {args.entries:,} entries from frames (assemble): CPU {w['cpu']:.3f} s "
        f"(summed over threads), wall {w['wall']:.3f} s, peak RSS {w['peak_kib'] / 1024:.0f} "
        f"MiB (frames built before: {w['base_kib'] / 1024:.0f} MiB); "
        f"{w['size'] / 2**20:.0f} MiB written"
    )
    assert r["errors"] == 0 and r["n"] == args.entries, r
    print(
        f"parse + full validation: CPU {r['cpu']:.3f} s (summed over threads), wall "
        f"{r['read'] + r['validate']:.3f} s (read {r['read']:.3f} s, validate "
        f"{r['validate']:.3f} s), 0 errors"
    )
    print(
        f"peak RSS {r['peak_kib'] / 1024:.0f} MiB (interpreter+polars import "
        f"{r['base_kib'] / 1024:.0f} MiB, so {(r['peak_kib'] - r['base_kib']) / 1024:.0f} MiB "
        "for the file)"
    )
    print(f"materialising the entries frame (all fields) afterwards: {r['entries']:.3f} s")
    print(
        f"load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
        "(wall figures are noisy on a shared machine; CPU seconds are the steadier figure)"
    )


if __name__ == "__main__":
    main()
