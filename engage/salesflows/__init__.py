"""Salesflows (F4, issue 13): sequences of email, call and task steps sent inside each seller's
hours, exactly once. ``merge`` is the template language of the steps (merge fields, fallbacks,
validation, rendering); it is pure, like ``engage.scheduling``."""
