"""End to end with the sandbox: our sealed NACHA file goes up over SFTP, the ODFI answers.

The originator side uses achpipe's own PGP (pipeline.pgp) and API client; the bank side is
the sandbox. Days pass on the sandbox clock: ack on pickup, return and NOC files later,
each entry pointing at a trace number of the uploaded file, and the API agreeing.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import paramiko

import nacha
from pipeline.api import ApiSettings, ConnectFiClient
from pipeline.keys import load_key
from pipeline.pgp import seal, unseal
from sandbox import Scenario
from tests.sandbox.odfi_files import Item, forward_file

ITEMS = [
    Item("PAY0001", 12_345),
    Item("PAY0002", 50_000, account="44556677"),  # -> NOC C01
    Item("PAY0003", 9_999),  # -> R03
    Item("PAY0004", 100, code="22"),  # credit, settles
]


def sftp_session(sb) -> tuple[paramiko.SSHClient, paramiko.SFTPClient]:
    client = paramiko.SSHClient()
    client.load_host_keys(str(sb.paths["ssh_known_hosts"]))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        sb.host,
        port=sb.sftp_port,
        username="originator",
        key_filename=str(sb.paths["ssh_client_key"]),
        allow_agent=False,
        look_for_keys=False,
        timeout=10,
    )
    return client, client.open_sftp()


def fetch_all(sftp: paramiko.SFTPClient, directory: str) -> dict[str, bytes]:
    out = {}
    for name in sorted(sftp.listdir(directory)):
        with sftp.open(f"{directory}/{name}", "rb") as fh:
            out[name] = fh.read()
    return out


def test_upload_ack_returns_nocs_and_api_agree(make_sandbox, tmp_path):
    scenario = Scenario(references={"PAY0002": "C01", "PAY0003": "R03"})
    handle = make_sandbox(scenario=scenario, odfi_dir=tmp_path / "odfi", sftp_port=0)
    sb = handle.sandbox
    ours = load_key(sb.paths["originator_secret_key"], require_secret=True)
    bank = load_key(sb.paths["bank_public_key"])

    forward = forward_file(ITEMS, creation_date="260302", effective="260303")
    sealed = seal(forward, signer=ours, recipients=[bank], self_test_key=None)
    ssh, sftp = sftp_session(sb)
    try:
        with sftp.open("/inbound/ACME_20260302_080000_A.ach.pgp.part", "wb") as fh:
            fh.write(sealed)
        sftp.rename(
            "/inbound/ACME_20260302_080000_A.ach.pgp.part",
            "/inbound/ACME_20260302_080000_A.ach.pgp",
        )

        handle.admin("POST", "/sandbox/clock", {"advance": {"minutes": 30}})  # picked up
        [(ack_name, ack_sealed)] = fetch_all(sftp, "/outbound/ack").items()
        assert ack_name.startswith("ACK_ACME_20260302_080000_A.ach_")
        ack_open = unseal(ack_sealed, key=ours, verify_with=[bank])
        assert ack_open.signed_by is not None and ack_open.was_encrypted
        ack = json.loads(ack_open.plaintext)
        assert ack["status"] == "ACCEPTED"
        assert ack["totalDebit"] == 12_345 + 50_000 + 9_999 and ack["totalCredit"] == 100
        ids = {t["reference"]: t["cFiTransactionId"] for t in ack["transactions"]}

        client = ConnectFiClient(ApiSettings.from_mapping(handle.api_section()))
        statuses = client.query(references=list(ids))
        assert set(statuses["status"]) == {"Complete"}
        assert dict(zip(statuses["reference"], statuses["cfi_transaction_id"], strict=True)) == ids

        # Wednesday 06:30 Central: settlement happened Tuesday, returns/NOCs due today
        handle.set_clock(datetime(2026, 3, 4, 12, 30, tzinfo=UTC))
        returns = fetch_all(sftp, "/outbound/returns")
        nocs = fetch_all(sftp, "/outbound/noc")
    finally:
        sftp.close()
        ssh.close()
    assert list(returns) == ["RETURN_20260304_1.ach.pgp"]
    assert list(nocs) == ["NOC_20260304_1.ach.pgp"]
    ret = nacha.read(
        unseal(returns["RETURN_20260304_1.ach.pgp"], key=ours, verify_with=[bank]).plaintext
    )
    cor = nacha.read(unseal(nocs["NOC_20260304_1.ach.pgp"], key=ours, verify_with=[bank]).plaintext)
    sent = nacha.read(forward).entries
    trace_of = dict(
        zip(sent["identification_number"].str.strip_chars(), sent["trace_number"], strict=True)
    )
    assert ret.returns["original_trace_number"].to_list() == [trace_of["PAY0003"]]
    assert ret.returns["return_reason_code"].to_list() == ["R03"]
    assert cor.nocs["original_trace_number"].to_list() == [trace_of["PAY0002"]]
    assert cor.nocs["change_code"].to_list() == ["C01"]
    corrected = cor.nocs["corrected_data"][0].strip()
    assert corrected.isdigit() and corrected != "44556677"

    api = client.query(references=list(ids)).sort("reference")
    client.close()
    rows = {r["reference"]: r for r in api.iter_rows(named=True)}
    assert rows["PAY0003"]["status"] == "Returned" and rows["PAY0003"]["return_code"] == "R03"
    assert rows["PAY0003"]["trace_number"] == trace_of["PAY0003"]
    assert rows["PAY0002"]["status"] == "Settled" and rows["PAY0002"]["noc_code"] == "C01"
    assert rows["PAY0002"]["noc_corrected_data"] == corrected
    assert rows["PAY0001"]["status"] == rows["PAY0004"]["status"] == "Settled"
    assert rows["PAY0001"]["settlement_date"] == date(2026, 3, 3)
    assert api["amount_cents"].to_list() == [12_345, 50_000, 9_999, 100]
