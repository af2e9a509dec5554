"""Gmail's per-user quota: quota units per method, spent in a sliding window (provider-facts A5).

Off by default. Turned on by the seed ``{"gmail_quota": {"units": 15000, "per_seconds": 60}}``
(projects created recently) or ``{"units": 250, "per_seconds": 1}`` (the older per-second moving
average). A request that would go over is refused — 429 ``rateLimitExceeded`` by default, or 403
``userRateLimitExceeded`` with ``"status": 403`` — with ``Retry-After`` set to the seconds until
enough units leave the window. Refused requests spend nothing.
"""

# Reference: https://developers.google.com/workspace/gmail/api/reference/quota

from __future__ import annotations

import datetime as dt
import math
from collections import deque
from dataclasses import dataclass, field

from integrations.sandbox.google.errors import GoogleApiError

DEFAULT_COST = 5
COSTS = {
    "gmail.users.getProfile": 1,
    "gmail.users.history.list": 2,
    "gmail.users.labels.get": 1,
    "gmail.users.labels.list": 1,
    "gmail.users.labels.create": 5,
    "gmail.users.labels.update": 5,
    "gmail.users.labels.patch": 5,
    "gmail.users.labels.delete": 5,
    "gmail.users.messages.get": 5,
    "gmail.users.messages.list": 5,
    "gmail.users.messages.modify": 5,
    "gmail.users.messages.trash": 5,
    "gmail.users.messages.untrash": 5,
    "gmail.users.messages.delete": 10,
    "gmail.users.messages.import": 25,
    "gmail.users.messages.insert": 25,
    "gmail.users.messages.batchModify": 50,
    "gmail.users.messages.batchDelete": 50,
    "gmail.users.messages.send": 100,
    "gmail.users.messages.attachments.get": 5,
    "gmail.users.threads.get": 10,
    "gmail.users.threads.list": 10,
    "gmail.users.threads.modify": 10,
    "gmail.users.threads.trash": 10,
    "gmail.users.threads.untrash": 10,
    "gmail.users.threads.delete": 20,
}


def cost(method_id: str) -> int:
    return COSTS.get(method_id, DEFAULT_COST)


@dataclass
class GmailQuota:
    units: int | None = None  # None: not enforced
    per_seconds: float = 60.0
    status: int = 429
    spent: dict[str, deque[tuple[float, int]]] = field(default_factory=dict)

    def configure(self, *, units: int | None, per_seconds: float = 60.0, status: int = 429) -> None:
        if status not in (403, 429):
            raise ValueError("gmail_quota status must be 403 or 429")
        self.units, self.per_seconds, self.status = units, float(per_seconds), status
        self.spent.clear()

    def used(self, user: str, now: float) -> int:
        window = self.spent.get(user)
        if not window:
            return 0
        while window and window[0][0] <= now - self.per_seconds:
            window.popleft()
        return sum(units for _, units in window)

    def charge(self, user: str, method_id: str, now: float) -> None:
        """Spend the method's units for ``user``, or raise the over-quota error."""
        if self.units is None:
            return
        price = cost(method_id)
        used = self.used(user, now)
        if used + price > self.units:
            raise self._refusal(self._retry_after(user, price, used, now), now)
        self.spent.setdefault(user, deque()).append((now, price))

    def _retry_after(self, user: str, price: int, used: int, now: float) -> int:
        if price > (self.units or 0):
            return math.ceil(self.per_seconds)
        freed = 0
        for at, units in self.spent.get(user, ()):
            freed += units
            if used - freed + price <= (self.units or 0):
                return max(1, math.ceil(at + self.per_seconds - now))
        return math.ceil(self.per_seconds)

    def _refusal(self, retry_after: int, now: float) -> GoogleApiError:
        headers = {"Retry-After": str(retry_after)}
        if self.status == 403:
            return GoogleApiError(
                403,
                "userRateLimitExceeded",
                "User Rate Limit Exceeded",
                domain="usageLimits",
                headers=headers,
            )
        when = dt.datetime.fromtimestamp(now + retry_after, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        # Gmail's wording for the per-user limit (two spaces included).
        message = f"User-rate limit exceeded.  Retry after {when}Z"
        return GoogleApiError(429, "rateLimitExceeded", message, domain="usageLimits", headers=headers)
