"""The control helpers and seed keys tests and benchmarks use to shape the org."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from simple_salesforce import Salesforce

from integrations.sandbox.control import SandboxControlError
from integrations.sandbox.salesforce import control as sf
from integrations.sandbox.salesforce.demo import DEMO_COUNTS


def test_the_demo_org_has_its_seeded_volumes(api: Salesforce) -> None:
    for sobject, count in DEMO_COUNTS.items():
        assert api.query(f"SELECT COUNT() FROM {sobject}")["totalSize"] == count
    assert api.query("SELECT COUNT() FROM Lead WHERE Title LIKE '%Sales%'")["totalSize"] > 1000
    assert api.query("SELECT COUNT() FROM Lead WHERE AnnualRevenue > 1000000")["totalSize"] > 0
    assert api.query("SELECT COUNT() FROM User")["totalSize"] == 5


def test_the_demo_org_is_the_same_after_every_reset(sandbox: Any, api: Salesforce) -> None:
    before = api.query("SELECT Id, Email FROM Lead ORDER BY Id LIMIT 5")["records"]
    api.Lead.create({"LastName": "Extra", "Company": "Reset"})

    sandbox.control.reset()

    fresh = Salesforce(instance_url=sandbox.url, session_id=sf.issue_tokens(sandbox.state).access_token,
                       version="59.0", session=api.session)  # fmt: skip
    assert fresh.query("SELECT Id, Email FROM Lead ORDER BY Id LIMIT 5")["records"] == before
    assert fresh.query("SELECT COUNT() FROM Lead")["totalSize"] == DEMO_COUNTS["Lead"]


def test_the_generator_adds_100k_leads_in_a_few_seconds(sandbox: Any, api: Salesforce) -> None:
    started = time.perf_counter()
    created = sf.generate(sandbox.state, "Lead", 100_000)
    elapsed = time.perf_counter() - started

    assert len(created) == len(set(created)) == 100_000
    assert elapsed < 10, f"{elapsed:.1f}s"
    assert api.query("SELECT COUNT() FROM Lead")["totalSize"] == 103_000
    newest = api.query("SELECT Id FROM Lead ORDER BY SystemModstamp DESC LIMIT 1")["records"][0]
    assert newest["Id"] == created[-1]


def test_generated_records_can_share_seconds(sandbox: Any, api: Salesforce) -> None:
    start = sf.now(sandbox.state).replace(microsecond=0) + dt.timedelta(hours=1)

    sf.generate(sandbox.state, "Contact", 30, start=start, per_second=10)

    stamp = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert api.query(f"SELECT COUNT() FROM Contact WHERE SystemModstamp = {stamp}")["totalSize"] == 10
    assert api.query(f"SELECT COUNT() FROM Contact WHERE SystemModstamp >= {stamp}")["totalSize"] == 30


def test_the_seed_endpoint_applies_every_key(sandbox: Any, api: Salesforce) -> None:
    lead = api.query("SELECT Id FROM Lead LIMIT 1")["records"][0]["Id"]
    contact = api.query("SELECT Id FROM Contact LIMIT 1")["records"][0]["Id"]

    sandbox.control.seed("salesforce", {
        "api_limit": {"max": 5000, "remaining": 4000},
        "records": {"Lead": [{"LastName": "Seeded", "Company": "Seed Co", "SystemModstamp": "2026-01-02T03:04:05Z",
                              "CreatedDate": "2026-01-01T00:00:00.000+0000"}]},
        "generate": {"Account": 10, "Task": {"count": 5, "per_second": 5}},
        "update": {"Lead": [{"Id": lead, "Title": "Seeded title"}]},
        "delete": {"Contact": [contact]},
    })  # fmt: skip

    assert sf.api_usage(sandbox.state) == (1000, 5000)
    seeded = api.query("SELECT SystemModstamp, CreatedDate FROM Lead WHERE Company = 'Seed Co'")["records"][0]
    assert (seeded["SystemModstamp"], seeded["CreatedDate"]) == (
        "2026-01-02T03:04:05.000+0000", "2026-01-01T00:00:00.000+0000",
    )  # fmt: skip
    assert api.query("SELECT COUNT() FROM Account")["totalSize"] == DEMO_COUNTS["Account"] + 10
    assert api.Lead.get(lead)["Title"] == "Seeded title"
    assert api.query("SELECT COUNT() FROM Contact")["totalSize"] == DEMO_COUNTS["Contact"] - 1


def test_the_seed_endpoint_moves_the_clock_and_expires_sessions(sandbox: Any, admin_token: str) -> None:
    sandbox.control.seed("salesforce", {"clock": {"set": "2030-05-01T12:00:00Z"}})
    assert sf.now(sandbox.state).date() == dt.date(2030, 5, 1)
    sandbox.control.seed("salesforce", {"clock": {"advance_seconds": 86400}})
    assert sf.now(sandbox.state).date() == dt.date(2030, 5, 2)

    fresh = sf.issue_tokens(sandbox.state)
    sandbox.control.seed("salesforce", {"expire_access_tokens": True, "org_api_enabled": False})

    with sandbox.state.lock:
        assert sf.store(sandbox.state).session_user(fresh.access_token) is None
        assert sf.store(sandbox.state).org_api_enabled is False


@pytest.mark.parametrize(
    "data",
    [
        {"bogus": 1},
        {"generate": {"Opportunity": 5}},
        {"records": {"Lead": [{"Nope": 1}]}},
        {"clock": {"set": "soon"}},
    ],
)
def test_the_seed_endpoint_refuses_what_does_not_fit(sandbox: Any, data: dict[str, Any]) -> None:
    with pytest.raises(SandboxControlError):
        sandbox.control.seed("salesforce", data)
