from __future__ import annotations

import pytest

from engage.telephony import LocmemTelephonyBackend


@pytest.fixture(autouse=True)
def _empty_telephony_outbox():
    LocmemTelephonyBackend.outbox.clear()
    yield
    LocmemTelephonyBackend.outbox.clear()


@pytest.fixture
def outbox() -> list:
    return LocmemTelephonyBackend.outbox


@pytest.fixture
def seller_client(client, teammate):
    """A client signed in as ``teammate``, the seller whose profile the tests edit."""
    client.force_login(teammate)
    return client
