"""Operators: thin Airflow wrappers around the plain domain modules."""
