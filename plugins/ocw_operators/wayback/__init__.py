"""Wayback Machine (Save Page Now 2) work as plain functions: the protocol client, candidate selection,
batch submission under a global rate limit, status recording and stale-job expiry. No Airflow imports:
the operators inject the archive DB engine, the SPN2 client and the rate limiter.
"""
