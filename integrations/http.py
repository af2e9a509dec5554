"""The HTTP session every provider client talks through (msal, simple-salesforce, plain requests)."""

from __future__ import annotations

import datetime as dt
import email.utils
from typing import Any

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

TIMEOUT_SECONDS = 30.0


class ProviderSession(requests.Session):
    """A ``requests.Session`` that trusts ``settings.PROVIDER_CA_BUNDLE`` and never hangs.

    ``verify`` is passed per request because a ``REQUESTS_CA_BUNDLE`` environment variable
    overrides ``Session.verify`` (psf/requests#3829). Like msal's own default client it retries a
    failed connection once, but it never sleeps through a Retry-After (urllib3 would, for GETs):
    throttling reaches the caller as a typed error so a task can reschedule instead of blocking a
    worker. The response to the latest request stays readable for error mapping.
    """

    def __init__(self, *, timeout: float | None = None) -> None:
        super().__init__()
        ca_bundle = settings.PROVIDER_CA_BUNDLE
        self.verify_with: str | bool = str(ca_bundle) if ca_bundle else True
        self.timeout = TIMEOUT_SECONDS if timeout is None else timeout
        self.last_response: requests.Response | None = None
        adapter = HTTPAdapter(max_retries=Retry(total=1, read=False, respect_retry_after_header=False))
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("verify", self.verify_with)
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        self.last_response = None
        response = super().request(method, url, *args, **kwargs)
        self.last_response = response
        return response


def retry_after_seconds(response: requests.Response | None) -> float | None:
    """Seconds to wait: Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
