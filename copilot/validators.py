"""Checks shared by the forms that take a person's name."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

# Line breaks, tabs, NUL and the other C0 controls, and DEL: a name goes into email headers
# (From, To), where a line break would start a header of its own.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def refuse_control_characters(value: str) -> None:
    if CONTROL_CHARACTERS.search(value or ""):
        raise ValidationError(
            "Names cannot contain line breaks, tabs or other invisible control characters.",
            code="control_characters",
        )
