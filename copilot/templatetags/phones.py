"""Phone numbers on pages: ``{% load phones %}``.

``{{ value|phone }}`` writes a stored number in the international format; ``{{ value|phone_link }}``
is a ``tel:`` link for a valid number, the plain (escaped) text for anything else and "—" for
no number, so a value that is not a number ("12ab") is never offered to a dialer.
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from copilot import phones

register = template.Library()


@register.filter
def phone(value: str | None) -> str:
    return phones.display(value)


@register.filter
def phone_tel(value: str | None) -> str:
    """The ``tel:`` href of a valid number, else ""."""
    return phones.tel_href(value)


@register.filter
def phone_link(value: str | None, empty: str = "—") -> str:
    text = phones.display(value)
    if not text:
        return empty
    href = phones.tel_href(value)
    return format_html('<a href="{}">{}</a>', href, text) if href else format_html("{}", text)
