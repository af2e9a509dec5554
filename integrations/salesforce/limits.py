"""The org's daily API allocation, spent with care (G14).

Salesforce counts every REST request against a rolling 24-hour allocation shared by every
integration of the org, and answers ``REQUEST_LIMIT_EXCEEDED`` to all of them once it is gone.
Each answer carries ``Sforce-Limit-Info: api-usage=used/max``, which ``SalesforceClient.usage``
keeps, so a sync can check before every call, without spending one, that the call

- would not take the org past ``ORG_CEILING`` (80 %) of its allocation — the sync is then paused
  and tried again ``PAUSE_SECONDS`` later; and
- would not make this run spend more than ``RUN_SHARE`` (25 %) of it — the run then just ends.

Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm
"""

from __future__ import annotations

from django.utils import timezone

from integrations.models import Connection
from integrations.salesforce.client import SalesforceClient

ORG_CEILING = 0.80
RUN_SHARE = 0.25
PAUSE_SECONDS = 30 * 60


class BudgetExceeded(Exception):
    """One more call would break the budget. ``pause``: the org is at its ceiling (wait a while);
    otherwise this run has spent its share (the next one may carry on)."""

    def __init__(self, reason: str, *, pause: bool) -> None:
        super().__init__(reason)
        self.reason, self.pause = reason, pause


def exceeded(client: SalesforceClient) -> BudgetExceeded | None:
    """Why the client's next call would break the budget, or None (unknown usage is fine: the
    first answer tells)."""
    usage = client.usage
    if usage is None or not usage.maximum:
        return None
    if usage.used + 1 > ORG_CEILING * usage.maximum:
        return BudgetExceeded(
            f"Paused: the Salesforce org has used {usage.used:,} of its {usage.maximum:,} daily API "
            f"requests, and Cadence stops syncing at {ORG_CEILING:.0%}. It resumes when usage is back under.",
            pause=True,
        )
    if client.api_calls + 1 > RUN_SHARE * usage.maximum:
        return BudgetExceeded(
            f"This run used {client.api_calls:,} API requests, {RUN_SHARE:.0%} of the org's daily "
            "allocation; the next run carries on where it stopped.",
            pause=False,
        )
    return None


def spend(client: SalesforceClient) -> None:
    """Call before each API call: raises ``BudgetExceeded`` instead of making one too many."""
    problem = exceeded(client)
    if problem is not None:
        raise problem


def check_first(client: SalesforceClient, connection: Connection, *, probe: bool) -> None:
    """Before a run's first call, on the usage last seen (stored on the connection). When that
    leaves no room, ``/limits`` is asked afresh (one call) if ``probe`` (a paused sync that is due
    again) or if that usage was seen more than ``PAUSE_SECONDS`` ago; otherwise the run stops."""
    problem = exceeded(client)
    if problem is None:
        return
    checked = connection.api_checked_at
    stale = checked is None or (timezone.now() - checked).total_seconds() >= PAUSE_SECONDS
    if problem.pause and (probe or stale):
        client.limits()
        problem = exceeded(client)
    if problem is not None:
        raise problem
