"""How Cadence reaches a phone (A9): for now, delivering a verification code.

The backend is chosen by the ``TELEPHONY_BACKEND`` setting (a dotted path), like Django's email
backends: ``ConsoleTelephonyBackend`` logs the code (development), ``LocmemTelephonyBackend``
keeps it in ``LocmemTelephonyBackend.outbox`` (tests). A real provider (SMS or a voice call)
subclasses ``TelephonyBackend``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import ClassVar

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("cadence.telephony")


class TelephonyBackend:
    def send_verification_code(self, phone: str, extension: str, code: str) -> None:
        """Deliver ``code`` to ``phone`` (E.164), dialling ``extension`` when there is one."""
        raise NotImplementedError


class ConsoleTelephonyBackend(TelephonyBackend):
    """Logs the code instead of sending it: the only place a code is ever logged."""

    def send_verification_code(self, phone: str, extension: str, code: str) -> None:
        number = f"{phone} ext. {extension}" if extension else phone
        logger.info("verification code for %s: %s", number, code)


@dataclass(frozen=True)
class SentCode:
    phone: str
    extension: str
    code: str


class LocmemTelephonyBackend(TelephonyBackend):
    """Keeps what was sent in the class-wide ``outbox`` (shared by every instance and thread)."""

    outbox: ClassVar[list[SentCode]] = []

    def send_verification_code(self, phone: str, extension: str, code: str) -> None:
        self.outbox.append(SentCode(phone=phone, extension=extension, code=code))


def get_telephony_backend() -> TelephonyBackend:
    return import_string(settings.TELEPHONY_BACKEND)()
