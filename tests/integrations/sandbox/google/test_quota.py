"""Gmail's per-user quota, when the sandbox is asked to enforce it: per-method units in a sliding
window, refused with Retry-After, counted per batch part."""

from __future__ import annotations

from typing import Any

from googleapiclient.http import BatchHttpRequest

from integrations.sandbox.google import control as google
from tests.integrations.sandbox.google.conftest import GMAIL_READONLY, SELLER1, SELLER2, access_token, raw

PROFILE = "/google/gmail/v1/users/me/profile"
MESSAGES = "/google/gmail/v1/users/me/messages"


def test_quota_is_off_by_default(sandbox: Any) -> None:
    token = access_token(sandbox, SELLER1, [GMAIL_READONLY])
    assert all(raw(sandbox, "GET", MESSAGES, token).ok for _ in range(30))


def test_over_quota_is_429_with_retry_after_per_user(sandbox: Any) -> None:
    google.set_gmail_quota(sandbox.control, units=20, per_seconds=60)
    token = access_token(sandbox, SELLER1, [GMAIL_READONLY])
    assert [raw(sandbox, "GET", MESSAGES, token).status_code for _ in range(4)] == [200] * 4  # 4 x 5 units
    refused = raw(sandbox, "GET", MESSAGES, token)
    assert refused.status_code == 429 and 55 <= int(refused.headers["Retry-After"]) <= 60
    error = refused.json()["error"]
    assert error["errors"][0]["reason"] == "rateLimitExceeded" and error["message"].startswith(
        "User-rate limit exceeded."
    )
    assert raw(sandbox, "GET", MESSAGES, access_token(sandbox, SELLER2, [GMAIL_READONLY])).ok  # per user
    google.set_gmail_quota(sandbox.control, units=None)
    assert raw(sandbox, "GET", MESSAGES, token).ok


def test_older_projects_per_second_window_and_403_variant(sandbox: Any) -> None:
    google.set_gmail_quota(sandbox.control, units=10, per_seconds=1, status=403)
    token = access_token(sandbox, SELLER1, [GMAIL_READONLY])
    assert raw(sandbox, "GET", MESSAGES, token).ok and raw(sandbox, "GET", MESSAGES, token).ok
    assert raw(sandbox, "GET", PROFILE, token).status_code == 403  # even 1 unit is over
    refused = raw(sandbox, "GET", PROFILE, token)
    assert refused.json()["error"]["errors"][0] == {
        "message": "User Rate Limit Exceeded",
        "domain": "usageLimits",
        "reason": "userRateLimitExceeded",
    }
    google.advance_clock(sandbox.state, int(refused.headers["Retry-After"]))  # the window moves on
    assert raw(sandbox, "GET", PROFILE, token).ok


def test_each_batch_part_spends_its_own_units(sandbox: Any, settings: Any, gmail: Any) -> None:
    ids = [m["id"] for m in gmail.users().messages().list(userId="me", maxResults=6).execute()["messages"]]
    google.set_gmail_quota(sandbox.control, units=25, per_seconds=60)
    results: dict[str, Any] = {}
    batch = BatchHttpRequest(batch_uri=settings.GOOGLE_BATCH_URL)
    for message_id in ids:
        batch.add(
            gmail.users().messages().get(userId="me", id=message_id),
            callback=lambda rid, response, exc: results.__setitem__(rid, exc),
        )
    batch.execute()
    statuses = [None if results[str(n)] is None else results[str(n)].resp.status for n in range(1, 7)]
    assert statuses == [None] * 5 + [429]
