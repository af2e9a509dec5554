"""Salesforce: OAuth connect with the G1 checks, the REST client, the Admin Portal pages."""
