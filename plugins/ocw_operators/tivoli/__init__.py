"""The Tivoli (IBM Spectrum Protect) tape archive: dropbox preparation, nightly load and retrieval.

Plain domain modules with no Airflow imports:

* :mod:`~ocw_operators.tivoli.identifiers`: BibID/VID parsing and the pair-split staging path;
* :mod:`~ocw_operators.tivoli.names`: file-name safety and the date-suffixed rename;
* :mod:`~ocw_operators.tivoli.filesystem`: scanning without following symlinks, crash-safe moves;
* :mod:`~ocw_operators.tivoli.lease`: a cross-worker lock held in the archive DB;
* :mod:`~ocw_operators.tivoli.prep`: the Tivoli Preparation Tool, step by step, holding back a volume that
  cannot be staged;
* :mod:`~ocw_operators.tivoli.dsmc`: building ``dsmc`` command lines and parsing their output;
* :mod:`~ocw_operators.tivoli.load`: the nightly load of the staging area;
* :mod:`~ocw_operators.tivoli.retrieve`: listing archived versions and retrieving them;
* :mod:`~ocw_operators.tivoli.summary`: what the tasks log, in sentences.
"""
