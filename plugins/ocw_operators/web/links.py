"""Addresses of the Archive pages, for task summaries and alert mails (no web framework needed to build them)."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

URL_PREFIX = "/archive"


def configured_base_url() -> str:
    """The Airflow UI's address, ``[api] base_url``, without a trailing slash ("" when it is not set)."""
    from airflow.configuration import conf  # noqa: PLC0415  (read when a summary is written, not at import)

    return (conf.get("api", "base_url", fallback="") or "").rstrip("/")


def archive_base_path(base_url: str | None = None) -> str:
    """The Archive app's path on the API server: the base URL's path (Airflow behind a prefix) + /archive."""
    base = configured_base_url() if base_url is None else base_url
    return urlsplit(base).path.rstrip("/") + URL_PREFIX


def archive_page_url(page: str, base_url: str | None = None) -> str:
    """The absolute URL of an Archive page when the base URL (default ``[api] base_url``) has a scheme, else its
    path (``/archive/...``).

    ``page`` is relative to the app, e.g. ``links`` or ``runs/<dag_id>/<run_id>``; each path segment is quoted.
    """
    path = "/".join(quote(part, safe="") for part in page.strip("/").split("/"))
    base = (configured_base_url() if base_url is None else base_url).rstrip("/")
    if urlsplit(base).scheme:
        return f"{base}{URL_PREFIX}/{path}"
    return f"{archive_base_path(base)}/{path}"


def run_page(dag_id: str, run_id: str, base_url: str | None = None) -> str:
    return archive_page_url(f"runs/{dag_id}/{run_id}", base_url)


def details_line(context) -> str:
    """The last line of a task's summary: the Archive run tab that lists what this run did (the Archive's first
    page when the context names no run)."""
    ti, dag = context.get("ti"), context.get("dag")
    dag_id = getattr(ti, "dag_id", None) or getattr(dag, "dag_id", None)
    run_id = context.get("run_id") or getattr(ti, "run_id", None)
    if not (isinstance(dag_id, str) and isinstance(run_id, str) and dag_id and run_id):
        return f"Details: {archive_page_url('links')}"
    return f"Details: {run_page(dag_id, run_id)}"
