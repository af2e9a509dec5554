"""Video-conference join links of meetings (D2): which service a meeting is held on, if any.

Pure. The provider's own conference link (Google's hangoutLink / conferenceData, Outlook's
onlineMeeting.joinUrl) is looked at first, then the location, then the description, where invites
from other services put their links. A meeting without a recognised link is "not joinable".
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

GOOGLE_MEET = "google_meet"
TEAMS = "teams"
ZOOM = "zoom"
WEBEX = "webex"

LABELS: dict[str, str] = {
    GOOGLE_MEET: "Google Meet",
    TEAMS: "Microsoft Teams",
    ZOOM: "Zoom",
    WEBEX: "Webex",
}
NO_JOIN_LINK = "No join link"

_URL_RE = re.compile(r"https?://[^\s<>\"'()\[\]{}|\\^`]+", re.IGNORECASE)
_TRAILING = ".,;:!?*"
# Outlook rewrites links in invites through "Safe Links"; the real one is its ``url`` parameter.
_SAFELINKS_SUFFIX = ".safelinks.protection.outlook.com"


def _host_is(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def _provider_of(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    host = (parts.hostname or "").lower()
    path = parts.path.lower()
    if host == "meet.google.com":
        return GOOGLE_MEET if path.strip("/") else ""
    if _host_is(host, "teams.microsoft.com") or _host_is(host, "teams.microsoft.us"):
        return TEAMS if path.startswith(("/l/meetup-join/", "/meet/", "/l/meeting/")) else ""
    if host == "teams.live.com":
        return TEAMS if path.startswith(("/meet/", "/l/meetup-join/")) else ""
    if _host_is(host, "zoom.us") or _host_is(host, "zoomgov.com"):
        return ZOOM if path.startswith(("/j/", "/my/", "/w/", "/s/", "/wc/join/", "/wc/")) else ""
    if _host_is(host, "webex.com"):
        webex_paths = ("/meet/", "/join/", "/wbxmjs/joinservice/", "/webappng/sites/")
        return WEBEX if path.startswith(webex_paths) or path.endswith("/j.php") else ""
    return ""


def _unwrap(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    if host.endswith(_SAFELINKS_SUFFIX):
        inner = parse_qs(urlsplit(url).query).get("url")
        if inner:
            return inner[0]
    return url


def _links(text: str) -> list[str]:
    return [_unwrap(m.group(0).rstrip(_TRAILING)) for m in _URL_RE.finditer(text or "")]


def detect_join_link(conference_url: str, location: str, description: str) -> tuple[str, str]:
    """``(provider, url)`` of the meeting's join link, ``("", "")`` when it has none."""
    for text in (conference_url, location, description):
        for url in _links(text):
            provider = _provider_of(url)
            if provider:
                return provider, url
    return "", ""


def join_label(provider: str) -> str:
    """What the timeline shows: "Google Meet", … or "No join link"."""
    return LABELS.get(provider, NO_JOIN_LINK)
