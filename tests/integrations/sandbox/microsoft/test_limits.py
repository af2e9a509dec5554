"""Application access policies, Outlook throttling (4 concurrent requests per app and mailbox, a
seedable request budget) and the Graph shape of injected faults."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests

from integrations.sandbox.microsoft import control as ms
from integrations.sandbox.microsoft.demo import DEMO_TENANT_ID, SELLERS_GROUP_NAME
from tests.integrations.sandbox.microsoft.conftest import ADMIN, SELLER1, SELLER2, Graph

MAILBOX_ROUTES = [
    "/messages",
    "/mailFolders/inbox/messages/delta",
    "/events",
    "/contacts",
    "/mailboxSettings",
]


@pytest.mark.parametrize("route", MAILBOX_ROUTES)
def test_restrict_access_refuses_mailboxes_outside_the_group(app_graph: Graph, route: str) -> None:
    ms.restrict_to_group(app_graph.sandbox.control, SELLERS_GROUP_NAME)

    refused = app_graph.get(f"/users/{ADMIN}{route}")

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "ErrorAccessDenied"
    assert refused.json()["error"]["message"] == "Access to OData is disabled."
    assert app_graph.get(f"/users/{SELLER1}{route}").status_code == 200


def test_deny_access_refuses_the_groups_members_and_spares_the_directory(app_graph: Graph) -> None:
    ms.restrict_to_group(app_graph.sandbox.control, SELLERS_GROUP_NAME, access_right="DenyAccess")

    send = app_graph.post(f"/users/{SELLER2}/sendMail", json={"message": {
        "subject": "x", "toRecipients": [{"emailAddress": {"address": ADMIN}}]}})  # fmt: skip

    assert send.status_code == 403 and send.json()["error"]["message"] == "Access to OData is disabled."
    assert app_graph.get(f"/users/{ADMIN}/messages").status_code == 200
    assert app_graph.get(f"/users/{SELLER2}").status_code == 200  # directory: not affected
    group = ms.group_id(app_graph.sandbox.state, SELLERS_GROUP_NAME)
    assert app_graph.get(f"/groups/{group}/members").status_code == 200


def test_policies_do_not_apply_to_delegated_tokens(graph: Any) -> None:
    graph.control.seed("microsoft", {"access_policies": [
        {"tenant_id": DEMO_TENANT_ID, "group_id": SELLERS_GROUP_NAME, "access_right": "DenyAccess"}]})  # fmt: skip

    assert (
        Graph(graph, ms.user_tokens(graph.state, SELLER1).access_token).get("/me/messages").status_code == 200
    )


def test_a_fifth_concurrent_request_for_one_mailbox_is_throttled(app_graph: Graph) -> None:
    ms.set_graph_latency(app_graph.sandbox.control, 600)
    barrier = threading.Barrier(5)
    answers: list[requests.Response] = []
    lock = threading.Lock()

    def call() -> None:
        barrier.wait()
        response = app_graph.get(f"/users/{SELLER1}/mailFolders/inbox/messages")
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=call) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200, 200, 200, 200, 429]
    (throttled,) = [r for r in answers if r.status_code == 429]
    assert throttled.headers["Retry-After"] == "1"
    assert throttled.json()["error"]["code"] == "ApplicationThrottled"
    assert throttled.json()["error"]["message"] == "Application is over its MailboxConcurrency limit."
    # Other mailboxes and the directory keep their own budget.
    assert app_graph.get(f"/users/{SELLER2}/messages").status_code == 200


def test_a_seeded_request_budget_throttles_with_retry_after(app_graph: Graph) -> None:
    ms.set_mailbox_limit(app_graph.sandbox.control, 3, per_seconds=60)

    statuses = [app_graph.get(f"/users/{SELLER1}/messages").status_code for _ in range(4)]
    throttled = app_graph.get(f"/users/{SELLER1}/messages")

    assert statuses == [200, 200, 200, 429]
    assert throttled.status_code == 429 and 55 <= int(throttled.headers["Retry-After"]) <= 60
    assert app_graph.get(f"/users/{SELLER2}/messages").status_code == 200


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        (f"/users/{SELLER1}/messages", 429, "ApplicationThrottled"),
        ("/users", 429, "TooManyRequests"),
        (f"/users/{SELLER1}/messages", 503, "serviceNotAvailable"),
        (f"/users/{SELLER1}/events", 500, "generalException"),
        (f"/users/{SELLER1}/mailFolders/inbox/messages/delta", 410, "syncStateNotFound"),
    ],
)
def test_injected_faults_on_graph_answer_in_graphs_error_shape(
    app_graph: Graph, path: str, status: int, code: str
) -> None:
    app_graph.sandbox.control.inject_fault(
        path.replace("/", r"\/") + "$", status=status, headers={"Retry-After": "7"}
    )

    response = app_graph.get(path)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert set(response.json()["error"]["innerError"]) == {"date", "request-id", "client-request-id"}
    assert response.headers["Retry-After"] == "7"


def test_injected_faults_on_identity_keep_entras_shape(graph: Any) -> None:
    graph.control.inject_fault(r"/oauth2/v2\.0/token$", status=503)

    response = requests.post(f"{graph.url}/{DEMO_TENANT_ID}/oauth2/v2.0/token", data={"grant_type": "client_credentials"},
                             verify=graph.ca_path, timeout=10)  # fmt: skip

    assert response.status_code == 503
    assert response.json()["error_codes"] == [90033]
