"""The one sync engine (issue 11): every provider's source runs through the same pieces.

- ``policy``: why a run stopped, when a row is due, leases, backoff and queue expiry, one
  ``SourcePolicy`` per kind of source (mailbox, CRM).
- ``registry``: the handler registry (feature apps' handlers of records, by kind); the
  providers and their sources are the other registry, ``integrations.base``.
- ``source``: what a mailbox source implements (Google, Microsoft); Salesforce's CRM source lives
  in ``integrations/salesforce/fetch``.
- ``engine``: one mailbox run under its lease, one transaction per page; ``fanout``: the 5-minute
  fan-out of due mailbox rows; ``tasks``: their Celery task; ``health``: the Admin Portal's view.

``integrations.dispatcher`` runs the fan-outs every 5 minutes and starts a connection's first sync.
"""
