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
