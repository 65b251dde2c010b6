"""Airflow Assets that connect the external-resource DAGs without polling.

``external_resource_check`` updates ``EXTERNAL_RESOURCES_CHECKED`` after each weekly check; the resource importer
updates ``EXTERNAL_RESOURCES_CREATED`` with ``extra={"resource_ids": [...]}`` for resources it created. The
``wayback_submit`` DAG is scheduled on either.
"""

from airflow.sdk import Asset

EXTERNAL_RESOURCES_CHECKED = Asset("ocw://external-resources/checked", group="ocw")
EXTERNAL_RESOURCES_CREATED = Asset("ocw://external-resources/created", group="ocw")
