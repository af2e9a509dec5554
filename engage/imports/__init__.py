"""CSV import of contacts (F1): reading the file (``parsing``), the importable fields and header
guessing (``fields``), cleaning one row (``rows``) and the batched pass over the whole file that
validates or imports it and writes the per-row report (``writer``). The services in
``engage/services/imports.py`` drive them; nothing here touches a request."""
