"""One hook per external system; each reads its Airflow Connection at run time, never at parse time."""
