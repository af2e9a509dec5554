"""``manage.py run_sandbox``: serve the provider sandbox in the foreground (``make run`` starts it)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.sandbox.server import create_sandbox


class Command(BaseCommand):
    help = "Serve the local provider sandbox (Google, Microsoft, Salesforce emulator) over HTTPS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.SANDBOX_HOST, help="loopback address")
        parser.add_argument("--port", type=int, default=settings.SANDBOX_PORT)
        parser.add_argument(
            "--cert-dir",
            default=str(settings.SANDBOX_DIR),
            help="where the CA and server certificate live (generated on first start)",
        )

    def handle(self, *args: Any, host: str, port: int, cert_dir: str, **options: Any) -> None:
        if not settings.SANDBOX_ENABLED:
            # The sandbox accepts credentials it seeded itself; never let it stand in by accident.
            raise CommandError("SANDBOX_ENABLED is off in these settings; the sandbox will not start.")
        try:
            server = create_sandbox(host=host, port=port, cert_dir=cert_dir)
        except (OSError, ValueError) as exc:
            raise CommandError(f"Could not start the provider sandbox: {exc}") from exc
        self.stdout.write(f"Provider sandbox listening on {server.url}")
        self.stdout.write(f"CA certificate: {server.ca_path}")
        self.stdout.write("Quit with CONTROL-C.")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
