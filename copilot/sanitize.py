"""The one sanitiser for HTML a person writes that Cadence later renders or sends: the custom
email signature. Every path that stores a signature (the onboarding wizard, the Profile page)
calls ``sanitize_signature``; rendering uses the stored, already clean value."""

from __future__ import annotations

import nh3

ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "a", "br", "p", "div", "span", "ul", "ol", "li", "img"}
ALLOWED_ATTRIBUTES = {"a": {"href"}, "img": {"src", "alt"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}


def sanitize_signature(html: str) -> str:
    """Only simple formatting, links (http, https, mailto) and images survive; scripts, styles
    and event-handler attributes are removed with their content."""
    cleaned = nh3.clean(
        html or "",
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer",
    )
    return cleaned.strip()
