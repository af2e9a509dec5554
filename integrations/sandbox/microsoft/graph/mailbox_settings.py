"""``GET``/``PATCH /users/{id}/mailboxSettings``: automatic replies, time zone, language, working
hours, date and time formats. PATCH answers 200 with the properties it changed."""

# Reference: https://learn.microsoft.com/en-us/graph/api/user-get-mailboxsettings
# Reference: https://learn.microsoft.com/en-us/graph/api/user-update-mailboxsettings
# Reference: https://learn.microsoft.com/en-us/graph/api/resources/automaticrepliessetting

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from integrations.sandbox.microsoft.graph import errors, odata
from integrations.sandbox.microsoft.graph.pipeline import Target
from integrations.sandbox.microsoft.times import parse_date_time_zone
from integrations.sandbox.routing import Request, Response, json_response
from integrations.sandbox.state import SandboxState

USER = r"/graph/v1\.0/(?:me|users/(?P<user>[^/]+))"
STATUSES = {"disabled": "disabled", "alwaysenabled": "alwaysEnabled", "scheduled": "scheduled"}
AUDIENCES = {"none": "none", "contactsonly": "contactsOnly", "all": "all"}
WINDOWS_ZONES = frozenset({"UTC", "Pacific Standard Time", "Mountain Standard Time", "Central Standard Time",
                           "Eastern Standard Time", "GMT Standard Time", "W. Europe Standard Time",
                           "Romance Standard Time", "Central European Standard Time", "India Standard Time",
                           "Tokyo Standard Time", "AUS Eastern Standard Time"})  # fmt: skip
SETTABLE = frozenset({"automaticRepliesSetting", "timeZone", "language", "workingHours", "dateFormat",
                      "timeFormat", "delegateMeetingMessageDeliveryOptions", "archiveFolder"})  # fmt: skip


def routes() -> list[tuple[str, str, Any, str]]:
    return [
        ("GET", rf"{USER}/mailboxSettings", get_settings, "settings.read"),
        ("PATCH", rf"{USER}/mailboxSettings", patch_settings, "settings.write"),
    ]


def _context(request: Request, target: Target) -> str:
    return odata.context(request, f"users('{target.user.id}')/mailboxSettings")  # type: ignore[union-attr]


def get_settings(request: Request, state: SandboxState, target: Target) -> Response:
    return json_response(200, {"@odata.context": _context(request, target), **target.mailbox.settings})


def patch_settings(request: Request, state: SandboxState, target: Target) -> Response:
    payload = request.json()
    if not isinstance(payload, dict) or not payload:
        return errors.bad_request(request, "Empty Payload. JSON content expected.", code="RequestBodyRead")
    unknown = sorted(set(payload) - SETTABLE - {"@odata.context"})
    if unknown:
        return errors.bad_request(
            request,
            f"The property '{unknown[0]}' does not exist on type 'microsoft.graph.mailboxSettings'. Make "
            "sure to only use property names that are defined by the type.",
            code="RequestBodyRead",
        )
    settings = copy.deepcopy(target.mailbox.settings)
    for key, value in payload.items():
        if key == "@odata.context":
            continue
        if key == "automaticRepliesSetting":
            merged = _automatic_replies(request, settings[key], value)
            if isinstance(merged, Response):
                return merged
            settings[key] = merged
        elif key == "timeZone":
            if not isinstance(value, str) or (value not in WINDOWS_ZONES and value not in _zones()):
                return errors.bad_request(
                    request, "The specified time zone isn't valid.", code="InvalidTimeZone"
                )
            settings[key] = value
        elif isinstance(settings.get(key), dict) and isinstance(value, dict):
            settings[key] = {**settings[key], **value}
        else:
            settings[key] = value
    target.mailbox.settings = settings
    changed = {k: settings[k] for k in payload if k in settings}
    return json_response(200, {"@odata.context": _context(request, target), **changed})


def _automatic_replies(request: Request, current: dict[str, Any], value: Any) -> dict[str, Any] | Response:
    if not isinstance(value, dict):
        return errors.bad_request(request, "Invalid automaticRepliesSetting.", code="RequestBodyRead")
    merged = {**current, **value}
    status = STATUSES.get(str(merged.get("status", "")).lower())
    audience = AUDIENCES.get(str(merged.get("externalAudience", "")).lower())
    if status is None or audience is None:
        bad = merged.get("status") if status is None else merged.get("externalAudience")
        return errors.bad_request(request, f"Requested value '{bad}' was not found.", code="RequestBodyRead")
    merged["status"], merged["externalAudience"] = status, audience
    if status == "scheduled":
        start = parse_date_time_zone(merged.get("scheduledStartDateTime"))
        end = parse_date_time_zone(merged.get("scheduledEndDateTime"))
        if start is None or end is None or end <= start:
            return errors.bad_request(request, "The scheduled end time must be later than the start time.",
                                      code="ErrorInvalidTimeSettings")  # fmt: skip
    return merged


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())
