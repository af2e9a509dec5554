"""The Microsoft identity data every fresh sandbox starts with (``make run`` demo and tests).

Not secrets: they only open the local sandbox. Point ``MICROSOFT_LOGIN_URL`` at the sandbox and use
these ids to connect Demo Co's Microsoft 365 tenant without a real Entra app registration.
"""

DEMO_TENANT_ID = "9b1c3f52-7a4e-4d1b-9c61-2f0e5a7d8c43"
DEMO_TENANT_DOMAIN = "democo.onmicrosoft.com"
DEMO_TENANT_NAME = "Demo Co"

DEMO_CLIENT_ID = "3e0f7c2a-5b84-4c9e-a1d6-7f2b9e4c0d18"
DEMO_CLIENT_SECRET = "Sbx8Q~cadence-sandbox-demo-secret-not-for-production"
DEMO_APP_NAME = "Cadence (sandbox)"
# The application permissions an admin would consent to for Cadence (DESIGN.md, provider-facts B3-B5).
DEMO_APP_ROLES = (
    "Mail.ReadWrite",
    "Mail.Send",
    "MailboxSettings.ReadWrite",
    "Calendars.ReadWrite",
    "Contacts.Read",
    "GroupMember.Read.All",
    "User.Read.All",
)
