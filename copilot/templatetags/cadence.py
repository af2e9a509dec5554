from typing import Any

from django import template

from copilot.links import external_url

register = template.Library()


@register.filter
def get_item(mapping: dict, key: str) -> Any:
    """``{{ mapping|get_item:key }}`` for dict lookups with a variable key."""
    return mapping.get(key, "") if hasattr(mapping, "get") else ""


@register.filter
def safe_url(value: str | None) -> str:
    """``{{ account.website|safe_url }}``: the http(s) link target for an address from outside,
    or "" (render the text without a link then). See ``copilot.links.external_url``."""
    return external_url(value)
