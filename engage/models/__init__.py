"""Engage's data: contacts and accounts, their statuses, CSV imports, and each seller's profile
and settings; Salesflows. One module per concern; import models from ``engage.models``."""

from engage.models.contacts import Account, Contact
from engage.models.crm import CrmObject, CrmPoll, CrmSettings, FieldMapping, SyncRule
from engage.models.crm_log import CrmActivity, CrmWriteLog
from engage.models.imports import ContactImport, ContactImportPush, ImportedContact
from engage.models.profile import NotificationChoice, PhoneVerification, SellerProfile, Voicemail
from engage.models.salesflows import (
    CallLog,
    Enrolment,
    EnrolmentEvent,
    EnrolmentJob,
    Salesflow,
    SalesflowStep,
    SalesflowTemplate,
    SalesflowVariant,
    SellerTimeOff,
    StepSend,
)
from engage.models.statuses import DEFAULT_STATUSES, ContactStatus, EngageSettings

__all__ = [
    "DEFAULT_STATUSES",
    "Account",
    "CallLog",
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
    "Enrolment",
    "EnrolmentEvent",
    "EnrolmentJob",
    "FieldMapping",
    "ImportedContact",
    "NotificationChoice",
    "PhoneVerification",
    "Salesflow",
    "SalesflowStep",
    "SalesflowTemplate",
    "SalesflowVariant",
    "SellerProfile",
    "SellerTimeOff",
    "StepSend",
    "SyncRule",
    "Voicemail",
]
