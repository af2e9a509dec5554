"""``manage.py run_sandbox``: serve the provider sandbox in the foreground (``make run`` starts it).

Its state (connections, cursors, records Cadence wrote) is kept in ``SANDBOX_STATE_FILE`` across
restarts; ``--fresh`` starts from the demo data again and replaces what was saved. ``--then
COMMAND`` runs another management command once the sandbox listens (``make run`` connects Demo Co
with ``--then connect_demo``), in a thread beside the server: its failure is reported, never fatal.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any, NoReturn

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from integrations.sandbox.server import SandboxServer, create_sandbox

logger = logging.getLogger(__name__)


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
        parser.add_argument(
            "--then",
            default="",
            metavar="COMMAND",
            help="a management command to run once the sandbox listens (e.g. connect_demo)",
        )

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        cert_dir: str,
        state_file: str,
        fresh: bool,
        then: str,
        **options: Any,
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
        if then:
            # The socket is bound, so the command's requests wait in the backlog until serving starts.
            threading.Thread(target=self._run_then, args=(then,), name="sandbox-then", daemon=True).start()
        _serve_until_stopped(server)

    def _run_then(self, command: str) -> None:
        try:
            call_command(command, stdout=self.stdout, stderr=self.stderr)
        except Exception as exc:  # reported, and the sandbox keeps serving
            logger.exception("sandbox.then_failed", extra={"command": command})
            self.stderr.write(f"{command} failed: {exc}")
        finally:
            connection.close()


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
