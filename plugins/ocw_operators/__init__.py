"""Operators, hooks, triggers and domain logic for the library's archiving DAGs.

Lives under ``plugins/`` so every Airflow component (workers, the triggerer) can import it; the
``plugins/.airflowignore`` keeps Airflow's plugin loader from importing each module as a top-level plugin.
"""
