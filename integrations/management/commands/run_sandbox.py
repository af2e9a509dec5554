"""``manage.py run_sandbox``: serve the provider sandbox in the foreground (``make run`` starts it).

Its state (connections, cursors, records Cadence wrote) is kept in ``SANDBOX_STATE_FILE`` across
restarts; ``--fresh`` starts from the demo data again and replaces what was saved.
"""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any, NoReturn

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.sandbox.server import SandboxServer, create_sandbox


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
        parser.add_argument(
            "--state-file",
            default=settings.SANDBOX_STATE_FILE,
            help='where the state is kept across restarts ("" keeps it in memory only)',
        )
        parser.add_argument(
            "--fresh",
            action="store_true",
            help="ignore the saved state: start from the demo data and replace it",
        )

    def handle(
        self, *args: Any, host: str, port: int, cert_dir: str, state_file: str, fresh: bool, **options: Any
    ) -> None:
        if not settings.SANDBOX_ENABLED:
            # The sandbox accepts credentials it seeded itself; never let it stand in by accident.
            raise CommandError("SANDBOX_ENABLED is off in these settings; the sandbox will not start.")
        try:
            server = create_sandbox(
                host=host, port=port, cert_dir=cert_dir, state_file=state_file or None, fresh=fresh
            )
        except (OSError, ValueError) as exc:
            raise CommandError(f"Could not start the provider sandbox: {exc}") from exc
        self.stdout.write(f"Provider sandbox listening on {server.url}")
        self.stdout.write(f"CA certificate: {server.ca_path}")
        self.stdout.write(f"State: {server.state_file or 'in memory only'}")
        self.stdout.write("Quit with CONTROL-C.")
        _serve_until_stopped(server)


def _serve_until_stopped(server: SandboxServer) -> None:
    """Serve until CONTROL-C or SIGTERM (how honcho stops ``make run``), then stop, which saves
    the state. A second signal (honcho sends SIGTERM after the terminal's SIGINT) waits for it."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        server.stop()


def _interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt
