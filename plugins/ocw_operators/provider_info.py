"""Provider metadata: registers the package's connection types and their UI forms.

Exposed through the ``apache_airflow_provider`` entry point in pyproject.toml (``pip install -e .``). Airflow 3.3
builds connection forms from each type's ``conn-fields`` and ``ui-field-behaviour`` here, without importing the
hooks; both come from :mod:`ocw_operators.connection_forms`, which the hooks also parse their extras with.
"""

from __future__ import annotations

from typing import Any

from ocw_operators.connection_forms import CONNECTION_FORMS

CONNECTION_TYPES = [(form.conn_type, form.hook_class_name) for form in CONNECTION_FORMS]


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "ocw-archive-airflow",
        "name": "OCW archive",
        "description": "Hooks for DSpace (SWORD, OAI-PMH), the Wayback Machine, the course CMS and the archive DB.",
        "versions": ["0.1.0"],
        "connection-types": [form.provider_entry() for form in CONNECTION_FORMS],
    }
