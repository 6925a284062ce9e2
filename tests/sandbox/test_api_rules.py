"""The sandbox's documented API rules, checked with a plain HTTP client (no pipeline code)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import pytest

from sandbox import Scenario

CREATE = "/transfer-to/ach/create"
QUERY = "/transfer-to/ach/query"
LIST = "/transfer-to/ach/list"


class Api:
    def __init__(self, sb) -> None:
        self.sb = sb
        self.http = httpx.Client(base_url=sb.base_url, timeout=10)
        r = self.http.post(
            "/auth/get-token", json={"user": {"login": sb.login, "password": sb.password}}
        )
        assert r.status_code == 200 and r.json()["code"] == "0"
        self.token = r.json()["data"]["token"]

    def post(self, path: str, body: object) -> httpx.Response:
        return self.http.post(path, json=body, headers={"x-connectfi-token": self.token})

    def create(self, ref: str, **changes: object) -> httpx.Response:
        return self.post(CREATE, transfer(ref, **changes))


def transfer(ref: str, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "reference": ref,
        "effectiveEntryDate": "2026-03-03",
        "standardEntryClassCode": "WEB",
        "individualName": "John Smith",
        "routingNumber": "053207766",
        "DFIAccountNumber": "123456789",
        "accountType": "Checking",
        "transactionType": "Debit",
        "amount": 3.15,
        "currency": "USD",
        "companyEntryDescription": "PAYMENT",
    }
    body.update(changes)
    return body


@pytest.fixture
def api(sandbox_server):
    a = Api(sandbox_server)
    yield a
    a.http.close()


@pytest.fixture(scope="module")
def shared_api():
    """One sandbox for the stateless schema checks (refused requests store nothing)."""
    from sandbox import Sandbox, SandboxClock
    from tests.fixtures.sandbox import SANDBOX_START, SandboxHandle

    sb = Sandbox(clock=SandboxClock(SANDBOX_START)).start()
    a = Api(SandboxHandle(sb))
    yield a
    a.http.close()
    sb.stop()


def error(r: httpx.Response) -> tuple[int, str, dict]:
    body = r.json()
    assert body["requestId"] == r.headers["x-request-id"]
    return r.status_code, body["code"], body.get("context", {})


def test_success_envelope_has_string_code_and_request_id(api):
    r = api.create("ok1")
    body = r.json()
    assert r.status_code == 200 and body["code"] == "0"
    assert body["requestId"] == r.headers["x-request-id"]
    assert body["data"]["status"] == "Initiated"
    assert body["data"]["amount"] == 3.15
    assert body["data"]["dtsCreatedAt"] == "2026-03-02T14:00:00.000Z"


def test_request_id_from_the_body_is_echoed(api):
    r = api.post(QUERY, {"references": ["a"], "requestId": "abc123"})
    assert r.json()["requestId"] == "abc123" == r.headers["x-request-id"]


def test_21_ids_is_an_error_20_is_fine(api):
    ok = api.post(QUERY, {"cFiTransactionIds": [f"A_{i}" for i in range(20)]}).json()
    assert (ok["code"], ok["data"]) == ("0", [])
    status, code, ctx = error(api.post(QUERY, {"cFiTransactionIds": [f"A_{i}" for i in range(21)]}))
    assert (status, code, ctx["maxNumberOfRecords"]) == (400, "greaterMaximumNumberOfRecords", 20)


def test_21_copies_of_one_id_count_as_21(api):
    status, code, _ = error(api.post(QUERY, {"references": ["same"] * 21}))
    assert (status, code) == (400, "greaterMaximumNumberOfRecords")


def test_three_decimals_is_wrong_amount(api):
    assert error(api.create("amt1", amount=1.225))[:2] == (400, "wrongAmount")
    assert api.create("amt2", amount=1.2).json()["data"]["amount"] == 1.2
    assert api.create("amt3", amount=1).status_code == 200


@pytest.mark.parametrize("amount", [0, -1, "1.00", True])
def test_amount_must_be_a_positive_number(shared_api, amount):
    assert error(shared_api.create("amt9", amount=amount))[1] == "requestValidateError"


def test_duplicate_reference(api):
    first = api.create("dup1").json()["data"]
    status, code, ctx = error(api.create("dup1", amount=9.99))
    assert (status, code) == (400, "referenceExists")
    assert ctx == {"reference": "dup1", "entityId": first["cFiTransactionId"]}


def test_same_payload_different_reference_is_two_transfers(api):
    a = api.create("twin1").json()["data"]["cFiTransactionId"]
    b = api.create("twin2").json()["data"]["cFiTransactionId"]
    assert a != b


def test_mixing_ids_and_references(api):
    r = api.post(QUERY, {"cFiTransactionIds": ["A_1"], "references": ["r1"]})
    assert error(r)[:2] == (400, "transactionQuery")


def test_query_skips_unknown_and_lists_repeated_id_once(api):
    tid = api.create("q1").json()["data"]["cFiTransactionId"]
    data = api.post(QUERY, {"cFiTransactionIds": [tid, "ACHPIPE_unknown", tid]}).json()["data"]
    assert [t["cFiTransactionId"] for t in data] == [tid]
    nobody = api.post(QUERY, {"references": ["nobody"]}).json()
    assert (nobody["code"], nobody["data"]) == ("0", [])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"references": []}, "/references"),
        ({"references": ["bad-ref"]}, "/references/0"),
        ({"cFiTransactionIds": ["x" * 37]}, "/cFiTransactionIds/0"),
        ({}, "/cFiTransactionIds"),
    ],
)
def test_query_schema(shared_api, body, field):
    status, code, ctx = error(shared_api.post(QUERY, body))
    assert (status, code, ctx["field"]) == (400, "requestValidateError", field)


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"accountType": "Brokerage"}, "/accountType", "enum"),
        ({"reference": "has space"}, "/reference", "pattern"),
        ({"reference": "r" * 33}, "/reference", "maxLength"),
        ({"individualName": "   "}, "/individualName", "minLength"),
        ({"individualName": "N" * 23}, "/individualName", "maxLength"),
        ({"routingNumber": "12345678"}, "/routingNumber", "pattern"),
        ({"routingNumber": "053207767"}, "/routingNumber", "abaCheckDigit"),
        ({"DFIAccountNumber": "1" * 18}, "/DFIAccountNumber", "maxLength"),
        ({"transactionType": "Push"}, "/transactionType", "enum"),
        ({"standardEntryClassCode": "XYZ"}, "/standardEntryClassCode", "enum"),
        ({"surprise": 1}, "/surprise", "additionalProperties"),
        ({"effectiveEntryDate": "03/03/2026"}, "/effectiveEntryDate", "pattern"),
        ({"amount": 100000000}, "/amount", "maximum"),
    ],
)
def test_create_schema(shared_api, changes, field, rule):
    status, code, ctx = error(shared_api.create("s1", **changes))
    assert (status, code, ctx) == (400, "requestValidateError", {"field": field, "rule": rule})


def test_documented_example_routing_is_allowed(api):
    assert api.create("ex1", routingNumber="123456789").status_code == 200


def test_missing_field_and_bad_json(api):
    body = transfer("m1")
    del body["currency"]
    assert error(api.post(CREATE, body))[2] == {"field": "/currency", "rule": "required"}
    r = api.http.post(CREATE, content=b"{nope", headers={"x-connectfi-token": api.token})
    assert error(r)[:2] == (400, "requestValidateError")


def test_currency(api):
    assert error(api.create("c1", currency="EUR")) == (
        400,
        "currencyNotSupported",
        {"supportedCurrency": "USD"},
    )


def test_no_or_bad_token_is_401(sandbox_server):
    http = httpx.Client(base_url=sandbox_server.base_url)
    request = http.post
    r = request(QUERY, json={"references": ["a"]})
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    r = request(QUERY, json={"references": ["a"]}, headers={"x-connectfi-token": "forged"})
    assert r.status_code == 401
    r = request("/auth/get-token", json={"user": {"login": "ACHPIPE", "password": "nope"}})
    http.close()
    assert (r.status_code, r.json()["code"], r.json()["message"]) == (
        401,
        "unauthorized",
        "Authentication error",
    )


@pytest.mark.parametrize(
    ("now", "effective", "ok"),
    [
        # Monday 2026-03-02 (CST = UTC-6)
        ("2026-03-02T15:29:00Z", "2026-03-02", True),  # 09:29 CT same day
        ("2026-03-02T15:30:00Z", "2026-03-02", False),  # 09:30 CT: same-day cut-off passed
        ("2026-03-03T01:29:00Z", "2026-03-03", True),  # Mon 19:29 CT for Tuesday
        ("2026-03-03T01:30:00Z", "2026-03-03", False),  # Mon 19:30 CT for Tuesday
        ("2026-03-03T01:30:00Z", "2026-03-04", True),  # ...Wednesday is fine
        ("2026-03-02T14:00:00Z", "2026-02-27", False),  # past
        ("2026-03-07T18:00:00Z", "2026-03-09", True),  # Saturday for Monday (same-day window)
        ("2026-03-07T18:00:00Z", "2026-03-08", True),  # Sunday effective settles Monday
    ],
)
def test_effective_date_cutoffs(make_sandbox, now, effective, ok):
    start = datetime.fromisoformat(now.replace("Z", "+00:00"))
    sb = make_sandbox(start=start)
    api = Api(sb)
    r = api.create("eff1", effectiveEntryDate=effective)
    api.http.close()
    if ok:
        assert r.status_code == 200, r.json()
    else:
        assert error(r) == (400, "achEffectiveEntryDate", {"effectiveEntryDate": effective})


def test_validate_checks_but_does_not_store(api):
    r = api.post("/transfer-to/ach/validate", transfer("v1"))
    assert r.json()["data"]["status"] == "Initiated"
    assert api.post(QUERY, {"references": ["v1"]}).json()["data"] == []
    assert error(api.post("/transfer-to/ach/validate", transfer("v2", amount=1.001)))[1] == (
        "wrongAmount"
    )


def test_list_limits_order_and_more(api, sandbox_server):
    refs = []
    for i in range(5):
        refs.append(f"l{i}")
        api.create(f"l{i}")
        sandbox_server.advance(minutes=1)
    page = api.post(LIST, {"numberOfRecords": 2}).json()["data"]
    assert [t["reference"] for t in page["transactions"]] == ["l4", "l3"]
    assert page["more"] is True
    last = api.post(LIST, {"numberOfRecords": 2, "skipRecords": 4}).json()["data"]
    assert [t["reference"] for t in last["transactions"]] == ["l0"] and last["more"] is False
    assert error(api.post(LIST, {"numberOfRecords": 1001})) == (
        400,
        "greaterNumberOfRecords",
        {"maxNumberOfRecords": 1000},
    )
    assert error(api.post(LIST, {"numberOfRecords": 0}))[1] == "requestValidateError"
    assert (
        error(api.post(LIST, {"dateCreateFrom": "2026-03-05", "dateCreateTo": "2026-03-01"}))[1]
        == "badTimeFrameRequest"
    )
    assert api.post(LIST, {"reference": "l2"}).json()["data"]["transactions"][0]["reference"] == (
        "l2"
    )
    assert len(api.post(LIST, {}).json()["data"]["transactions"]) == 5


def test_lifecycle_follows_the_clock(api, sandbox_server):
    tid = api.create("life1").json()["data"]["cFiTransactionId"]
    declined = api.create("life2", amount=0.13).json()["data"]["cFiTransactionId"]

    def status(t: str) -> str:
        return api.post(QUERY, {"cFiTransactionIds": [t]}).json()["data"][0]["status"]

    assert status(tid) == "Initiated"
    sandbox_server.set_clock(datetime(2026, 3, 2, 15, 36, tzinfo=UTC))  # 09:36 CT: cut
    assert status(tid) == "Sent" and status(declined) == "Declined"
    sandbox_server.advance(minutes=15)
    assert status(tid) == "Complete"
    sandbox_server.set_clock(datetime(2026, 3, 3, 13, 31, tzinfo=UTC))  # Tue 07:31 CT
    obj = api.post(QUERY, {"cFiTransactionIds": [tid]}).json()["data"][0]
    assert obj["status"] == "Settled" and obj["settlementDate"] == "2026-03-03"
    assert obj["traceNumber"] and len(obj["traceNumber"]) == 15
    history = {
        t["reference"]: t["history"] for t in sandbox_server.admin("GET", "/sandbox/transfers")
    }
    assert [s for _, s in history["life1"]] == ["Initiated", "Sent", "Complete", "Settled"]


def test_magic_account_returns_after_settlement(api, sandbox_server):
    api.create("ret1", DFIAccountNumber="123456R03")
    api.create("noc1", DFIAccountNumber="1234567C01")
    sandbox_server.set_clock(datetime(2026, 3, 3, 14, 0, tzinfo=UTC))  # Tue: settled
    data = {
        t["reference"]: t for t in api.post(QUERY, {"references": ["ret1", "noc1"]}).json()["data"]
    }
    assert data["ret1"]["status"] == "Settled"
    sandbox_server.set_clock(datetime(2026, 3, 4, 12, 1, tzinfo=UTC))  # Wed 06:01 CT
    data = {
        t["reference"]: t for t in api.post(QUERY, {"references": ["ret1", "noc1"]}).json()["data"]
    }
    assert data["ret1"]["status"] == "Returned"
    assert data["ret1"]["returnCode"] == "R03"
    assert data["ret1"]["returnReason"].startswith("No account")
    assert data["noc1"]["status"] == "Settled" and data["noc1"]["nocCode"] == "C01"


def test_clock_endpoint_moves_forward_only(sandbox_server):
    api = Api(sandbox_server)
    api.create("c0", effectiveEntryDate="2026-03-04").raise_for_status()
    api.http.close()
    r = sandbox_server.admin("POST", "/sandbox/clock", {"advance": {"hours": 2}})
    assert r["now"] == "2026-03-02T16:00:00.000Z" and r["centralDate"] == "2026-03-02"
    r = sandbox_server.admin("POST", "/sandbox/clock", {"nextBankingDay": True, "at": "06:30"})
    assert r["now"] == "2026-03-03T12:30:00.000Z"
    back = httpx.post(
        sandbox_server.base_url + "/sandbox/clock", json={"now": "2026-01-01T00:00:00Z"}
    )
    assert back.status_code == 400


def test_scenario_outcomes_are_deterministic_by_seed():
    a = Scenario.demo(seed=7)
    b = Scenario.demo(seed=7)
    c = Scenario.demo(seed=8)
    refs = [f"T{i:05d}" for i in range(5000)]

    def fates(s: Scenario) -> list:
        return [s.outcome(reference=r, account_number="1", is_debit=True) for r in refs]

    assert fates(a) == fates(b)
    assert fates(a) != fates(c)
    codes = [f.code for f in fates(a) if f is not None]
    # 2 % R01, 0.4 % R10, 1 % R03, 0.5 % C01 of 5000 entries, within sampling noise
    assert 60 <= codes.count("R01") <= 140
    assert 5 <= codes.count("R10") <= 40
    assert 25 <= codes.count("R03") <= 80
    assert 8 <= codes.count("C01") <= 45
    credit = Scenario(references={"X1": "R01"}, returns=(("R01", 1.0),))
    assert credit.outcome(reference="X2", account_number="1", is_debit=False) is None
    assert credit.outcome(reference="X1", account_number="1", is_debit=False).code == "R01"


def test_return_rates_from_history(make_sandbox):
    sb = make_sandbox(scenario=Scenario(references={"rr0": "R10", "rr1": "R03"}))
    api = Api(sb)
    request_close = api.http.close
    for i in range(10):
        assert api.create(f"rr{i}").status_code == 200
    api.create("cr1", transactionType="Credit", DFIAccountNumber="999R10")  # credit: not counted
    sb.set_clock(datetime(2026, 3, 12, 14, 0, tzinfo=UTC))
    r = api.post("/transfer-to/ach/return-rates", {"date": "2026-03-12"}).json()["data"]
    assert len(r) == 1
    rec = r[0]
    assert rec["debitEntries"] == 10
    assert (rec["unauthorizedReturns"], rec["unauthorizedReturnRate"]) == (1, 10.0)
    assert (rec["administrativeReturns"], rec["administrativeReturnRate"]) == (1, 10.0)
    assert (rec["overallReturns"], rec["overallReturnRate"]) == (2, 20.0)
    assert rec["minDate"] == "2026-01-11" and rec["maxDate"] == "2026-03-11"
    # R03 came back Wed 03-04 -> counted from 03-05; R10 (extended) on Tue 03-10 -> from 03-11
    assert rec["administrativeDaysOutOfCompliance"] == 8
    assert rec["unauthorizedDaysOutOfCompliance"] == 2
    everything = api.post("/transfer-to/ach/return-rates", {}).json()["data"]
    assert [x["date"] for x in everything][:2] == ["2026-03-12", "2026-03-11"]
    assert everything == sorted(everything, key=lambda x: x["maxDate"], reverse=True)
    missing = api.post("/transfer-to/ach/return-rates", {"date": "2026-04-01"})
    assert error(missing) == (
        400,
        "returnRateNotFound",
        {"cFiAggregatorId": "ACHPIPE", "date": "2026-04-01"},
    )
    request_close()


def test_calendar_matches_the_spec_table():
    from sandbox.calendar import fed_holidays, is_banking_day

    assert sorted(fed_holidays(2026)) == [
        date(2026, 1, 1),
        date(2026, 1, 19),
        date(2026, 2, 16),
        date(2026, 5, 25),
        date(2026, 6, 19),
        date(2026, 9, 7),
        date(2026, 10, 12),
        date(2026, 11, 11),
        date(2026, 11, 26),
        date(2026, 12, 25),
    ]
    assert date(2027, 7, 5) in fed_holidays(2027)  # Sunday Jul 4 -> Monday
    assert is_banking_day(date(2027, 12, 24))  # Saturday Dec 25 closes nothing
    assert not is_banking_day(date(2028, 1, 1))


def test_packaged_demo_scenario_is_the_issue_world():
    from pathlib import Path

    import sandbox

    path = Path(sandbox.__file__).parent / "scenarios" / "demo.toml"
    assert Scenario.load(path, seed=7) == Scenario.demo(seed=7)


def test_clock_can_be_rebased_only_before_anything_happened(sandbox_server):
    early = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
    sandbox_server.set_clock(early)  # pristine: allowed
    assert sandbox_server.clock.now() == early
    api = Api(sandbox_server)
    api.create("first", effectiveEntryDate="2026-01-06").raise_for_status()
    api.http.close()
    with pytest.raises(ValueError, match="backwards"):
        sandbox_server.set_clock(datetime(2026, 1, 1, tzinfo=UTC))


def test_concurrent_creates_lose_nothing(api, sandbox_server):
    import threading

    failures: list[int] = []

    def worker(n: int) -> None:
        with httpx.Client(base_url=sandbox_server.base_url, timeout=30) as http:
            for i in range(15):
                r = http.post(
                    CREATE, json=transfer(f"t{n}x{i}"), headers={"x-connectfi-token": api.token}
                )
                if r.status_code != 200:
                    failures.append(r.status_code)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    listed = api.post(LIST, {}).json()["data"]["transactions"]
    assert len({t["cFiTransactionId"] for t in listed}) == 60
    assert len({t["reference"] for t in listed}) == 60


@pytest.mark.parametrize("request_id", ["<script>", "   ", "x" * 33])
def test_get_token_request_id_rules(sandbox_server, request_id):
    r = httpx.post(
        sandbox_server.base_url + "/auth/get-token",
        json={
            "user": {"login": sandbox_server.login, "password": sandbox_server.password},
            "requestId": request_id,
        },
        timeout=10,
    )
    assert (r.status_code, r.json()["code"]) == (400, "requestValidateError")
    assert r.json()["context"]["field"] == "/requestId"


def test_same_day_entry_settles_the_same_day(api, sandbox_server):
    tid = api.create("sd1", effectiveEntryDate="2026-03-02").json()["data"]["cFiTransactionId"]
    sandbox_server.set_clock(datetime(2026, 3, 2, 18, 1, tzinfo=UTC))  # 12:01 CT
    obj = api.post(QUERY, {"cFiTransactionIds": [tid]}).json()["data"][0]
    assert (obj["status"], obj["settlementDate"]) == ("Settled", "2026-03-02")
