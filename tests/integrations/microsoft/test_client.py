"""acquire_app_token (auth.app_token with named credentials) against the provider sandbox,
through the real msal library."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from integrations.exceptions import (
    ProviderAuthError,
    ProviderError,
    ProviderThrottled,
    ProviderUnavailable,
)
from integrations.microsoft import auth
from integrations.microsoft.auth import app_token as acquire_app_token
from integrations.sandbox.microsoft.demo import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_TENANT_DOMAIN,
    DEMO_TENANT_ID,
)
from integrations.sandbox.microsoft.directory import lookup_access_token

TOKEN_PATH = r"/oauth2/v2\.0/token$"


def demo_token(**overrides: str) -> str:
    credentials = {
        "tenant_id": DEMO_TENANT_ID,
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
    }
    return acquire_app_token(**{**credentials, **overrides})


def test_it_acquires_an_app_token_that_the_identity_platform_issued(sandbox: Any) -> None:
    token = demo_token()

    issued = lookup_access_token(sandbox.state, token)
    assert issued is not None
    assert (issued.tenant_id, issued.client_id) == (DEMO_TENANT_ID, DEMO_CLIENT_ID)


def test_it_shares_msals_cached_token_with_the_graph_client(sandbox: Any) -> None:
    token = demo_token()

    assert auth.app_token(tenant_id=DEMO_TENANT_ID) == token
    assert len(sandbox.control.requests("/oauth2/v2.0/token")) == 1


def test_it_asks_for_graphs_default_scope_with_the_secret_in_the_body(sandbox: Any) -> None:
    demo_token(tenant_id=DEMO_TENANT_DOMAIN)

    (discovery,) = sandbox.control.requests("/.well-known/openid-configuration")
    assert discovery["path"] == f"/{DEMO_TENANT_DOMAIN}/v2.0/.well-known/openid-configuration"
    (token_request,) = sandbox.control.requests("/oauth2/v2.0/token")
    assert token_request["body"]["grant_type"] == "client_credentials"
    assert token_request["body"]["scope"] == "https://graph.microsoft.com/.default"
    assert token_request["body"]["client_secret"] == "[redacted]"


def test_it_refuses_a_wrong_client_secret(sandbox: Any) -> None:
    with pytest.raises(ProviderAuthError, match=r"^AADSTS7000215: Invalid client secret") as exc:
        demo_token(client_secret="not-the-secret")

    assert exc.value.code == "invalid_client"
    assert "Trace ID" not in str(exc.value)


def test_it_treats_an_unknown_tenant_as_refused_credentials(sandbox: Any) -> None:
    with pytest.raises(ProviderAuthError, match="AADSTS90002"):
        demo_token(tenant_id="tenant-that-was-deleted")


def test_it_reports_throttling_with_the_retry_after_delay(sandbox: Any) -> None:
    sandbox.control.inject_fault(TOKEN_PATH, status=429, headers={"Retry-After": "2"})

    with pytest.raises(ProviderThrottled) as exc:
        demo_token()

    assert exc.value.retry_after == 2.0


def test_it_reports_throttled_discovery_as_throttling_not_as_a_bad_tenant(sandbox: Any) -> None:
    sandbox.control.inject_fault("openid-configuration", status=429, headers={"Retry-After": "5"})

    with pytest.raises(ProviderThrottled) as exc:
        demo_token()

    assert exc.value.retry_after == 5.0


def test_it_reports_an_outage_as_unavailable(sandbox: Any) -> None:
    sandbox.control.inject_fault(TOKEN_PATH, status=503)

    with pytest.raises(ProviderUnavailable) as exc:
        demo_token()

    assert exc.value.retry_after is None


def test_it_gives_up_on_a_identity_platform_that_does_not_answer(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth, "TIMEOUT_SECONDS", 0.3)
    sandbox.control.inject_fault(TOKEN_PATH, delay_seconds=1.5)

    with pytest.raises(ProviderUnavailable, match="ReadTimeout"):
        demo_token()


def test_it_does_not_trust_a_server_its_ca_bundle_does_not_vouch_for(sandbox: Any, settings: Any) -> None:
    settings.PROVIDER_CA_BUNDLE = None  # system trust only

    with pytest.raises(ProviderUnavailable, match="SSLError"):
        demo_token()


def test_it_refuses_a_plain_http_authority(sandbox: Any, settings: Any) -> None:
    settings.MICROSOFT_LOGIN_URL = sandbox.url.replace("https://", "http://")

    with pytest.raises(ProviderError) as exc:
        demo_token()

    assert type(exc.value) is ProviderError, "a misconfiguration, not a credential or outage"
    assert sandbox.control.requests() == []


def test_it_never_logs_the_secret_or_the_token(sandbox: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    token = demo_token()
    with pytest.raises(ProviderAuthError):
        demo_token(client_secret="wrong-secret-value")

    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for secret in (token, DEMO_CLIENT_SECRET, "wrong-secret-value"):
        assert secret not in logged
    assert "microsoft.app_token.acquired" in logged
