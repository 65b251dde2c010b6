"""The non-blocking SPN2 client (aiohttp) the triggerer polls capture jobs with; the protocol is in
:mod:`ocw_operators.clients.wayback_spn2`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

import aiohttp

from ocw_operators.clients.wayback_spn2 import (
    CaptureSubmission,
    JobStatus,
    Spn2Settings,
    aread_body,
    capture_form,
    connect_timed_out,
    no_answer,
    parse_statuses,
    parse_submission,
    request_failed,
    status_form,
)


class AsyncSpn2Client:
    """Non-blocking SPN2 client over one ``aiohttp.ClientSession``, which it closes on exit (``async with`` it).

    :param session: configured for SPN2 (timeouts, TLS, proxy, headers), e.g. by
        :meth:`ocw_operators.hooks.wayback.WaybackHook.aget_client`.
    """

    def __init__(self, settings: Spn2Settings, session: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.session = session

    async def __aenter__(self) -> AsyncSpn2Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.session.close()

    async def job_statuses(self, job_ids: Iterable[str]) -> list[JobStatus]:
        form = status_form(list(job_ids))
        if not form["job_ids"]:
            return []
        status, headers, body = await self._post("/save/status", form)
        return parse_statuses(status, headers, body, self.settings)

    async def submit_capture(self, url: str) -> CaptureSubmission:
        if not url or not url.strip():
            raise ValueError("cannot submit an empty URL to SPN2")
        status, headers, body = await self._post("/save", capture_form(url.strip()))
        return parse_submission(url.strip(), status, headers, body, self.settings)

    async def _post(self, path: str, form: Mapping[str, str]) -> tuple[int, Mapping[str, str], bytes]:
        settings = self.settings
        try:
            async with self.session.post(
                settings.url(path), data=dict(form), headers=settings.headers(), allow_redirects=False
            ) as response:
                body = await aread_body(response.content.iter_chunked(64 * 1024))
                return response.status, response.headers, body
        except aiohttp.ConnectionTimeoutError:
            raise connect_timed_out(settings) from None
        except TimeoutError:
            # aiohttp's read timeouts and the total timeout are both TimeoutError subclasses.
            raise no_answer(settings, path) from None
        except (aiohttp.ClientError, asyncio.IncompleteReadError) as error:
            raise request_failed(settings, path, error) from None
