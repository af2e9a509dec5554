"""Fixed personas (STYLE.md): ``owner`` administers Acme, ``teammate`` is a Contributor in Acme,
``outsider`` administers Globex. Tests sign in with ``client.force_login(persona)``.

Where shared test code lives: fixtures in ``conftest.py`` (pytest plugins in ``tests/fixtures/``),
model factories in ``factories.py``, and every other shared helper in a ``<topic>_helpers.py``
module beside the tests that use it (``sf_helpers``, ``sync_helpers``, ``mailbox_helpers``,
``record_helpers``, ``support_login_helpers``, …)."""

from __future__ import annotations

import pytest

from tests.factories import AdminFactory, OrganizationFactory, UserFactory

pytest_plugins = ["tests.fixtures.sandbox"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters live in the cache (Redis in CI): no test inherits another's."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def acme(db):
    return OrganizationFactory(name="Acme")


@pytest.fixture
def globex(db):
    return OrganizationFactory(name="Globex")


@pytest.fixture
def owner(acme):
    return AdminFactory(organization=acme, email="owner@acme.example", first_name="Olive", last_name="Owner")


@pytest.fixture
def teammate(acme):
    return UserFactory(organization=acme, email="teammate@acme.example", first_name="Tom", last_name="Mate")


@pytest.fixture
def outsider(globex):
    return AdminFactory(
        organization=globex, email="outsider@globex.example", first_name="Otto", last_name="Side"
    )


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def pytest_report_header(config) -> list[str]:
    from django.conf import settings

    return [
        f"cadence: database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
        f"broker {settings.CELERY_BROKER_URL.split('://', 1)[0]}, cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}"
    ]
