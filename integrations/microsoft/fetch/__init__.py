"""Microsoft's sync side: what the engine in ``integrations/sync/`` pulls pages from.

- ``source``: ``MICROSOFT_ADAPTER``, the mailbox source (fetch per kind, send, the admin's scope).
- ``mail``, ``calendar``, ``contacts``: one module per Graph resource the source reads, each
  turning answers into ``integrations.records``.
- ``delta``: Graph delta queries (paging, the delta link as cursor); ``convert``: Graph values.
"""
