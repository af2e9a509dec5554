"""Engage's one door to the Salesforce client: which connection it uses, the describe cache,
and failures turned into sentences for admins. Against the sandbox."""

from __future__ import annotations

import pytest

from engage.services.crm import gateway as salesforce
from integrations.models import Connection


def describe_requests(sandbox, sobject: str) -> int:
    return len(sandbox.control.requests(f"/sobjects/{sobject}/describe"))


def test_there_is_no_connection_until_an_admin_connects(acme, globex):
    assert salesforce.org_connection(acme) is None
    with pytest.raises(salesforce.CrmNotConnected):
        salesforce.describe_for(acme, "Lead")


def test_only_the_organisations_own_live_connection_counts(acme, globex, salesforce_connection):
    assert salesforce.org_connection(acme) == salesforce_connection
    assert salesforce.org_connection(globex) is None
    Connection.objects.filter(pk=salesforce_connection.pk).update(status=Connection.Status.NEEDS_RECONNECT)
    assert salesforce.org_connection(acme) is None


def test_describes_are_cached_per_connection_and_object(acme, salesforce_connection, sandbox):
    sandbox.control.clear_requests()
    lead = salesforce.describe_for(acme, "Lead")
    assert lead["name"] == "Lead" and any(f["name"] == "Status" for f in lead["fields"])
    assert salesforce.describe_for(acme, "Lead") is lead
    assert describe_requests(sandbox, "Lead") == 1
    salesforce.describe_for(acme, "Contact")
    assert describe_requests(sandbox, "Contact") == 1
    salesforce.cache_clear()
    salesforce.describe_for(acme, "Lead")
    assert describe_requests(sandbox, "Lead") == 2


def test_counts_and_samples_come_from_salesforce(acme, salesforce_connection):
    from tests.engage.crm.conftest import sandbox_client

    sandbox_client(salesforce_connection).create(
        "Lead", {"LastName": "Sample", "Company": "Acme", "Title": "Zzq"}
    )
    assert salesforce.count_matching(acme, "Lead", "Title = 'Zzq'") == 1
    sample = salesforce.sample_record(acme, "Lead", ["LastName", "Title"])
    assert sample is not None and {"Id", "LastName", "Title"} <= set(sample)


@pytest.mark.parametrize(
    "field", ["Title, (SELECT Id FROM Contacts)", "Title FROM Lead --", "Account.Owner.Name", ""]
)
def test_a_sample_only_selects_field_names(acme, field):
    with pytest.raises(ValueError):
        salesforce.sample_record(acme, "Lead", [field])


def test_failures_become_plain_sentences(acme, salesforce_connection, sandbox):
    sandbox.control.inject_fault(r"/describe", status=503, times=None)
    with pytest.raises(salesforce.CrmUnavailable) as exc:
        salesforce.describe_for(acme, "Lead")
    assert str(exc.value) == "Salesforce could not be reached just now; try again in a minute."
    sandbox.control.clear_faults()
    sandbox.control.inject_fault(r"/query", status=400, times=1)
    with pytest.raises(salesforce.CrmUnavailable) as exc:
        salesforce.count_matching(acme, "Lead", "")
    assert str(exc.value).startswith("Salesforce refused the request:")
