"""JSON batching: sub-requests run through the same routes and checks, take concurrency slots,
and can be faulted one by one with ``graph_faults``."""

from __future__ import annotations

import threading
import time

from integrations.sandbox.microsoft import control as ms
from integrations.sandbox.microsoft.graph.throttle import throttle
from tests.integrations.sandbox.microsoft.conftest import ADMIN, SELLER1, Graph


def batch(graph: Graph, *requests: dict[str, object]) -> dict[str, dict[str, object]]:
    response = graph.post("/$batch", json={"requests": list(requests)})
    assert response.status_code == 200, response.text
    return {r["id"]: r for r in response.json()["responses"]}


def test_a_batch_answers_every_sub_request(app_graph: Graph) -> None:
    answers = batch(
        app_graph,
        {"id": "1", "method": "GET", "url": f"/users/{SELLER1}/mailFolders/inbox/messages/delta",
         "headers": {"Prefer": "odata.maxpagesize=5"}},
        {"id": "2", "method": "GET", "url": f"users/{SELLER1}/mailboxSettings"},
        {"id": "3", "method": "GET", "url": "/users/nobody@demo.example/messages"},
        {"id": "4", "method": "GET", "url": "/nowhere"},
        {"id": "5", "method": "GET", "url": f"/users/{SELLER1}", "dependsOn": ["3"]},
    )  # fmt: skip

    assert answers["1"]["status"] == 200 and len(answers["1"]["body"]["value"]) == 5  # type: ignore[index]
    assert answers["1"]["headers"]["Preference-Applied"] == "odata.maxpagesize=5"  # type: ignore[index]
    assert answers["2"]["body"]["timeZone"] == "UTC"  # type: ignore[index]
    assert (answers["3"]["status"], answers["3"]["body"]["error"]["code"]) == (404, "ErrorInvalidUser")  # type: ignore[index]
    assert answers["4"]["status"] == 400
    assert answers["5"]["status"] == 424


def test_delta_links_from_a_batch_work_directly(app_graph: Graph) -> None:
    first = batch(app_graph, {"id": "m", "method": "GET", "url": f"/users/{SELLER1}/mailFolders/sentitems/messages/delta",
                              "headers": {"Prefer": "odata.maxpagesize=1000"}})  # fmt: skip
    link = first["m"]["body"]["@odata.deltaLink"]  # type: ignore[index]

    again = app_graph.ok(link)

    assert again["value"] == []


def test_graph_faults_reach_sub_requests(app_graph: Graph) -> None:
    ms.inject_graph_fault(
        app_graph.sandbox.control, r"/calendarView/delta$", status=429, headers={"Retry-After": "3"}
    )

    answers = batch(
        app_graph,
        {"id": "mail", "method": "GET", "url": f"/users/{SELLER1}/mailFolders/inbox/messages/delta"},
        {"id": "cal", "method": "GET",
         "url": f"/users/{SELLER1}/calendarView/delta?startDateTime=2026-01-01T00:00:00Z&endDateTime=2027-01-01T00:00:00Z"},
    )  # fmt: skip

    assert answers["mail"]["status"] == 200
    assert answers["cal"]["status"] == 429 and answers["cal"]["headers"]["Retry-After"] == "3"  # type: ignore[index]
    assert answers["cal"]["body"]["error"]["code"] == "ApplicationThrottled"  # type: ignore[index]


def wait_until(condition, *, within: float = 10.0) -> None:
    """Until ``condition()`` holds (another thread's request reached the sandbox), at most ``within`` s."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        threading.Event().wait(0.005)


def test_a_batch_is_throttled_when_the_mailbox_has_no_free_slot(app_graph: Graph) -> None:
    control = app_graph.sandbox.control
    control.seed("microsoft", {"graph_mailbox_concurrency": 1})
    ms.set_graph_latency(control, 500)
    started = threading.Event()
    results: list[int] = []

    def slow_call() -> None:
        started.set()
        results.append(app_graph.get(f"/users/{SELLER1}/messages").status_code)

    thread = threading.Thread(target=slow_call)
    thread.start()
    started.wait()
    wait_until(lambda: throttle(app_graph.sandbox.state).in_flight() == 1)  # the slow call holds the slot
    answers = batch(
        app_graph,
        {"id": "a", "method": "GET", "url": f"/users/{SELLER1}/mailboxSettings"},
        {"id": "b", "method": "GET", "url": f"/users/{ADMIN}/mailboxSettings"},
    )
    thread.join()

    assert results == [200]
    assert answers["a"]["status"] == 429 and answers["b"]["status"] == 200
