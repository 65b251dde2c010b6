"""Airflow local settings of this deployment (``$AIRFLOW_HOME/config/airflow_local_settings.py``).

Airflow imports this module in every component before anything else (see ``airflow.settings.initialize``).
docker-compose mounts ``config/`` at ``/opt/airflow/config``; the local Celery cluster of the integration tests
copies it into its private AIRFLOW_HOME.
"""

from ocw_operators.celery_compat import install as _install_celery_compat

# The pinned Celery provider needs a decorator the pinned Celery no longer ships (see ocw_operators.celery_compat).
_install_celery_compat()
