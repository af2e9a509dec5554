"""Demo Co for ``make run``: the ``seed_demo`` command and what it writes.

Not a product app: it is installed by the ``local`` and ``test`` settings only, never in
production, and it is the one package besides the sandbox's own that may read the sandbox's
made-up world (``integrations.sandbox.demo_world``), so the demo contacts match the sandbox
mailboxes. ``seed`` writes the organisation, its users and the support account; ``engage`` the
workspace's contacts and accounts.
"""
