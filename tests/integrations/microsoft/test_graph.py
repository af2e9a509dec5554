"""The Graph client against the sandbox: app tokens from msal's cache, one retry after a refused
token, error mapping, and at most 4 requests in flight per mailbox."""

from __future__ import annotations

import threading

import pytest

from integrations.exceptions import (
    MailboxAccessDenied,
    ProviderAuthError,
    ProviderError,
    ProviderThrottled,
)
from integrations.microsoft import limits
from integrations.microsoft.client import GraphClient
from integrations.sandbox.microsoft.demo import DEMO_TENANT_ID
from tests.integrations.microsoft.conftest import SELLER1

INBOX = f"/users/{SELLER1}/mailFolders/inbox"


def token_requests(ms):
    return ms.control.requests("/oauth2/v2.0/token")


def test_app_tokens_come_from_msals_cache_after_the_first_request(ms, app_connection):
    with GraphClient(app_connection, mailbox=SELLER1) as graph:
        for _ in range(3):
            graph.get(INBOX)
    with GraphClient(app_connection, mailbox=SELLER1) as graph:
        graph.get(INBOX)

    assert len(token_requests(ms)) == 1
    assert len(ms.control.requests("/.well-known/openid-configuration")) == 1


def test_a_refused_token_is_renewed_once_and_the_request_retried(ms, app_connection):
    with GraphClient(app_connection, mailbox=SELLER1) as graph:
        graph.get(INBOX)
        ms.control.seed("microsoft", {"expire_access_tokens": True})

        assert graph.get(INBOX)["displayName"] == "Inbox"

    assert len(token_requests(ms)) == 2


def test_a_token_refused_twice_is_an_auth_error(ms, app_connection):
    ms.control.inject_fault(r"/graph/v1\.0/users/", status=401, times=2)

    with pytest.raises(ProviderAuthError), GraphClient(app_connection, mailbox=SELLER1) as graph:
        graph.get(INBOX)


def test_without_admin_consent_graph_refusal_says_consent_is_missing(ms, app_connection):
    ms.control.seed("microsoft", {"revoke_consents": [{"tenant_id": DEMO_TENANT_ID}]})

    with (
        pytest.raises(ProviderAuthError, match="admin consent missing"),
        GraphClient(app_connection) as graph,
    ):
        graph.get("/groups")


def test_a_user_without_a_mailbox_fails_for_that_mailbox_only(ms, app_connection):
    ms.control.seed("microsoft", {"users": [{"user_principal_name": "nobox@demo.example", "mailbox": False}]})

    with (
        pytest.raises(MailboxAccessDenied),
        GraphClient(app_connection, mailbox="nobox@demo.example") as graph,
    ):
        graph.get("/users/nobox@demo.example/mailFolders/inbox")


def test_other_client_errors_keep_graphs_code(ms, app_connection):
    with pytest.raises(ProviderError) as exc, GraphClient(app_connection, mailbox=SELLER1) as graph:
        graph.get(f"/users/{SELLER1}/messages/delta")

    assert type(exc.value) is ProviderError
    assert exc.value.code


def test_paging_follows_next_links_to_the_end(ms, app_connection):
    ms.control.seed("microsoft", {"generate_users": {"count": 130, "group": "Cadence sellers"}})

    with GraphClient(app_connection) as graph:
        users = list(graph.values("/users", params={"$top": "50"}))

    assert len(users) >= 133
    assert len(ms.control.requests("/graph/v1.0/users")) >= 3


def run_in_threads(app_connection, *, threads: int, calls: int) -> list[Exception]:
    failures: list[Exception] = []
    start = threading.Barrier(threads)

    def work() -> None:
        start.wait()
        try:
            with GraphClient(app_connection, mailbox=SELLER1) as graph:
                for _ in range(calls):
                    graph.get(INBOX)
        except Exception as exc:  # collected for the assertion
            failures.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return failures


def test_eight_threads_never_have_more_than_four_requests_in_flight_per_mailbox(ms, app_connection):
    ms.control.seed("microsoft", {"graph_latency_ms": 60, "graph_mailbox_concurrency": 4})
    with GraphClient(app_connection, mailbox=SELLER1) as graph:  # one token for all threads
        graph.get(INBOX)
    ms.control.clear_requests()

    failures = run_in_threads(app_connection, threads=8, calls=4)

    assert failures == []
    statuses = [r["status"] for r in ms.control.requests("/graph/v1.0/")]
    assert len(statuses) == 32
    assert 429 not in statuses


def test_the_sandbox_would_have_refused_a_fifth_concurrent_request(ms, app_connection, settings):
    """The same load without Cadence's limit: proves the test above measures something."""
    ms.control.seed("microsoft", {"graph_latency_ms": 60, "graph_mailbox_concurrency": 4})
    settings.GRAPH_MAILBOX_CONCURRENCY = 8
    with GraphClient(app_connection, mailbox=SELLER1) as graph:
        graph.get(INBOX)

    failures = run_in_threads(app_connection, threads=8, calls=4)

    assert failures and all(isinstance(f, ProviderThrottled) for f in failures)
    assert "MailboxConcurrency" in str(failures[0])


def take(mailbox: str, **kwargs) -> None:
    with limits.mailbox_slot(mailbox, **kwargs):
        pass


def test_a_slot_that_never_frees_up_is_reported_as_throttling():
    with limits.mailbox_slot("t:busy@example.com", limit=1), pytest.raises(ProviderThrottled):
        take("t:busy@example.com", limit=1, wait_seconds=0.05)

    take("t:busy@example.com", limit=1)  # released again


def test_taking_several_slots_at_once_waits_for_all_of_them():
    with limits.mailbox_slot("t:many@example.com", limit=4, count=3):
        with pytest.raises(ProviderThrottled):
            take("t:many@example.com", limit=4, count=2, wait_seconds=0.05)
        take("t:many@example.com", limit=4, count=1)  # the fourth is free


def test_an_app_client_refuses_a_mailbox_that_is_not_a_user_of_the_connected_tenant(ms, app_connection):
    ms.control.clear_requests()

    with GraphClient(app_connection, mailbox="ceo@victim.example") as graph:
        with pytest.raises(MailboxAccessDenied, match="not a user of the connected Microsoft 365"):
            graph.get(f"{graph.user_path()}/mailFolders")
        with pytest.raises(MailboxAccessDenied):
            graph.user_path("someone@elsewhere.example")

    assert ms.control.requests("/graph/") == []
    with GraphClient(app_connection, mailbox=SELLER1) as graph:
        assert graph.get(f"{graph.user_path()}/mailFolders")["value"]
