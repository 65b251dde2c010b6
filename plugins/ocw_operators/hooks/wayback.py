"""Hook for the Internet Archive's Save Page Now 2 API (Connection ``wayback_default``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import aiohttp
import requests
from airflow.sdk.exceptions import AirflowException
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
from ocw_operators.connection_fields import ExtraValues
from ocw_operators.connection_forms import WAYBACK_SPN2
from ocw_operators.hooks.http_base import OcwHttpHook, base_url_from_connection


def spn2_settings_from_connection(conn: Any, extra: ExtraValues | None = None) -> Spn2Settings:
    """Build :class:`Spn2Settings` from an Airflow Connection (and its extra, if already parsed).

    ``host`` may be a full URL (``https://web.archive.org``) or a bare host with ``schema`` (http/https) and
    ``port``; everything defaults to https://web.archive.org. ``login`` is the S3 access key, ``password`` the
    secret, ``extra.timeout`` the per-request timeout in seconds (:data:`ocw_operators.connection_forms.WAYBACK_SPN2`).
    """
    base_url = base_url_from_connection(conn, default_host=DEFAULT_BASE_URL).rstrip("/")
    # ExtraFieldError is a ValueError, like Spn2Settings' own refusals.
    extra = extra if extra is not None else WAYBACK_SPN2.parse_extra(conn.conn_id, conn.extra_dejson)
    settings = Spn2Settings(
        base_url=base_url, access_key=conn.login or "", secret=conn.password or "", timeout=extra["timeout"]
    )
    # Connection passwords are masked by Airflow already; the access key and the combined header are not.
    for value in (settings.access_key, settings.secret, settings.headers().get("Authorization", "")):
        if value:
            mask_secret(value)
    return settings


class WaybackHook(OcwHttpHook[Spn2Client]):
    """Submit captures to the Wayback Machine (SPN2) and read capture job statuses.

    Sends ``Authorization: LOW <access key>:<secret>`` and ``Accept: application/json`` on every request, with
    a connect and a read timeout. Errors are :class:`ocw_operators.clients.wayback_spn2.WaybackError` subclasses:
    ``WaybackRateLimited`` (429, carries ``retry_after`` seconds), ``WaybackHttpError`` (other non-2xx, with
    the status and a short body excerpt), ``WaybackBadResponse`` (a 2xx that is not SPN2's JSON),
    ``WaybackCaptureRefused`` (200 without a ``job_id``), ``WaybackTransportError`` and
    ``WaybackConnectTimeout``. None of them ever contains the credentials.

    :param wayback_conn_id: Airflow Connection id (type ``wayback_spn2``): host/schema/port default to
        https://web.archive.org, login = S3 access key, password = S3 secret, extra ``{"timeout": 30}`` and the
        session's ``headers``, ``proxies``, ``verify`` and ``ca_bundle``.
    """

    conn_name_attr = "wayback_conn_id"
    default_conn_name = "wayback_default"
    form = WAYBACK_SPN2
    required_fields = ()  # host defaults to the Wayback Machine, the keys to none (SPN2 answers 401)
    default_host = DEFAULT_BASE_URL

    def __init__(self, wayback_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(wayback_conn_id, **kwargs)
        self.wayback_conn_id = wayback_conn_id

    def settings(self) -> Spn2Settings:
        return spn2_settings_from_connection(self.get_connection(self.wayback_conn_id))

    def _extract_auth(self, connection: Any) -> Any:
        # SPN2 authenticates with its own "LOW key:secret" header, which the clients add per request (HTTP Basic
        # would replace it).
        return None

    def build_client(self, connection: Any, extra: ExtraValues, session: requests.Session) -> Spn2Client:
        """A blocking client, created on first use and reused by this hook instance."""
        return Spn2Client(spn2_settings_from_connection(connection, extra), session)

    async def aget_client(self) -> AsyncSpn2Client:
        """An async client; use it as ``async with await hook.aget_client() as client``.

        Its aiohttp session is configured from the Connection as the blocking client's ``requests`` session is
        (:meth:`~ocw_operators.hooks.http_base.OcwHttpHook.aiohttp_session`), read without blocking the event loop.
        """
        connection = await self.aget_connection(self.wayback_conn_id)
        extra, transport = self.read_extra(connection)
        self._set_base_url(connection)
        settings = spn2_settings_from_connection(connection, extra)
        timeout = aiohttp.ClientTimeout(total=settings.timeout, connect=settings.connect_timeout)
        return AsyncSpn2Client(settings, self.aiohttp_session(connection, transport, timeout=timeout))

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
        except (WaybackError, ValueError, AirflowException) as error:
            return False, str(error)
        return True, "SPN2 answered the status request"
