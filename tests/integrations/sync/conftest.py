from tests.integrations.sync.fixtures import demo, google, recorder  # noqa: F401  (fixtures)
