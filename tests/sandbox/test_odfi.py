"""The sandbox ODFI: pickup, acknowledgment, rejection reasons, returns and NOCs as files."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

import nacha
from sandbox import Scenario, bankpgp
from sandbox.corrections import new_account
from tests.sandbox.odfi_files import Item, forward_file, seal_upload, unseal_download

MON_0800 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


@pytest.fixture
def bank(make_sandbox, tmp_path):
    scenario = Scenario(references={"INV1": "R01", "INV2": "C01", "INV4": "R10", "INV5": "C05"})
    handle = make_sandbox(scenario=scenario, odfi_dir=tmp_path / "odfi")
    return handle.sandbox


def upload(sb, name: str, content: bytes) -> None:
    (sb.paths["sftp_root"] / "inbound" / name).write_bytes(content)


def acks(sb) -> list[dict]:
    out = []
    for path in sorted((sb.paths["sftp_root"] / "outbound" / "ack").iterdir()):
        assert path.name.endswith(".json.pgp")
        out.append(json.loads(unseal_download(path.read_bytes(), sb)))
    return out


ITEMS = [
    Item("INV1", 1000),
    Item("INV2", 2500, account="22334455"),
    Item("INV3", 300, code="22"),
    Item("INV4", 4200),
    Item("INV5", 777, code="27"),
]


def test_accepted_upload_is_acknowledged_and_becomes_transfers(bank):
    upload(bank, "ACME_20260302_080000_A.ach.pgp", seal_upload(forward_file(ITEMS), bank))
    upload(bank, "ignored.ach.pgp.part", b"half a file")
    result = bank.poll()
    assert result["filesPickedUp"] == ["ACME_20260302_080000_A.ach.pgp"]
    [ack] = acks(bank)
    assert ack["status"] == "ACCEPTED" and ack["errors"] == []
    assert (ack["batchCount"], ack["entryAddendaCount"]) == (1, 5)
    assert (ack["totalDebit"], ack["totalCredit"]) == (1000 + 2500 + 4200 + 777, 300)
    assert [t["traceNumber"] for t in ack["transactions"]] == [
        f"09100001{n:07d}" for n in range(1, 6)
    ]
    assert [t["reference"] for t in ack["transactions"]] == ["INV1", "INV2", "INV3", "INV4", "INV5"]
    txs = {t.reference: t for t in bank.ledger.snapshot()}
    assert txs["INV1"].status == "Complete" and txs["INV1"].amount_cents == 1000
    assert txs["INV3"].transaction_type == "Credit"
    assert txs["INV1"].trace_number == "091000010000001"
    inbound = bank.paths["sftp_root"] / "inbound"
    assert sorted(p.name for p in inbound.iterdir()) == ["archive", "ignored.ach.pgp.part"]
    assert [p.name for p in (inbound / "archive").iterdir()] == [
        "20260302140000_ACME_20260302_080000_A.ach.pgp"
    ]


def test_returns_and_nocs_arrive_on_later_days_pointing_at_real_traces(bank):
    upload(bank, "ACME_A.ach.pgp", seal_upload(forward_file(ITEMS), bank))
    bank.poll()
    bank.set_clock(datetime(2026, 3, 3, 18, 0, tzinfo=UTC))  # Tue: settled, nothing due yet
    out = bank.paths["sftp_root"] / "outbound"
    assert list((out / "returns").iterdir()) == [] and list((out / "noc").iterdir()) == []
    assert {t.status for t in bank.ledger.snapshot()} == {"Settled"}
    result = bank.set_clock(datetime(2026, 3, 4, 12, 30, tzinfo=UTC))  # Wed 06:30 CT
    assert sorted(f for f in result["filesWritten"] if "/reports/" not in f) == [
        "outbound/noc/NOC_20260304_1.ach.pgp",
        "outbound/returns/RETURN_20260304_1.ach.pgp",
    ]
    ret_file = out / "returns" / "RETURN_20260304_1.ach.pgp"
    ret = nacha.read(unseal_download(ret_file.read_bytes(), bank))
    assert ret.returns["original_trace_number"].to_list() == ["091000010000001"]
    assert ret.returns["return_reason_code"].to_list() == ["R01"]
    assert ret.entries["transaction_code"].to_list() == ["26"]
    assert ret.entries["amount"].to_list() == [1000]
    assert ret.file_header["immediate_destination"][0] == "091000019"
    noc = nacha.read(unseal_download((out / "noc" / "NOC_20260304_1.ach.pgp").read_bytes(), bank))
    assert sorted(noc.nocs["change_code"].to_list()) == ["C01", "C05"]
    by_code = {r["change_code"]: r for r in noc.nocs.iter_rows(named=True)}
    assert by_code["C01"]["original_trace_number"] == "091000010000002"
    assert by_code["C01"]["corrected_data"].strip() == new_account("INV2", "22334455")
    assert by_code["C05"]["corrected_data"].strip() == "37"  # checking debit -> savings
    assert noc.batches["sec_code"].to_list() == ["COR"]
    assert set(noc.entries["amount"].to_list()) == {0}
    txs = {t.reference: t for t in bank.ledger.snapshot()}
    assert (txs["INV1"].status, txs["INV1"].return_code) == ("Returned", "R01")
    assert (txs["INV2"].status, txs["INV2"].noc_code) == ("Settled", "C01")
    assert txs["INV2"].noc_corrected_data == new_account("INV2", "22334455")
    assert txs["INV4"].status == "Settled"  # R10: extended window, later
    bank.set_clock(datetime(2026, 3, 10, 12, 30, tzinfo=UTC))  # 5 banking days after 03-03
    assert txs["INV4"].status == "Returned" and txs["INV4"].return_code == "R10"
    assert (out / "returns" / "RETURN_20260310_1.ach.pgp").exists()


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (lambda sb: forward_file([Item("X1", 5)]), "notEncrypted"),  # plain upload, .pgp name
        (
            lambda sb: bankpgp.seal(
                forward_file([Item("X1", 5)]),
                signer=bankpgp.generate_key("Mallory", "m@x.invalid"),
                recipient=bankpgp.load_key(sb.paths["bank_public_key"]),
            ),
            "signatureInvalid",
        ),
        (
            lambda sb: bankpgp.seal(
                forward_file([Item("X1", 5)]),
                signer=bankpgp.load_key(sb.paths["originator_secret_key"]),
                recipient=bankpgp.generate_key("Other", "o@x.invalid"),
            ),
            "decryptError",
        ),
        (
            lambda sb: seal_upload(forward_file([Item("X1", 5)], destination="053207766"), sb),
            "wrongDestination",
        ),
        (lambda sb: seal_upload(b"this is not a NACHA file\n", sb), None),
    ],
)
def test_rejections_name_the_reason_and_create_nothing(bank, content, code):
    upload(bank, "bad.ach.pgp", content(bank))
    bank.poll()
    [ack] = acks(bank)
    assert ack["status"] == "REJECTED"
    assert ack["errors"]
    if code is not None:
        assert code in [e["code"] for e in ack["errors"]]
    assert bank.ledger.snapshot() == []


def test_control_total_mismatch_rejects_the_whole_file(bank):
    lines = forward_file([Item("T1", 100), Item("T2", 200)]).decode().split("\n")
    lines = [
        line[:31] + "000000000999" + line[43:]
        if line.startswith("9") and not line.startswith("99")
        else line
        for line in lines
    ]
    upload(bank, "tampered.ach.pgp", seal_upload("\n".join(lines).encode(), bank))
    bank.poll()
    [ack] = acks(bank)
    assert ack["status"] == "REJECTED"
    assert ack["errors"] == [
        {
            "line": 6,
            "field": "total_debit_entry_dollar_amount",
            "code": "file.total_debit",
            "message": ack["errors"][0]["message"],
        }
    ]
    assert ack["totalDebit"] == 999  # the totals the file claims, for the person fixing it
    assert bank.ledger.snapshot() == []


def test_duplicate_file_and_scenario_rejection(make_sandbox, tmp_path):
    sb = make_sandbox(scenario=Scenario(reject_uploads=frozenset({3})), odfi_dir=tmp_path / "o")
    sb = sb.sandbox
    upload(sb, "one.ach.pgp", seal_upload(forward_file([Item("D1", 100)]), sb))
    sb.poll()
    upload(sb, "two.ach.pgp", seal_upload(forward_file([Item("D2", 100)]), sb))  # same A/date
    sb.poll()
    upload(sb, "three.ach.pgp", seal_upload(forward_file([Item("D3", 100)], modifier="B"), sb))
    sb.poll()
    upload(sb, "four.ach.pgp", seal_upload(forward_file([Item("D4", 100)], modifier="C"), sb))
    sb.poll()
    by_name = {a["fileName"]: a for a in acks(sb)}
    assert by_name["one.ach.pgp"]["status"] == "ACCEPTED"
    assert [e["code"] for e in by_name["two.ach.pgp"]["errors"]] == ["duplicateFile"]
    assert [e["code"] for e in by_name["three.ach.pgp"]["errors"]] == ["odfiRejected"]
    assert by_name["four.ach.pgp"]["status"] == "ACCEPTED"
    assert sorted(t.reference for t in sb.ledger.snapshot()) == ["D1", "D4"]


def test_reference_falls_back_when_identification_is_unusable(bank):
    items = [Item("SAME", 100), Item("SAME", 200), Item("has-dash", 300)]
    upload(bank, "f.ach.pgp", seal_upload(forward_file(items, modifier="Q"), bank))
    bank.poll()
    refs = [t["reference"] for t in acks(bank)[0]["transactions"]]
    assert refs == ["SAME", "F260302Q091000010000002", "F260302Q091000010000003"]


def test_daily_status_report_lists_the_days_changes(make_sandbox, tmp_path):
    bank = make_sandbox(
        start=datetime(2026, 11, 20, 14, 0, tzinfo=UTC), odfi_dir=tmp_path / "odfi"
    ).sandbox
    bank.set_clock(MON_0800)  # nothing happened yet: the world may start earlier
    upload(bank, "r.ach.pgp", seal_upload(forward_file(ITEMS), bank))
    bank.poll()
    bank.set_clock(datetime(2026, 3, 4, 12, 30, tzinfo=UTC))
    reports = bank.paths["sftp_root"] / "outbound" / "reports"
    assert sorted(p.name for p in reports.iterdir()) == [
        "STATUS_20260302.csv.pgp",
        "STATUS_20260303.csv.pgp",
    ]
    monday = unseal_download((reports / "STATUS_20260302.csv.pgp").read_bytes(), bank).decode()
    lines = monday.splitlines()
    assert lines[0].startswith("cFiTransactionId,reference,traceNumber,status")
    assert len(lines) == 1 + len(ITEMS)
    assert all(",Complete," in line for line in lines[1:])
    tuesday = unseal_download((reports / "STATUS_20260303.csv.pgp").read_bytes(), bank).decode()
    assert ",INV1,091000010000001,Settled,2026-03-03,2026-03-03,10.00,Debit," in tuesday


@pytest.mark.parametrize("code", [f"C{n:02d}" for n in range(1, 15) if n != 8])
def test_generated_corrected_data_parses_with_nacha(code):
    from nacha.corrections import parse_correction
    from sandbox.corrections import corrected_data

    field = corrected_data(
        code,
        reference="INV9",
        routing="053207766",
        account="22334455",
        transaction_code="27",
        individual_name="Jane Roe",
        identification_number="INV9",
        company_name="ACME PAYROLL",
        company_id="1234567890",
    )
    assert len(field) == 29
    parsed = parse_correction(code, field)
    assert parsed is not None


def test_injected_return_and_noc_for_a_trace_number(bank):
    import httpx

    upload(bank, "i.ach.pgp", seal_upload(forward_file([Item("J1", 700), Item("J2", 800)]), bank))
    bank.poll()
    bank.set_clock(datetime(2026, 3, 3, 18, 0, tzinfo=UTC))  # settled
    r = httpx.post(
        bank.base_url + "/sandbox/inject",
        json={"traceNumber": "091000010000002", "code": "R29"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert r.json()["filesWritten"][0].startswith("outbound/returns/RETURN_20260303_")
    result = bank.inject(reference="J1", code="C02")
    assert result["filesWritten"][0].startswith("outbound/noc/NOC_20260303_")
    txs = {t.reference: t for t in bank.ledger.snapshot()}
    assert (txs["J2"].status, txs["J2"].return_code) == ("Returned", "R29")
    assert txs["J1"].noc_code == "C02" and len(txs["J1"].noc_corrected_data) == 9
    bad = httpx.post(
        bank.base_url + "/sandbox/inject", json={"traceNumber": "999", "code": "R01"}, timeout=30
    )
    assert bad.status_code == 400 and "no transfer" in bad.json()["message"]
    forced = httpx.post(
        bank.base_url + "/sandbox/status",
        json={"reference": "J1", "status": "Declined"},
        timeout=30,
    )
    assert forced.json()["status"] == "Declined"


def test_resent_file_under_the_same_name_gets_its_own_ack(bank):
    bad = forward_file([Item("K1", 100)], destination="053207766")
    upload(bank, "same.ach.pgp", seal_upload(bad, bank))
    bank.poll()
    upload(bank, "same.ach.pgp", seal_upload(forward_file([Item("K1", 100)]), bank))
    bank.poll()  # same sandbox second: nothing may be overwritten
    names = sorted(p.name for p in (bank.paths["sftp_root"] / "outbound" / "ack").iterdir())
    assert names == [
        "ACK_same.ach_20260302140000-2.json.pgp",
        "ACK_same.ach_20260302140000.json.pgp",
    ]
    statuses = sorted(a["status"] for a in acks(bank))
    assert statuses == ["ACCEPTED", "REJECTED"]
    archive = bank.paths["sftp_root"] / "inbound" / "archive"
    assert len(list(archive.iterdir())) == 2
