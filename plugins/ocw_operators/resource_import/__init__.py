"""External resources from course markdown: ocw-studio's ``markdown_cleanup`` conversion, over sites on disk.

No Airflow imports here: the CLI (``python -m ocw_operators.resource_import``) and the
``external_resource_import`` DAG's operator share this code.

- :mod:`.markdown_links` finds links the way a CommonMark renderer sees them.
- :mod:`.resource_fields` derives a resource's UUID, filename, title and license-warning flag.
- :mod:`.sites` reads Hugo course sites (layout documented there).
- :mod:`.importer` plans, persists and rewrites; :mod:`.report` holds the CSV/summary.
"""

from ocw_operators.resource_import.importer import (
    ImportOptions,
    ImportOptionsError,
    Rule,
    created_resource_ids,
    import_sites,
)
from ocw_operators.resource_import.report import ImportReport

__all__ = ["ImportOptions", "ImportOptionsError", "ImportReport", "Rule", "created_resource_ids", "import_sites"]
