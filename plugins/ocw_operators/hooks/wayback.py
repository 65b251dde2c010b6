"""Hook for the Internet Archive's Save Page Now 2 API (Connection ``wayback_default``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import aiohttp
import requests
from airflow.sdk import BaseHook
from airflow.sdk.log import mask_secret

from ocw_operators.clients.wayback_spn2 import (
    DEFAULT_BASE_URL,
    CaptureSubmission,
    JobStatus,
    Spn2Client,
    Spn2Settings,
    WaybackError,
)
from ocw_operators.clients.wayback_spn2_async import AsyncSpn2Client
from ocw_operators.connection_forms import WAYBACK_SPN2


def spn2_settings_from_connection(conn: Any) -> Spn2Settings:
    """Build :class:`Spn2Settings` from an Airflow Connection.

    ``host`` may be a full URL (``https://web.archive.org``) or a bare host with ``schema`` (http/https) and
    ``port``; everything defaults to https://web.archive.org. ``login`` is the S3 access key, ``password`` the
    secret, ``extra.timeout`` the per-request timeout in seconds (:data:`ocw_operators.connection_forms.WAYBACK_SPN2`).
    """
    host = (conn.host or "").strip().rstrip("/")
    if not host:
        base_url = DEFAULT_BASE_URL
    elif "://" in host:
        base_url = host
    else:
        scheme = (conn.schema or "https").strip() or "https"
        base_url = f"{scheme}://{host}"
    if conn.port and "://" in base_url and base_url.count(":") < 2:
        base_url = f"{base_url}:{conn.port}"
    # ExtraFieldError is a ValueError, like Spn2Settings' own refusals.
    timeout = WAYBACK_SPN2.parse_extra(conn.conn_id, conn.extra_dejson)["timeout"]
    return Spn2Settings(base_url=base_url, access_key=conn.login or "", secret=conn.password or "", timeout=timeout)


def _mask_credentials(settings: Spn2Settings) -> None:
    # Connection passwords are masked by Airflow already; the access key and the combined header are not.
    for value in (settings.access_key, settings.secret, settings.headers().get("Authorization", "")):
        if value:
            mask_secret(value)


class WaybackHook(BaseHook):
    """Submit captures to the Wayback Machine (SPN2) and read capture job statuses.

    Sends ``Authorization: LOW <access key>:<secret>`` and ``Accept: application/json`` on every request, with
    a connect and a read timeout. Errors are :class:`ocw_operators.clients.wayback_spn2.WaybackError` subclasses:
    ``WaybackRateLimited`` (429, carries ``retry_after`` seconds), ``WaybackHttpError`` (other non-2xx, with
    the status and a short body excerpt), ``WaybackBadResponse`` (a 2xx that is not SPN2's JSON),
    ``WaybackCaptureRefused`` (200 without a ``job_id``), ``WaybackTransportError`` and
    ``WaybackConnectTimeout``. None of them ever contains the credentials.

    :param wayback_conn_id: Airflow Connection id (type ``wayback_spn2``): host/schema/port default to
        https://web.archive.org, login = S3 access key, password = S3 secret, extra ``{"timeout": 30}``.
    """

    conn_name_attr = "wayback_conn_id"
    default_conn_name = "wayback_default"
    conn_type = "wayback_spn2"
    hook_name = "Wayback Machine SPN2"

    def __init__(self, wayback_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.wayback_conn_id = wayback_conn_id
        self._client: Spn2Client | None = None

    def settings(self) -> Spn2Settings:
        settings = spn2_settings_from_connection(self.get_connection(self.wayback_conn_id))
        _mask_credentials(settings)
        return settings

    async def asettings(self) -> Spn2Settings:
        """Like :meth:`settings` but reads the Connection without blocking the event loop (for triggers)."""
        settings = spn2_settings_from_connection(await self.aget_connection(self.wayback_conn_id))
        _mask_credentials(settings)
        return settings

    def get_conn(self) -> Spn2Client:
        """A blocking client, created on first use and reused by this hook instance."""
        if self._client is None:
            self._client = Spn2Client(self.settings(), requests.Session())
        return self._client

    async def aget_client(self) -> AsyncSpn2Client:
        """An async client; use it as ``async with await hook.aget_client() as client``."""
        settings = await self.asettings()
        timeout = aiohttp.ClientTimeout(total=settings.timeout, connect=settings.connect_timeout)
        return AsyncSpn2Client(settings, aiohttp.ClientSession(timeout=timeout))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def submit_capture(self, url: str) -> CaptureSubmission:
        """``POST /save`` (form ``url``, ``skip_first_archive=1``) and return the capture job."""
        return self.get_conn().submit_capture(url)

    def job_statuses(self, job_ids: Iterable[str]) -> list[JobStatus]:
        """``POST /save/status`` (form ``job_ids=a,b,c``); jobs SPN2 no longer knows are absent."""
        return self.get_conn().job_statuses(job_ids)

    async def ajob_statuses(self, job_ids: Iterable[str]) -> list[JobStatus]:
        async with await self.aget_client() as client:
            return await client.job_statuses(job_ids)

    def test_connection(self) -> tuple[bool, str]:
        """Ask for the status of a job id that cannot exist: proves reachability and credentials, captures nothing."""
        try:
            self.job_statuses(["spn2-connection-test"])
        except WaybackError as error:
            return False, str(error)
        except ValueError as error:
            return False, str(error)
        return True, "SPN2 answered the status request"
