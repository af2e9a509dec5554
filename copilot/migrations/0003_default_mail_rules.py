"""Organisations that existed before Revenue Intelligence get the default Ignore list (B7), as new
ones do through ``copilot.intelligence.services.mail_rules_ensure_defaults``. The list is copied
here so this migration keeps doing the same thing when the product's default list changes."""

from django.db import migrations

DEFAULT_IGNORED_DOMAINS = (
    "gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "hotmail.com", "outlook.com", "live.com",
    "msn.com", "aol.com", "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com", "pm.me",
    "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com", "yandex.com", "yandex.ru", "mail.ru",
    "zoho.com", "fastmail.com", "tutanota.com", "hey.com", "qq.com", "163.com",
)  # fmt: skip


def add_default_mail_rules(apps, schema_editor):
    Organization = apps.get_model("copilot", "Organization")
    IntelligenceSettings = apps.get_model("copilot", "IntelligenceSettings")
    MailRule = apps.get_model("copilot", "MailRule")
    done = set(IntelligenceSettings.objects.values_list("organization_id", flat=True))
    for org_id in Organization.objects.exclude(pk__in=done).values_list("pk", flat=True):
        IntelligenceSettings.objects.create(organization_id=org_id)
        MailRule.objects.bulk_create(
            [
                MailRule(organization_id=org_id, value=d, action="ignore", is_default=True)
                for d in DEFAULT_IGNORED_DOMAINS
            ],
            ignore_conflicts=True,
        )


class Migration(migrations.Migration):
    dependencies = [("copilot", "0002_intelligence")]

    operations = [migrations.RunPython(add_default_mail_rules, migrations.RunPython.noop)]
