"""Engage's side of the Salesforce integration: the pure rules of field mapping
(``mapping``) and sync rules (``rules``) over plain describe dicts (``describe``), and the one
door to the integrations app (``salesforce``)."""
