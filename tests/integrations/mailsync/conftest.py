from tests.integrations.mailsync.fixtures import demo, google, recorder  # noqa: F401  (fixtures)
