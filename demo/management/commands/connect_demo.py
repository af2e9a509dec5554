"""``manage.py connect_demo``: connect Demo Co's Google Workspace and Salesforce through the running
provider sandbox, once (``demo/connect.py``). ``make run`` runs it from the sandbox's process
(``run_sandbox --then connect_demo``); it can also be run by hand while ``make run`` is up."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.connect import DemoConnectError, demo_connect


class Command(BaseCommand):
    help = "Connect Demo Co to Google Workspace and Salesforce through the provider sandbox (once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--web-host",
            default=f"localhost:{os.environ.get('PORT') or 8000}",
            help="host:port the browser uses for Cadence (the OAuth redirect URIs)",
        )

    def handle(self, *args: Any, web_host: str, **options: Any) -> None:
        if not settings.SANDBOX_ENABLED:
            raise CommandError("SANDBOX_ENABLED is off: Demo Co connects only to the provider sandbox.")
        try:
            report = demo_connect(
                sandbox_url=f"https://localhost:{settings.SANDBOX_PORT}",
                ca_path=settings.PROVIDER_CA_BUNDLE,
                web_host=web_host,
                say=self.stdout.write,
            )
        except DemoConnectError as exc:
            raise CommandError(
                f"Demo Co could not be connected by itself: {exc}. "
                "Connect it from Admin › Integrations instead."
            ) from exc
        if report.skipped:
            names = " and ".join(p.title() for p in report.skipped)
            self.stdout.write(f"Demo Co has had {names} connected before; left as it is.")
