"""Custom operators: thin adapters from Airflow tasks to the plain domain functions and hooks."""
