"""External resources: links in course sites, kept in the archive DB with their link-check and Wayback state.

No Airflow imports here: ``python -m ocw_operators resources ...`` and the DAGs' operators share this code.

- :mod:`.store`: selection by site, batches, check results, what a run created.
- :mod:`.file_import`: loading resources from a CSV or JSON export.
- The course sites on disk, in the layout ocw-studio publishes: :mod:`.sites` reads them (layout documented there),
  :mod:`.front_matter` edits one value of a front matter block or ``data/course.json`` in place,
  :mod:`.resource_pages` reads and writes external-resource pages as ocw-studio does, :mod:`.site_git` commits in
  sites that are git checkouts.
- The markdown import (ocw-studio's ``markdown_cleanup`` rules): :mod:`.markdown_import` runs it site by site;
  :mod:`.options` validates its options; :mod:`.markdown_links` (on :mod:`.markdown_syntax`) finds links the way a
  CommonMark renderer sees them; :mod:`.link_conversion` and :mod:`.menu_conversion` apply the two rules;
  :mod:`.resource_fields` derives a new resource's fields; :mod:`.catalog` knows the resources of a run;
  :mod:`.planning` plans a site; :mod:`.persistence` saves, :mod:`.rewriting` rewrites the files (:mod:`.fsutil`:
  safe reads, atomic writes); :mod:`.report` is the per-link CSV and the summary.
- :mod:`.site_files`: the archive DB's link status and Wayback URLs written back into the sites' pages.
"""
