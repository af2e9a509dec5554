"""What every REST resource handler takes: the request, the org and the ``Call`` (who, which version).

``rest.api_route`` checks the version, session, API access and budget, then runs an ``ApiHandler``;
the resource modules (``query_api``, ``listviews``, ``sobjects``, ``composite``) define them and
``rest.register_routes`` mounts them, so these types live below both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from integrations.sandbox.routing import Request, Response
from integrations.sandbox.salesforce.store import SalesforceStore


@dataclass(frozen=True)
class Call:
    """Who is calling and with which API version (as written in the URL, e.g. ``"59.0"``)."""

    user_id: str
    version: str


ApiHandler = Callable[[Request, SalesforceStore, Call], Response]
