"""The plain-text part of a Salesflow email written in HTML, when the seller wrote none. Pure."""

from __future__ import annotations

import html
import re

from django.utils.html import strip_tags

_LINE_BREAK = re.compile(r"(?i)<br\s*/?>")
_BLOCK_END = re.compile(r"(?i)</(p|div|li|tr|h[1-6]|blockquote|ul|ol|table)>")
_LINK = re.compile(r"(?is)<a\s[^>]*href=[\"']([^\"']+)[\"'][^>]*>(.*?)</a>")


def _link(match: re.Match[str]) -> str:
    href, label = match.group(1), strip_tags(match.group(2)).strip()
    return label if not label or href in label or href.startswith("mailto:") else f"{label} ({href})"


def html_to_text(body: str) -> str:
    """``body`` as plain text: paragraphs apart by a blank line, line breaks kept, links written
    as "label (address)", tags dropped, entities unescaped. Merge fields stay as they are."""
    text = _LINK.sub(_link, body or "")
    text = _LINE_BREAK.sub("\n", text)
    text = _BLOCK_END.sub("\n\n", text)
    text = html.unescape(strip_tags(text)).replace("\u00a0", " ")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
