"""Local servers that speak the real protocols of the systems the DAGs talk to.

DSpace (SWORD deposit, OAI-PMH), the Wayback Machine's Save Page Now 2 API, the course CMS, a link farm of
well- and badly-behaved web hosts, and a fake ``dsmc``. Everything binds to 127.0.0.1 only. Each HTTP service
accepts fault injections on ``POST /_sandbox/faults`` so tests can prove recovery.
"""
