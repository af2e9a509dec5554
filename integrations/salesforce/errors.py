"""Salesforce's own error answers, parsed, for callers that show them to people (G13)."""

from __future__ import annotations

from typing import Any

from integrations.exceptions import ProviderError


class SalesforceError(ProviderError):
    """Salesforce refused a request: validation rule, required field, duplicate rule, bad SOQL,
    unknown field or id, missing permission, …

    ``errors`` is Salesforce's error array, each ``{message, errorCode, fields, duplicateResult?}``
    (Reference: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm).
    ``code`` is the first ``errorCode``; ``status`` the HTTP status.
    """

    def __init__(self, errors: list[dict[str, Any]], *, status: int | None = None) -> None:
        self.errors = errors
        self.status = status
        messages = [str(e.get("message") or e.get("errorCode") or "") for e in errors]
        message = " ".join(m for m in messages if m) or f"Salesforce answered HTTP {status}."
        code = next((str(e["errorCode"]) for e in errors if e.get("errorCode")), None)
        super().__init__(message, code=code)

    @classmethod
    def from_content(cls, content: Any, *, status: int | None = None) -> SalesforceError:
        """From a response body: the usual array, a single object, or text."""
        if isinstance(content, dict):
            content = [content]
        if isinstance(content, list) and all(isinstance(e, dict) for e in content):
            errors = [_normalise(e) for e in content]
        else:
            text = content.decode(errors="replace") if isinstance(content, bytes) else str(content or "")
            errors = [{"message": text.strip()[:500], "errorCode": f"HTTP_{status}", "fields": []}]
        return cls(errors, status=status)

    @property
    def codes(self) -> list[str]:
        return [str(e.get("errorCode")) for e in self.errors if e.get("errorCode")]

    @property
    def duplicate_ids(self) -> list[str]:
        """Ids of the existing records a duplicate rule matched (DUPLICATES_DETECTED)."""
        ids: list[str] = []
        for error in self.errors:
            result = error.get("duplicateResult") or {}
            for match in result.get("matchResults") or []:
                for record in match.get("matchRecords") or []:
                    record_id = (record.get("record") or {}).get("Id")
                    if record_id and record_id not in ids:
                        ids.append(record_id)
        return ids

    @property
    def field_errors(self) -> dict[str, list[str]]:
        """Field API name → messages, for errors Salesforce tied to fields."""
        by_field: dict[str, list[str]] = {}
        for error in self.errors:
            for field in error.get("fields") or []:
                by_field.setdefault(str(field), []).append(str(error.get("message") or ""))
        return by_field


def _normalise(error: dict[str, Any]) -> dict[str, Any]:
    """Collection results say ``statusCode`` where REST errors say ``errorCode``."""
    error = dict(error)
    if "errorCode" not in error and "statusCode" in error:
        error["errorCode"] = error["statusCode"]
    error.setdefault("fields", [])
    return error
