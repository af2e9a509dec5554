from django.core.management.base import BaseCommand

from copilot.services.demo import DEMO_PASSWORD, DEMO_USERS, SUPPORT_EMAIL, demo_seed


class Command(BaseCommand):
    help = "Create (or top up) the Demo Co organisation and its users. Safe to run repeatedly."

    def handle(self, *args, **options) -> None:
        org = demo_seed()
        self.stdout.write(self.style.SUCCESS(f"Seeded {org.name}. Sign in with password '{DEMO_PASSWORD}':"))
        for email, _first, _last, role, _title in DEMO_USERS:
            self.stdout.write(f"  {email:<24} {role.label}")
        self.stdout.write(f"  {SUPPORT_EMAIL:<24} support staff (Django admin at /support/)")
