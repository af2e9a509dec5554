"""Everything in Engage that talks to Salesforce or writes CRM state. ``gateway`` is the only
module that builds a Salesforce client; ``writes`` is the write gateway (G9, with the write
log); ``configuration`` saves CRM settings, mappings and rules; ``sync_handler`` is what the
integrations sync engine calls with fetched records, ``sync_batch`` applies one page of them;
``poll``, ``lookup``, ``linking``, ``pushes``, ``activities`` and ``list_views`` are the
services built on them. The pure rules (describe, fields, mapping, SOQL) are in ``engage.crm``."""
