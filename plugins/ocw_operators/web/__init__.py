"""The Archive views: server-rendered pages over the archive DB, mounted on Airflow's API server."""
