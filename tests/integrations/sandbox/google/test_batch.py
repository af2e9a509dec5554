"""Gmail batch requests exactly as googleapiclient's BatchHttpRequest sends them."""

from __future__ import annotations

from typing import Any

import httplib2
import pytest
import requests
from googleapiclient.http import BatchHttpRequest

from integrations.sandbox.google import control as google
from tests.integrations.sandbox.google.conftest import GMAIL_READONLY, SELLER1, access_token
from tests.integrations.sandbox.google.schema_helpers import validate


def run_batch(settings: Any, requests_: list[Any]) -> dict[str, tuple[Any, Any]]:
    results: dict[str, tuple[Any, Any]] = {}
    batch = BatchHttpRequest(batch_uri=settings.GOOGLE_BATCH_URL)
    for request in requests_:
        batch.add(request, callback=lambda rid, response, exc: results.__setitem__(rid, (response, exc)))
    batch.execute()
    return results


def test_a_batch_of_100_gets(sandbox: Any, settings: Any, gmail: Any) -> None:
    google.generate_mailbox(sandbox.control, SELLER1, count=150)
    ids = [m["id"] for m in gmail.users().messages().list(userId="me", maxResults=100).execute()["messages"]]
    gets = [
        gmail.users().messages().get(userId="me", id=i, format="metadata", metadataHeaders=["From"])
        for i in ids
    ]
    google.clear_api_calls(sandbox.state)
    results = run_batch(settings, gets)
    assert len(results) == 100 and all(exc is None for _, exc in results.values())
    assert [results[str(n)][0]["id"] for n in range(1, 101)] == ids  # answers matched to their requests
    for response, _ in results.values():
        validate("gmail", "Message", response)
    assert google.api_calls(sandbox.state, SELLER1) == {"gmail.users.messages.get": 100}


def test_failed_parts_fail_alone_and_expired_tokens_are_refreshed(
    sandbox: Any, settings: Any, gmail: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = gmail.users().messages().list(userId="me").execute()["messages"][0]["id"]
    results = run_batch(
        settings,
        [
            gmail.users().messages().get(userId="me", id=good),
            gmail.users().messages().get(userId="me", id="0000000000000000"),
        ],
    )
    assert results["1"][1] is None and results["2"][1].resp.status == 404
    google.seed(sandbox.control, {"expire_access_tokens": True})
    # On 401 parts, BatchHttpRequest refreshes through a bare httplib2.Http() (googleapiclient._auth
    # .refresh_credentials), which trusts only httplib2's default CA bundle, not the http it was given.
    monkeypatch.setattr(httplib2, "CA_CERTS", sandbox.ca_path)
    again = run_batch(
        settings, [gmail.users().getProfile(userId="me"), gmail.users().labels().list(userId="me")]
    )
    assert again["1"][0]["emailAddress"] == SELLER1 and again["2"][1] is None
    assert [e["status"] for e in sandbox.control.requests("/google/batch")][-2:] == [200, 200]


def test_more_than_100_parts_is_refused(sandbox: Any) -> None:
    token = access_token(sandbox, SELLER1, [GMAIL_READONLY])
    parts = "".join(
        f"--b\r\nContent-Type: application/http\r\nContent-ID: <x + {n}>\r\n\r\n"
        f"GET /google/gmail/v1/users/me/profile\r\nAuthorization: Bearer {token}\r\n\r\n\r\n"
        for n in range(101)
    )
    response = requests.post(
        f"{sandbox.url}/google/batch/gmail/v1",
        data=parts + "--b--\r\n",
        headers={"Content-Type": "multipart/mixed; boundary=b"},
        verify=sandbox.ca_path,
        timeout=10,
    )
    assert response.status_code == 400
    one = requests.post(
        f"{sandbox.url}/google/batch/gmail/v1",
        data=parts.split("--b", 2)[1].join(["--b", "--b--\r\n"]),
        headers={"Content-Type": "multipart/mixed; boundary=b"},
        verify=sandbox.ca_path,
        timeout=10,
    )
    assert (
        one.status_code == 200
        and "HTTP/1.1 200 OK" in one.text
        and "Content-ID: <response-x + 0>" in one.text
    )
