"""The OAuth callback's first steps every provider shares: the state, then what came back."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib import messages
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import RequestFactory

from integrations.oauth import CallbackWording, callback_declined, callback_state, state_begin

WORDING = CallbackWording(
    log_event="test.connect",
    stale="Stale.",
    cancelled="Cancelled.",
    failed="Failed: {reason}.",
    no_code="No code.",
)


def _request(query: dict[str, str] | None = None, *, session_from: Any = None) -> Any:
    request = RequestFactory().get("/callback/", query or {})
    SessionMiddleware(lambda r: HttpResponse()).process_request(request)
    if session_from is not None:
        request.session = session_from.session
    MessageMiddleware(lambda r: HttpResponse()).process_request(request)
    request.user = SimpleNamespace(pk=1)
    return request


def _told(request: Any) -> list[tuple[int, str]]:
    return [(m.level, str(m)) for m in messages.get_messages(request)]


def _started(**data: Any) -> tuple[Any, str]:
    request = _request()
    state = state_begin(
        request, provider="test", scope="user", purpose="connect", return_to="/settings/", data=data
    )
    return request, state


def test_the_state_gives_back_its_flow_and_data_once() -> None:
    started, state = _started(app="calendar")

    first = _request(session_from=started)
    pending = callback_state(first, WORDING, provider="test", state=state)
    replay = _request(session_from=started)

    assert pending is not None and pending.data == {"app": "calendar"} and pending.return_to == "/settings/"
    assert callback_state(replay, WORDING, provider="test", state=state) is None
    assert _told(replay) == [(messages.ERROR, "Stale.")]


@pytest.mark.parametrize(
    ("provider", "scope"), [("other", None), ("test", "organization")], ids=["provider", "scope"]
)
def test_a_state_started_for_another_provider_or_scope_is_refused(provider: str, scope: str | None) -> None:
    started, state = _started()
    request = _request(session_from=started)

    assert callback_state(request, WORDING, provider=provider, state=state, scope=scope) is None
    assert _told(request) == [(messages.ERROR, "Stale.")]


@pytest.mark.parametrize(
    ("query", "told"),
    [
        ({"error": "access_denied"}, [(messages.INFO, "Cancelled.")]),
        (
            {"error": "server_error", "error_description": "Try later\nTrace ID: 42"},
            [(messages.ERROR, "Failed: Try later.")],
        ),
        ({"error": "temporarily_unavailable"}, [(messages.ERROR, "Failed: temporarily_unavailable.")]),
        ({"state": "s"}, [(messages.ERROR, "No code.")]),
        ({"code": "c", "state": "s"}, []),
    ],
    ids=["cancelled", "description", "error", "no-code", "code"],
)
def test_what_came_back_instead_of_a_code_is_told(query: dict[str, str], told: list[tuple[int, str]]) -> None:
    request = _request(query)

    assert callback_declined(request, WORDING) is bool(told)
    assert _told(request) == told


def test_a_provider_decides_which_access_denied_is_a_cancellation() -> None:
    wording = CallbackWording(
        log_event="test.connect",
        stale="Stale.",
        cancelled="Cancelled.",
        failed="Failed: {reason}.",
        cancelled_level=messages.ERROR,
        is_cancel=lambda description: "policy" not in description,
    )
    said_no = _request({"error": "access_denied"})
    policy = _request({"error": "access_denied", "error_description": "A policy forbids it"})
    no_code_expected = _request({"admin_consent": "True"})

    assert callback_declined(said_no, wording) and _told(said_no) == [(messages.ERROR, "Cancelled.")]
    assert callback_declined(policy, wording) and _told(policy) == [
        (messages.ERROR, "Failed: A policy forbids it.")
    ]
    assert not callback_declined(no_code_expected, wording)
