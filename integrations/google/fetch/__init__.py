"""Google's sync side: what the engine in ``integrations/sync/`` pulls pages from.

- ``source``: ``GOOGLE_ADAPTER``, the mailbox source (fetch per kind, send, the admin's scope).
- ``gmail``, ``calendar``, ``people``: one module per Google API the source reads, each turning
  answers into ``integrations.records``.
- ``cursor``: the cursor text the engine stores for them (history ids, sync tokens).
"""
