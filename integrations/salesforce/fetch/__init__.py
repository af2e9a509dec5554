"""Salesforce's sync side: what the engine in ``integrations/sync/`` pulls pages from.

- ``source``: the CRM source (incremental pass, historical poll) yielding ``CrmRecord`` pages.
- ``queries``: the SOQL it sends, the values it reads back and its describe cache.
- ``deletes``: deletions its own query cannot show (getDeleted, the full reconcile).
"""
