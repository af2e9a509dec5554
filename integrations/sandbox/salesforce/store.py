"""The emulated org's state: records, users, OAuth grants, clock, API budget, delete log, cursors.

Kept in ``state.store(STORE_KEY, …)``; built lazily from the deterministic demo data on first use
after a reset (``demo.salesforce_store``), so tests that never touch Salesforce pay nothing for
it. Times are whole seconds since the epoch on the *sandbox clock* (real time plus an offset tests
can move): Salesforce keeps ``CreatedDate``/``SystemModstamp`` to the second and shows them as
``….000+0000``.
"""

# Reference: https://salesforce.stackexchange.com/q/234824 (SystemModstamp ignores milliseconds)

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from integrations.sandbox.salesforce import ids
from integrations.sandbox.salesforce.schema import BY_PREFIX, OBJECTS, PROFILE_PERMISSIONS, ObjectDef

STORE_KEY = "salesforce"
ACCESS_TOKEN_LIFETIME = 2 * 3600  # the connected app's session timeout (2 hours, the default)
AUTH_CODE_LIFETIME = 10 * 60
LOCATOR_IDLE_LIFETIME = 15 * 60  # query cursors expire after 15 minutes of inactivity
MAX_OPEN_LOCATORS = 10  # per user; opening an 11th drops the oldest
DELETE_LOG_RETENTION = 15 * 24 * 3600  # the recycle bin (and so getDeleted) keeps 15 days
REPLICATION_WINDOW = 30 * 24 * 3600  # getUpdated/getDeleted refuse a start older than 30 days
API_WINDOW = 24 * 3600
DEFAULT_API_MAX = 100_000  # Enterprise Edition base allocation (provider-facts C6)

Record = dict[str, Any]


class Clock:
    """Real time shifted by ``offset`` seconds, so it keeps moving between set/advance calls."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> int:
        return int(time.time() + self.offset)

    def set(self, when: dt.datetime) -> None:
        self.offset = when.timestamp() - time.time()

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class ConnectedApp:
    client_id: str
    client_secret: str
    name: str


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    user_id: str
    expires_at: int
    used: bool = False


@dataclass
class RefreshGrant:
    client_id: str
    user_id: str
    revoked: bool = False


@dataclass
class AccessGrant:
    client_id: str
    user_id: str
    expires_at: int
    refresh_token: str | None
    revoked: bool = False


@dataclass
class DeletedEntry:
    sobject: str
    id: str
    deleted_at: int


@dataclass
class Locator:
    """A server-side query cursor: the sorted ids of the result and how to project each page."""

    id: str
    user_id: str
    endpoint: str  # "query" or "queryAll", for nextRecordsUrl
    ids: list[str]
    # query.Plan: the compiled SELECT list; or, loaded from a state file, the (SOQL, version,
    # include_deleted) it is compiled from again on the next page (cursors.next_page).
    plan: Any
    batch_size: int
    expires_at: int

    def __getstate__(self) -> dict[str, Any]:
        # A compiled plan is closures, which do not pickle: the state file keeps its source.
        plan = self.plan
        source = plan if isinstance(plan, tuple) else (plan.text, plan.version, plan.include_deleted)
        return {**self.__dict__, "plan": source}


@dataclass
class ApiBudget:
    """DailyApiRequests. A fixed 24 h window from the first call, not Salesforce's rolling one."""

    max: int = DEFAULT_API_MAX
    used: int = 0
    window_start: int | None = None
    calls: Counter[str] = field(default_factory=Counter)

    def roll(self, now: int) -> None:
        if self.window_start is None or now - self.window_start >= API_WINDOW:
            self.window_start, self.used = now, 0

    @property
    def remaining(self) -> int:
        return max(self.max - self.used, 0)


@dataclass
class ListViewDef:
    id: str
    sobject: str
    label: str
    developer_name: str
    columns: tuple[str, ...]  # field paths, as list view columns name them
    where: str | None  # SOQL condition; "mine" scope adds OwnerId = the user
    mine: bool = False
    order_by: str = "Name"


class SalesforceStore:
    def __init__(self) -> None:
        self.clock = Clock()
        self.org_id = ""
        self.org_api_enabled = True
        self.records: dict[str, dict[str, Record]] = {name: {} for name in OBJECTS}
        self.email_index: dict[str, set[str]] = {}  # lower-cased Lead/Contact email -> ids
        self.apps: dict[str, ConnectedApp] = {}
        self.codes: dict[str, AuthCode] = {}
        self.refresh_tokens: dict[str, RefreshGrant] = {}
        self.access_tokens: dict[str, AccessGrant] = {}
        self.delete_log: deque[DeletedEntry] = deque()
        self.delete_log_floor = 0  # nothing deleted before this is still known
        self.locators: OrderedDict[str, Locator] = OrderedDict()
        self.list_views: dict[str, ListViewDef] = {}
        self.budget = ApiBudget()
        self.serial = 1000
        # While an all-or-none batch runs: (sobject, id, the row before, or None if created).
        self.journal: list[tuple[str, str, Record | None]] | None = None

    # --- ids and lookups ---------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        self.serial += 1
        return ids.make_id(prefix, self.serial)

    def find(self, record_id: str | None) -> tuple[ObjectDef, Record] | None:
        """Any record by its (15- or 18-character) id, whatever its type."""
        if not record_id:
            return None
        full = ids.normalize(record_id)
        obj = BY_PREFIX.get(full[:3]) if full else None
        if obj is None or full is None:
            return None
        record = self.records[obj.name].get(full)
        return (obj, record) if record is not None else None

    def user(self, user_id: str) -> Record | None:
        return self.records["User"].get(user_id)

    def find_user(self, username: str) -> Record | None:
        wanted = username.lower()
        return next((u for u in self.records["User"].values() if u["Username"].lower() == wanted), None)

    def permissions(self, user_id: str, sobject: str) -> str:
        """The "crud" letters the user's profile grants on ``sobject`` ("r" for everything else)."""
        user = self.user(user_id)
        profile = self.records["Profile"].get(user["ProfileId"]) if user else None
        if profile is None:
            return ""
        return PROFILE_PERMISSIONS.get(profile["Name"], {}).get(sobject, "r")

    def api_enabled(self, user_id: str) -> bool:
        user = self.user(user_id)
        profile = self.records["Profile"].get(user["ProfileId"]) if user else None
        return self.org_api_enabled and bool(profile and profile.get("PermissionsApiEnabled"))

    # --- email index (duplicate rules) -------------------------------------------------------

    def index_email(self, record_id: str, old: str | None, new: str | None) -> None:
        if old:
            self.email_index.get(old.lower(), set()).discard(record_id)
        if new:
            self.email_index.setdefault(new.lower(), set()).add(record_id)

    # --- OAuth -------------------------------------------------------------------------------

    def issue_tokens(self, *, client_id: str, user_id: str, with_refresh: bool) -> tuple[str, str | None]:
        """A new access token (and refresh token when asked), in Salesforce's token shapes."""
        refresh = None
        if with_refresh:
            refresh = "5Aep861" + secrets.token_urlsafe(60).replace("-", ".").replace("_", ".")
            self.refresh_tokens[refresh] = RefreshGrant(client_id=client_id, user_id=user_id)
        access = self.issue_access_token(client_id=client_id, user_id=user_id, refresh_token=refresh)
        return access, refresh

    def issue_access_token(self, *, client_id: str, user_id: str, refresh_token: str | None) -> str:
        # Real access tokens are "<15-char org id>!<opaque>"; clients must treat them as opaque.
        token = f"{self.org_id[:15]}!{secrets.token_urlsafe(72).replace('-', '.').replace('_', '.')}"
        self.access_tokens[token] = AccessGrant(
            client_id=client_id,
            user_id=user_id,
            expires_at=self.clock.now() + ACCESS_TOKEN_LIFETIME,
            refresh_token=refresh_token,
        )
        return token

    def session_user(self, token: str) -> str | None:
        """The user behind a live (unexpired, unrevoked) access token."""
        grant = self.access_tokens.get(token)
        if grant is None or grant.revoked or grant.expires_at <= self.clock.now():
            return None
        return grant.user_id

    # --- delete log --------------------------------------------------------------------------

    def purge_deleted(self, before: int | None = None) -> None:
        """Forget deletions older than the retention (or ``before``), as the recycle bin does."""
        floor = max(self.clock.now() - DELETE_LOG_RETENTION, before or 0, self.delete_log_floor)
        self.delete_log_floor = floor
        while self.delete_log and self.delete_log[0].deleted_at < floor:
            entry = self.delete_log.popleft()
            record = self.records[entry.sobject].get(entry.id)
            if record is not None and record.get("IsDeleted"):
                del self.records[entry.sobject][entry.id]


def iso(seconds: int) -> str:
    """Salesforce's datetime format: ``2026-11-21T10:00:00.000+0000``."""
    return _ISO_CACHE.get(seconds) or _format(seconds)


_ISO_CACHE: dict[int, str] = {}


def _format(seconds: int) -> str:
    text = dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    if len(_ISO_CACHE) > 500_000:
        _ISO_CACHE.clear()
    _ISO_CACHE[seconds] = text
    return text
