"""Protocol clients, one per external system, each over a ``requests`` (or ``aiohttp``) session it is given.

* :mod:`.cms`: the course CMS (retirement queue, course resources and metadata, ``set_dspace_handle``);
* :mod:`.dspace_sword`: DSpace SWORD v1/v2 deposits and what DSpace answers them with;
* :mod:`.dspace_oai`: DSpace OAI-PMH over HTTP (verbs, resumption tokens, 503 Retry-After); the XML is read by
  :mod:`ocw_operators.oai.protocol`;
* :mod:`.wayback_spn2`: the Wayback Machine's Save Page Now 2 API, blocking and async.

The hooks in :mod:`ocw_operators.hooks` configure the session from an Airflow Connection (host, auth, headers,
proxies, TLS) and build the client once; tests and benchmarks build clients directly. No Airflow imports. Bounded
reads, Retry-After and redaction come from :mod:`ocw_operators.http_support`.
"""
