"""Injected faults on Google routes answer with Google's own error shapes."""

from __future__ import annotations

from typing import Any

import pytest
from google.auth.exceptions import RefreshError
from googleapiclient.errors import HttpError

from tests.integrations.sandbox.google.conftest import GMAIL_READONLY, SELLER1, dwd_credentials, service


def test_api_faults(sandbox: Any, gmail: Any) -> None:
    sandbox.control.inject_fault(
        r"/google/gmail/v1/users/me/profile", status=429, headers={"Retry-After": "3"}
    )
    with pytest.raises(HttpError) as exc:
        gmail.users().getProfile(userId="me").execute()
    assert exc.value.resp.status == 429 and exc.value.resp["retry-after"] == "3"
    assert exc.value.error_details[0]["reason"] == "rateLimitExceeded"

    sandbox.control.inject_fault(r"/google/gmail/", status=503, times=2)
    retried = gmail.users().getProfile(userId="me")
    retried._sleep = lambda seconds: None  # googleapiclient's backoff, not worth waiting for here
    assert retried.execute(num_retries=2)["emailAddress"] == SELLER1
    sandbox.control.inject_fault(r"/google/gmail/", status=403)
    with pytest.raises(HttpError) as exc:
        gmail.users().getProfile(userId="me").execute()
    assert exc.value.error_details[0]["reason"] == "userRateLimitExceeded"


def test_token_endpoint_faults(sandbox: Any) -> None:
    sandbox.control.inject_fault(r"^/google/token$", status=400)
    credentials = dwd_credentials(sandbox, SELLER1, [GMAIL_READONLY])
    with pytest.raises(RefreshError, match="invalid_grant"):
        service(sandbox, "gmail", credentials).users().getProfile(userId="me").execute()
    sandbox.control.inject_fault(r"^/google/token$", status=500, times=1)
    gmail = service(sandbox, "gmail", dwd_credentials(sandbox, SELLER1, [GMAIL_READONLY]))
    assert gmail.users().getProfile(userId="me").execute()["emailAddress"] == SELLER1  # google-auth retried


def test_calendar_410_fault(sandbox: Any, api: Any) -> None:
    sandbox.control.inject_fault(r"/google/calendar/v3/calendars/primary/events$", status=410)
    with pytest.raises(HttpError) as exc:
        api("calendar").events().list(calendarId="primary").execute()
    assert exc.value.error_details[0]["reason"] == "fullSyncRequired"
