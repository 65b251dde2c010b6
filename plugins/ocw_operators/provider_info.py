"""Provider metadata: registers the package's connection types so the Airflow UI shows their forms.

Exposed through the ``apache_airflow_provider`` entry point in pyproject.toml (``pip install -e .``).
"""

from __future__ import annotations

from typing import Any

CONNECTION_TYPES = [
    ("ocw_archive_db", "ocw_operators.hooks.archive_db.ArchiveDbHook"),
    ("dspace_sword", "ocw_operators.hooks.dspace_sword.DSpaceSwordHook"),
    ("dspace_oai", "ocw_operators.hooks.dspace_oai.DSpaceOaiHook"),
    ("ocw_cms", "ocw_operators.hooks.ocw_cms.OcwCmsHook"),
    ("wayback_spn2", "ocw_operators.hooks.wayback.WaybackHook"),
]


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "ocw-archive-airflow",
        "name": "OCW archive",
        "description": "Hooks for DSpace (SWORD, OAI-PMH), the Wayback Machine, the course CMS and the archive DB.",
        "versions": ["0.1.0"],
        "connection-types": [
            {"connection-type": conn_type, "hook-class-name": hook} for conn_type, hook in CONNECTION_TYPES
        ],
    }
