from tests.integrations.sync.mailbox_helpers import demo, google, recorder  # noqa: F401  (fixtures)
