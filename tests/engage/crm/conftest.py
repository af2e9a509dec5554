"""Recorded DescribeSObjectResult JSON (``describe/*.json``, shaped as Salesforce sends it) for
unit tests of the pure mapping and rule functions. Tests that need Salesforce itself use the
provider sandbox instead."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

DESCRIBE_DIR = Path(__file__).parent / "describe"


@cache
def _load(sobject: str) -> dict[str, Any]:
    return json.loads((DESCRIBE_DIR / f"{sobject}.json").read_text())


def recorded_describe(sobject: str) -> dict[str, Any]:
    """A fresh copy, so a test may change it."""
    return copy.deepcopy(_load(sobject))


@pytest.fixture
def lead_describe() -> dict[str, Any]:
    return recorded_describe("Lead")


@pytest.fixture
def contact_describe() -> dict[str, Any]:
    return recorded_describe("Contact")


@pytest.fixture
def account_describe() -> dict[str, Any]:
    return recorded_describe("Account")


@pytest.fixture(autouse=True)
def _fresh_describe_cache():
    """Describes are cached per process; no test sees another's."""
    from engage.services.crm import gateway as salesforce

    salesforce.cache_clear()
    yield
    salesforce.cache_clear()


@pytest.fixture
def salesforce_connection(sandbox: Any, settings: Any, acme: Any, owner: Any) -> Any:
    """Acme's organisation-wide Salesforce connection, made through the sandbox's real OAuth
    consent flow as its System Administrator."""
    from tests.integrations.salesforce.conftest import sandbox_connection

    settings.SALESFORCE_LOGIN_URL = sandbox.url
    settings.SALESFORCE_CLIENT_ID = "cadence-sandbox-client"
    settings.SALESFORCE_CLIENT_SECRET = "cadence-sandbox-secret"
    return sandbox_connection(sandbox, acme, owner)


def sandbox_client(connection: Any) -> Any:
    """A product client of ``connection``, to arrange Salesforce data the way Cadence would."""
    from integrations.salesforce.client import SalesforceClient

    return SalesforceClient(connection)
