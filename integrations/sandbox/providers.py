"""The provider emulators the sandbox serves. A new provider package adds itself here."""

from __future__ import annotations

from integrations.sandbox.google import GoogleSandbox
from integrations.sandbox.microsoft import MicrosoftSandbox
from integrations.sandbox.provider import SandboxProvider
from integrations.sandbox.salesforce import SalesforceSandbox


def default_providers() -> list[SandboxProvider]:
    return [GoogleSandbox(), MicrosoftSandbox(), SalesforceSandbox()]
