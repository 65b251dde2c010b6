"""Link checking for external resources: ocw-studio's status rules, checked concurrently with per-host politeness.

Plain Python (asyncio + aiohttp), no Airflow imports: operators call :func:`check_links` in a worker, or
:func:`acheck_links` from async code.
"""
