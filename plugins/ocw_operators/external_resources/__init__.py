"""External resources: links in course sites, kept in the archive DB with their link-check and Wayback state.

No Airflow imports here: ``python -m ocw_operators resources ...`` and the DAGs' operators share this code.

- :mod:`.store`: selection by site, batches, check results, what a run created.
- :mod:`.file_import`: loading resources from a CSV or JSON export.
- The markdown import (ocw-studio's ``markdown_cleanup`` rules over Hugo course sites on disk):
  :mod:`.markdown_import` runs it site by site; :mod:`.options` validates its options; :mod:`.sites` reads the
  sites (layout documented there); :mod:`.markdown_links` (on :mod:`.markdown_syntax`) finds links the way a
  CommonMark renderer sees them; :mod:`.resource_fields` derives a new resource's fields; :mod:`.catalog` knows
  the resources of a run; :mod:`.planning` runs the rules; :mod:`.persistence` saves, :mod:`.rewriting` rewrites
  the files (:mod:`.fsutil`: safe reads, atomic writes); :mod:`.report` is the per-link CSV and the summary.
"""
