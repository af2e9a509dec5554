"""Engage's pure CRM rules: describe parsing (``describe``), Engage's fields (``fields``), field
mapping (``mapping``), sync rules compiled to SOQL (``soql_rules``) and the configuration pages'
models (``pages``). No I/O here: what talks to Salesforce is in ``engage.services.crm``."""
