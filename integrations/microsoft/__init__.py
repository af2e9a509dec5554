"""Microsoft 365 integration: Entra ID app tokens and Microsoft Graph (mail, calendar, contacts)."""
