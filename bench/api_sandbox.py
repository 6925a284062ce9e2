"""Figures for the connectFi client against the sandbox on loopback (not a test).

    python bench/api_sandbox.py [--transfers 2000]

Prints creates/s, the time to query every transfer by reference (chunks of 20) and to list
them all (pages of 1000). Numbers are noisy on a shared machine; run it once or twice.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, date, datetime

from pipeline.api import ApiSettings, ConnectFiClient, TransferRequest
from sandbox import Sandbox, SandboxClock


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transfers", type=int, default=2000)
    n = parser.parse_args().transfers
    clock = SandboxClock(datetime(2026, 3, 2, 14, 0, tzinfo=UTC))
    with Sandbox(clock=clock) as sb:
        settings = ApiSettings.from_mapping(
            {"base_url": sb.base_url, "client_id": sb.login, "client_secret": sb.password}
        )
        with ConnectFiClient(settings) as client:
            refs = [f"B{i:07d}" for i in range(n)]
            t0 = time.perf_counter()
            for ref in refs:
                client.create_transfer(
                    TransferRequest(
                        reference=ref,
                        amount_cents=1234,
                        effective_entry_date=date(2026, 3, 3),
                        sec_code="PPD",
                        individual_name="BENCH",
                        routing_number="053207766",
                        account_number="123456789",
                        account_type="Checking",
                        transaction_type="Debit",
                        company_entry_description="PAYROLL",
                    )
                )
            t1 = time.perf_counter()
            queried = client.query(references=refs)
            t2 = time.perf_counter()
            listed = client.list_transfers()
            t3 = time.perf_counter()
    assert queried.height == listed.height == n
    print(f"create: {n} transfers in {t1 - t0:.2f} s ({n / (t1 - t0):.0f}/s)")
    print(f"query:  {n} by reference in {-(-n // 20)} requests, {t2 - t1:.2f} s")
    print(f"list:   {n} in {-(-n // 1000)} page(s), {t3 - t2:.2f} s")


if __name__ == "__main__":
    main()
