"""Course retirement to DSpace: plain domain code (no Airflow imports). The CMS and SWORD clients it drives are in
:mod:`ocw_operators.clients`.

* :mod:`.names`: course ids and archive member names, refusing zip-slip and hostile names;
* :mod:`.course`: the CMS's course and resource descriptions;
* :mod:`.zipstream`: a strictly sequential ZIP writer that hashes (MD5) every byte as it writes;
* :mod:`.sip`: the DSpace METS SIP (``mets.xml`` + content) built from the holding area;
* :mod:`.collection_map`: which DSpace collection each department deposits into;
* :mod:`.state`: the retirement state machine in the archive DB;
* :mod:`.steps`: one function per DAG step, each resumable and idempotent;
* :mod:`.workflow`: deposits DSpace put into its review workflow, finished once their handle is known;
* :mod:`.records`: the retirement side of the OAI-PMH reconciliation (flags, finishing workflow deposits).
"""
