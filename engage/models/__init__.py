"""Engage's data: contacts and accounts, their statuses, CSV imports, and each seller's profile
and settings. One module per concern; import models from ``engage.models``."""

from engage.models.contacts import Account, Contact
from engage.models.crm import CrmObject, CrmPoll, CrmSettings, FieldMapping, SyncRule
from engage.models.crm_log import CrmActivity, CrmWriteLog
from engage.models.imports import ContactImport, ContactImportPush, ImportedContact
from engage.models.profile import NotificationChoice, PhoneVerification, SellerProfile, Voicemail
from engage.models.statuses import DEFAULT_STATUSES, ContactStatus, EngageSettings

__all__ = [
    "DEFAULT_STATUSES",
    "Account",
    "Contact",
    "ContactImport",
    "ContactImportPush",
    "ContactStatus",
    "CrmActivity",
    "CrmObject",
    "CrmPoll",
    "CrmSettings",
    "CrmWriteLog",
    "EngageSettings",
    "FieldMapping",
    "ImportedContact",
    "NotificationChoice",
    "PhoneVerification",
    "SellerProfile",
    "SyncRule",
    "Voicemail",
]
