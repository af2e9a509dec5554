from django.core.management.base import BaseCommand

from demo.engage import engage_demo_seed
from demo.seed import DEMO_PASSWORD, DEMO_USERS, SUPPORT_EMAIL, demo_seed
from engage.models import Account, Contact


class Command(BaseCommand):
    help = (
        "Create (or top up) the Demo Co organisation, its users and its workspace data "
        "(contacts and accounts). Safe to run repeatedly."
    )

    def handle(self, *args, **options) -> None:
        org = demo_seed()
        self.stdout.write(self.style.SUCCESS(f"Seeded {org.name}. Sign in with password '{DEMO_PASSWORD}':"))
        for email, _first, _last, role, _title in DEMO_USERS:
            self.stdout.write(f"  {email:<24} {role.label}")
        self.stdout.write(f"  {SUPPORT_EMAIL:<24} support staff (Django admin at /support/)")

        created = engage_demo_seed(org)
        contacts = Contact.objects.for_org(org).count()
        accounts = Account.objects.for_org(org).count()
        if created:
            self.stdout.write(f"Added {created} demo contacts across {accounts} accounts.")
        else:
            self.stdout.write(f"{org.name} already has {contacts} contacts; left them as they are.")
        self.stdout.write(
            "Try the CSV import with static/demo/sample-contacts.csv (/static/demo/sample-contacts.csv)."
        )
