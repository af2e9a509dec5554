"""The OAuth pieces: authorization URL, revocation through the provider (disconnect)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from integrations import services
from integrations.google import auth
from integrations.google.provider import ADMIN_SCOPES, GOOGLE
from integrations.models import Connection
from integrations.sandbox.google.demo import google_store
from tests.integrations.google.conftest import own_connection


def test_the_authorization_url_asks_for_offline_access_and_fresh_consent(settings: Any) -> None:
    settings.GOOGLE_AUTH_URL = "https://accounts.example/o/oauth2/v2/auth"
    settings.GOOGLE_CLIENT_ID = "client-1"

    url = auth.authorization_url(state="s1", redirect_uri="https://cadence.example/cb", scopes=ADMIN_SCOPES)

    query = parse_qs(urlsplit(url).query)
    assert url.startswith("https://accounts.example/o/oauth2/v2/auth?")
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]
    assert query["scope"] == [" ".join(ADMIN_SCOPES)]
    assert (query["client_id"], query["state"], query["response_type"]) == (["client-1"], ["s1"], ["code"])


def test_the_provider_is_configured_only_with_client_and_service_account(sandbox: Any, settings: Any) -> None:
    assert GOOGLE.is_configured() and GOOGLE.oauth_configured()
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = "/nonexistent/key.json"
    assert not GOOGLE.is_configured() and GOOGLE.oauth_configured()
    settings.GOOGLE_CLIENT_SECRET = ""
    assert not GOOGLE.oauth_configured()


def test_disconnecting_revokes_the_grant_at_google(sandbox: Any, seller1: Any) -> None:
    connection = own_connection(sandbox, seller1)
    refresh_token = connection.get_credentials()["refresh_token"]

    services.connection_disconnect(connection=connection, actor=seller1)

    assert google_store(sandbox.state).refresh_tokens[refresh_token].revoked
    connection.refresh_from_db()
    assert connection.status == Connection.Status.DISCONNECTED


def test_revoking_a_token_google_already_forgot_is_not_an_error(sandbox: Any) -> None:
    auth.revoke_token("1//never-issued")
