"""A thin typed client over simple-salesforce for one ``Connection``: one method per REST
endpoint Cadence uses.

Behaviour every method shares:
- 401 (expired/revoked access token) → the token is refreshed once through
  ``auth.refresh_access_token`` (which writes it back) and the call is retried once; a refused
  refresh marks the connection "needs reconnect" and raises ``ProviderAuthError``.
- 403 ``REQUEST_LIMIT_EXCEEDED`` → the connection is paused with a reason and
  ``ProviderThrottled`` is raised.
- 5xx, timeouts, connection failures → ``ProviderUnavailable``.
- any other refusal → ``SalesforceError`` with Salesforce's parsed error array.
- ``Sforce-Limit-Info`` of every answer is kept (``usage``), counted (``api_calls``) and written
  to the connection at most every ``USAGE_FLUSH_SECONDS`` (and on ``flush_usage()``).

Call it outside database transactions of your own: a refused refresh must be able to save the
connection's new status.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import urlparse

import requests
from django.conf import settings
from django.utils import timezone
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError as LibraryError

from integrations import services
from integrations.exceptions import ProviderAuthError, ProviderThrottled, ProviderUnavailable
from integrations.http import ProviderSession, retry_after_seconds
from integrations.models import Connection
from integrations.salesforce import auth
from integrations.salesforce.errors import SalesforceError

__all__ = ["SalesforceClient", "SalesforceError", "Usage"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

USAGE_FLUSH_SECONDS = 60
COLLECTION_LIMIT = 200  # records per sObject Collections request
LIMIT_BACKOFF_SECONDS = 15 * 60  # the daily allocation is a rolling 24 h window
LIMIT_PAUSE_REASON = (
    "Salesforce's daily API request limit for this org is used up (REQUEST_LIMIT_EXCEEDED). "
    "Cadence pauses syncing and tries again later."
)


class Usage:
    """API requests used / allowed in the org's rolling 24 hours."""

    def __init__(self, used: int, maximum: int) -> None:
        self.used, self.maximum = used, maximum

    @property
    def fraction(self) -> float:
        return self.used / self.maximum if self.maximum else 0.0

    def __repr__(self) -> str:
        return f"Usage({self.used}/{self.maximum})"


class SalesforceClient:
    """The Salesforce REST API as ``connection`` (its user, its instance).

    ``connection`` may be unsaved (the connect checks run before anything is stored): tokens and
    usage then stay in memory.
    """

    def __init__(self, connection: Connection, *, version: str | None = None) -> None:
        connection.require_active_organization()
        self.connection = connection
        self.version = version or settings.SALESFORCE_API_VERSION
        self.api_calls = 0  # REST requests made by this client (benchmarks report it)
        self.usage: Usage | None = None
        if connection.api_used is not None and connection.api_max:
            self.usage = Usage(connection.api_used, connection.api_max)
        self._usage_dirty = False
        self._describes: dict[str, dict[str, Any]] = {}
        self._http = ProviderSession()
        self._http.hooks["response"].append(self._observe)
        self._sf = self._build()

    def close(self) -> None:
        self.flush_usage()
        self._http.close()

    def __enter__(self) -> SalesforceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- Identity and limits --------------------------------------------------------------------
    # Reference: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_using_openid.htm
    def identity(self) -> dict[str, Any]:
        """The connected user as the identity service describes them (id, username, user_type,
        display_name, email, organization_id, urls, …)."""
        url = self.connection.identity_url
        if not url:
            raise SalesforceError(
                [
                    {
                        "message": "No identity URL is stored for this connection.",
                        "errorCode": "NO_IDENTITY_URL",
                    }
                ]
            )

        def call(sf: Salesforce) -> Any:
            response = self._http.get(
                url, headers={"Authorization": f"Bearer {sf.session_id}", "Accept": "application/json"}
            )
            if response.status_code == 403 and "Bad_OAuth_Token" in response.text:
                # The identity service says 403 where REST says 401 for a dead token.
                response.status_code = 401
            if response.status_code >= 300:
                raise _library_error(response, "identity")
            return response.json()

        return self._call("identity", call)

    # Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_limits.htm
    def limits(self) -> dict[str, Any]:
        result = self._call("limits", lambda sf: sf.limits())
        daily = result.get("DailyApiRequests") or {}
        if "Max" in daily and "Remaining" in daily:
            maximum = int(daily["Max"])
            self._set_usage(Usage(maximum - int(daily["Remaining"]), maximum))
        return result

    def budget_ok(self, fraction: float = 0.8) -> bool:
        """False once the org has used more than ``fraction`` of its daily API allocation (G14).
        Unknown usage counts as fine: the first answer tells."""
        return self.usage is None or self.usage.fraction <= fraction

    def flush_usage(self) -> None:
        """Write the latest usage to the connection now (call at the end of a unit of work)."""
        if self._usage_dirty and self.usage is not None:
            services.connection_record_api_usage(
                connection=self.connection, used=self.usage.used, maximum=self.usage.maximum
            )
            self._usage_dirty = False

    # --- Describe -------------------------------------------------------------------------------
    # Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm
    def describe(self, sobject: str) -> dict[str, Any]:
        """The object's DescribeSObjectResult (fields, picklists, and the connected user's
        createable/updateable/queryable on it); cached for this client's lifetime."""
        if sobject not in self._describes:
            self._describes[sobject] = self._call("describe", lambda sf: getattr(sf, sobject).describe())
        return self._describes[sobject]

    # --- Query ----------------------------------------------------------------------------------
    # Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm
    def query(self, soql: str) -> dict[str, Any]:
        """The first page: ``{totalSize, done, nextRecordsUrl?, records}``."""
        return self._call("query", lambda sf: sf.query(soql))

    # Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_queryoptions.htm
    def query_pages(
        self, soql: str, *, include_deleted: bool = False, batch_size: int | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Every page of records (2,000 each, or ``batch_size`` between 200 and 2,000 — a hint
        Salesforce may not follow), fetched as the caller iterates."""
        name = "queryAll" if include_deleted else "query"
        headers = {"Sforce-Query-Options": f"batchSize={batch_size}"} if batch_size else {}
        page = self._call(name, lambda sf: sf.query(soql, include_deleted=include_deleted, headers=headers))
        while True:
            yield list(page.get("records") or [])
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = self._call(
                name, lambda sf, url=next_url: sf.query_more(url, identifier_is_url=True, headers=headers)
            )

    # Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_queryall.htm
    def query_all_pages(self, soql: str, *, batch_size: int | None = None) -> Iterator[list[dict[str, Any]]]:
        """Like ``query_pages`` through queryAll: deleted and archived records included."""
        return self.query_pages(soql, include_deleted=True, batch_size=batch_size)

    def count(self, sobject_or_soql: str, where: str = "") -> int:
        """``SELECT COUNT()``: ``count("Lead")``, ``count("Lead", "Title LIKE '%Sales%'")``,
        ``count("Lead WHERE …")`` or a full ``count("SELECT COUNT() FROM Lead WHERE …")``."""
        text = sobject_or_soql.strip()
        if text.upper().startswith("SELECT"):
            soql = text
        else:
            if text.upper().startswith("FROM "):
                text = text[5:].strip()
            soql = f"SELECT COUNT() FROM {text}"  # noqa: S608 - SOQL the caller wrote, not SQL
            if where:
                soql += f" WHERE {where}"
        return int(self.query(soql).get("totalSize") or 0)

    # --- Records --------------------------------------------------------------------------------
    # Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_retrieve.htm
    def get(self, sobject: str, record_id: str) -> dict[str, Any]:
        return self._call("get", lambda sf: getattr(sf, sobject).get(record_id))

    # Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_sobject_create.htm
    # Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_duplicaterules.htm
    def create(self, sobject: str, data: dict[str, Any], *, allow_duplicates: bool = False) -> str:
        """Create one record; returns its Id. Duplicate rules apply unless ``allow_duplicates``
        (then ``Sforce-Duplicate-Rule-Header: allowSave=true`` is sent)."""
        headers = {"Sforce-Duplicate-Rule-Header": "allowSave=true"} if allow_duplicates else None
        result = self._call("create", lambda sf: getattr(sf, sobject).create(data, headers=headers))
        return str(result["id"])

    # Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_update_fields.htm
    def update(self, sobject: str, record_id: str, data: dict[str, Any]) -> None:
        self._call("update", lambda sf: getattr(sf, sobject).update(record_id, data))

    # Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_create.htm
    def collections_create(
        self, records: list[dict[str, Any]], *, all_or_none: bool = False
    ) -> list[dict[str, Any]]:
        """Create records (each with ``attributes: {type}``) 200 per request; returns one
        SaveResult ``{id, success, errors}`` per record, in order."""
        return self._collections("POST", records, all_or_none=all_or_none)

    # Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm
    def collections_update(
        self, records: list[dict[str, Any]], *, all_or_none: bool = False
    ) -> list[dict[str, Any]]:
        """Update records (each with ``attributes: {type}`` and ``Id``) 200 per request."""
        return self._collections("PATCH", records, all_or_none=all_or_none)

    # Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getupdated.htm
    def updated(self, sobject: str, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
        """``{ids, latestDateCovered}`` of records changed in [start, end] (≤ 30 days back)."""
        _require_aware(start, end)
        return self._call("updated", lambda sf: getattr(sf, sobject).updated(start, end))

    # Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getdeleted.htm
    def deleted(self, sobject: str, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
        """``{deletedRecords: [{id, deletedDate}], earliestDateAvailable, latestDateCovered}``;
        ``earliestDateAvailable`` after ``start`` means the delete log no longer reaches back."""
        _require_aware(start, end)
        return self._call("deleted", lambda sf: getattr(sf, sobject).deleted(start, end))

    # --- List views -----------------------------------------------------------------------------
    # Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_listviews.htm
    def list_views(self, sobject: str) -> list[dict[str, Any]]:
        """``[{id, label, developerName, resultsUrl, soqlCompatible, url}]``."""
        result = self._call("list_views", lambda sf: sf.restful(f"sobjects/{sobject}/listviews/"))
        return list((result or {}).get("listviews") or [])

    # Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_listviewresults.htm
    def list_view_results(
        self, sobject: str, list_view_id: str, *, limit: int | None = None, offset: int | None = None
    ) -> dict[str, Any]:
        """``{columns, id, label, records: [{columns: [{fieldNameOrPath, value}]}], size, done}``;
        ``limit`` rows (Salesforce: 25 by default, 2,000 at most) from ``offset`` (≤ 2,000)."""
        path = f"sobjects/{sobject}/listviews/{list_view_id}/results"
        params = {k: v for k, v in (("limit", limit), ("offset", offset)) if v is not None} or None
        return self._call("list_view_results", lambda sf: sf.restful(path, params=params)) or {}

    # --- Plumbing -------------------------------------------------------------------------------
    def _build(self) -> Salesforce:
        return Salesforce(
            instance_url=self.connection.instance_url,
            session_id=self.connection.get_credentials().get("access_token", ""),
            version=self.version,
            session=self._http,
        )

    def _collections(
        self, method: str, records: list[dict[str, Any]], *, all_or_none: bool
    ) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for start in range(0, len(records), COLLECTION_LIMIT):
            chunk = records[start : start + COLLECTION_LIMIT]
            body = {"allOrNone": all_or_none, "records": chunk}
            answer = self._call(
                "collections",
                lambda sf, body=body: sf.restful("composite/sobjects", method=method, json=body),
            )
            results.extend(answer or [])
        return results

    def _call(self, operation: str, fn: Callable[[Salesforce], T]) -> T:
        """Run ``fn`` against the API, refreshing the access token once on a 401."""
        refreshed = False
        while True:
            try:
                result = fn(self._sf)
            except LibraryError as exc:
                if exc.status == 401 and not refreshed:
                    refreshed = True
                    logger.info("salesforce.session_expired", extra=self._log_extra(operation))
                    auth.refresh_access_token(self.connection)  # raises ProviderAuthError if refused
                    self._sf = self._build()
                    continue
                raise self._translate(exc, operation) from exc
            except requests.RequestException as exc:
                logger.warning(
                    "salesforce.unreachable", extra=self._log_extra(operation, error=type(exc).__name__)
                )
                raise ProviderUnavailable(f"Could not reach Salesforce ({type(exc).__name__}).") from exc
            if self.connection.status == Connection.Status.PAUSED:
                services.connection_resume(connection=self.connection)
            self._maybe_flush()
            return result

    def _translate(self, exc: LibraryError, operation: str) -> Exception:
        error = SalesforceError.from_content(exc.content, status=exc.status)
        extra = self._log_extra(operation, status=exc.status, code=error.code)
        if exc.status == 401:
            logger.warning("salesforce.auth_refused", extra=extra)
            reason = "Salesforce refused Cadence's access token even after a refresh. Reconnect Salesforce."
            services.connection_mark_needs_reconnect(
                connection=self.connection, reason=reason, error=str(error)
            )
            return ProviderAuthError(reason, code=error.code)
        if "REQUEST_LIMIT_EXCEEDED" in error.codes:
            logger.warning("salesforce.limit_exceeded", extra=extra)
            services.connection_mark_paused(
                connection=self.connection, reason=LIMIT_PAUSE_REASON, error=str(error)
            )
            return ProviderThrottled(
                str(error), retry_after=LIMIT_BACKOFF_SECONDS, code="REQUEST_LIMIT_EXCEEDED"
            )
        if exc.status >= 500:
            logger.warning("salesforce.unavailable", extra=extra)
            retry_after = retry_after_seconds(self._http.last_response)
            return ProviderUnavailable(str(error), retry_after=retry_after, code=error.code)
        logger.info("salesforce.refused", extra=extra)
        return error

    def _observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        """Session hook: count REST calls and keep the org's API usage from each answer."""
        if "/services/data/" in urlparse(response.url).path:
            self.api_calls += 1
        header = response.headers.get("Sforce-Limit-Info")
        if header:
            usage = Salesforce.parse_api_usage(header).get("api-usage")
            if usage is not None:
                self._set_usage(Usage(usage.used, usage.total))
        return response

    def _set_usage(self, usage: Usage) -> None:
        self.usage = usage
        self._usage_dirty = True

    def _maybe_flush(self) -> None:
        checked = self.connection.api_checked_at
        if checked is None or (timezone.now() - checked).total_seconds() >= USAGE_FLUSH_SECONDS:
            self.flush_usage()

    def _log_extra(self, operation: str, **more: Any) -> dict[str, Any]:
        return {
            "connection_id": self.connection.pk,
            "organization_id": self.connection.organization_id,
            "operation": operation,
            **more,
        }


def _library_error(response: requests.Response, name: str) -> LibraryError:
    try:
        content: Any = response.json()
    except ValueError:
        content = response.text
    return LibraryError(response.url, response.status_code, name, content)


def _require_aware(*moments: dt.datetime) -> None:
    # simple-salesforce formats naive datetimes into a malformed value (provider-facts C3).
    if any(timezone.is_naive(m) for m in moments):
        raise ValueError("Pass timezone-aware datetimes to updated()/deleted().")
