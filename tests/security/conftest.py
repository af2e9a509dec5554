"""The security regression suite borrows the mailbox-sync fixtures (Demo Co, its connections, a
recording ingestion handler)."""

from tests.integrations.sync.mailbox_helpers import demo, google, recorder  # noqa: F401  (fixtures)
