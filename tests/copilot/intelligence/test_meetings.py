"""Join-link detection (D2): which service a meeting is held on, from its link, location or text."""

from __future__ import annotations

import pytest

from copilot.intelligence.meetings import NO_JOIN_LINK, detect_join_link, join_label

MEET = "https://meet.google.com/abc-defg-hij"
TEAMS = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NzQ%40thread.v2/0?context=%7b%7d"


@pytest.mark.parametrize(
    ("conference_url", "location", "description", "expected"),
    [
        (MEET, "", "", ("google_meet", MEET)),
        (TEAMS, "", "", ("teams", TEAMS)),
        ("", "https://teams.live.com/meet/9384756", "", ("teams", "https://teams.live.com/meet/9384756")),
        ("", "https://gov.teams.microsoft.us/l/meetup-join/19%3a1", "", ("teams", "https://gov.teams.microsoft.us/l/meetup-join/19%3a1")),
        ("", "", "Join: https://us02web.zoom.us/j/81234567890?pwd=abc.", ("zoom", "https://us02web.zoom.us/j/81234567890?pwd=abc")),
        ("", "https://zoom.us/my/someroom", "", ("zoom", "https://zoom.us/my/someroom")),
        ("", "", "https://agency.zoomgov.com/j/1601234567", ("zoom", "https://agency.zoomgov.com/j/1601234567")),
        ("", "", "Webex: https://demo.webex.com/meet/jdoe", ("webex", "https://demo.webex.com/meet/jdoe")),
        ("", "", "(https://acme.webex.com/acme/j.php?MTID=m123)", ("webex", "https://acme.webex.com/acme/j.php?MTID=m123")),
        ("", "", "https://acme.webex.com/join/jdoe", ("webex", "https://acme.webex.com/join/jdoe")),
        ("", "Harbor & Pine offices, room 4", "Agenda: pricing", ("", "")),
        ("", "", "See https://www.example.com/agenda and https://zoom.us/pricing", ("", "")),
        ("", "", "https://meet.google.com/", ("", "")),
        ("", "", "https://teams.microsoft.com/l/channel/19%3a/General", ("", "")),
        ("", "", "", ("", "")),
    ],
    ids=[
        "meet-conference", "teams-conference", "teams-live", "teams-gov", "zoom-description",
        "zoom-personal-room", "zoomgov", "webex-meet", "webex-jphp", "webex-join", "no-link",
        "other-links-only", "meet-home-page", "teams-channel-not-meeting", "empty",
    ],
)  # fmt: skip
def test_detects_the_join_link(conference_url, location, description, expected):
    assert detect_join_link(conference_url, location, description) == expected


def test_the_providers_own_link_comes_first_then_location_then_description():
    assert detect_join_link(MEET, "https://zoom.us/j/1", "https://demo.webex.com/meet/x")[0] == "google_meet"
    assert detect_join_link("", "https://zoom.us/j/1", "https://demo.webex.com/meet/x")[0] == "zoom"
    assert detect_join_link("https://example.com/x", "", "https://demo.webex.com/meet/x")[0] == "webex"


def test_outlook_safe_links_are_unwrapped():
    wrapped = (
        "https://nam02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fus02web.zoom.us%2Fj%2F8123"
        "&data=05%7C01&reserved=0"
    )
    assert detect_join_link("", "", f"Join here: {wrapped}") == ("zoom", "https://us02web.zoom.us/j/8123")


def test_labels():
    assert join_label("teams") == "Microsoft Teams"
    assert join_label("") == NO_JOIN_LINK == "No join link"
