"""External resources: selection, batching and check bookkeeping in the archive DB (no Airflow imports)."""
