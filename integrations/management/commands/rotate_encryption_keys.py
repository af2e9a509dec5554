from django.core.management.base import BaseCommand
from django.db import transaction

from integrations.crypto import encrypted_fields


class Command(BaseCommand):
    help = "Re-encrypt every encrypted column with the first key in ENCRYPTION_KEYS."

    def handle(self, *args, **options) -> None:
        total = 0
        for model, field in encrypted_fields():
            # Reading decrypts with whichever key fits; writing encrypts with the first key.
            rows = model._base_manager.exclude(**{f"{field}__isnull": True}).values_list("pk", field)
            with transaction.atomic():
                for pk, plaintext in rows.iterator(chunk_size=500):
                    model._base_manager.filter(pk=pk).update(**{field: plaintext})
                    total += 1
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {total} value(s)."))
