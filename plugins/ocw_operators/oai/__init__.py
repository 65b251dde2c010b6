"""DSpace OAI-PMH harvesting and deposit reconciliation: plain modules with no Airflow imports.

Untrusted XML is parsed as a stream by :func:`ocw_operators.safe_xml.safe_iterparse` (entities, DTDs and network
access off).

* :mod:`~ocw_operators.oai.records` is the harvested-record model and OAI identifier/handle/datestamp rules;
* :mod:`~ocw_operators.oai.protocol` turns OAI-PMH responses into pages of records (or typed OAI errors), which
  :mod:`ocw_operators.clients.dspace_oai` fetches over HTTP (resumption tokens, 503 Retry-After);
* :mod:`~ocw_operators.oai.harvest` stores pages in the archive DB with a crash-safe watermark;
* :mod:`~ocw_operators.oai.reconcile` compares course retirements with what DSpace publishes.
"""
