"""Sandbox Wayback Machine: the Save Page Now 2 (SPN2) capture and status API.

Behaviour follows the SPN2 public API draft (2025-10-22) and what clients observe in practice:

* ``POST /save`` (form ``url`` plus options) with ``Authorization: LOW <key>:<secret>`` answers
  ``{"url", "job_id"}``; job ids look like ``spn2-<40 hex>``. The same URL again within ``dedupe_seconds``
  returns the same job id plus a ``message``, as SPN2 does. A bad or missing key answers 401 JSON.
* URLs containing ``/daily-cap`` are refused the way SPN2 refuses a URL captured too often today: HTTP 200
  with no ``job_id`` but ``status``/``status_ext``/``message``.
* ``POST /save/status`` with ``job_ids=a,b,c`` answers a list of per-job dicts; ``job_id=`` (POST) or
  ``GET /save/status/<job_id>`` answers one dict. A job is ``pending`` for ``capture_seconds``, then
  ``success`` (``timestamp`` YYYYMMDDHHMMSS, ``original_url``, ``http_status`` 200) or ``error``
  (``error:not-found``/404 for URLs containing ``/status/404``, ``error:invalid-host-resolution`` for hosts
  ending in ``.invalid``). Jobs are forgotten after ``status_ttl_seconds`` (SPN2 keeps them about an hour):
  the batch answer leaves them out and the single answer is a 404 JSON error.
* ``captures_per_minute`` (optional) is a server-side limit: more captures than that in the last 60 s answer
  429 with ``Retry-After`` seconds.
* ``GET /_sandbox/requests`` lists every ``/save`` request's arrival (epoch seconds), URL and outcome (also
  those answered by an injected fault), so tests can prove the rate the server actually saw.

Route names for fault injection: ``save``, ``status`` (batch and single POST), ``status_job`` (GET single).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import itertools
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ocw_sandbox.faults import CONTROL_PREFIX, make_app

STATE_KEY = web.AppKey("wayback_state", object)


@dataclass
class SandboxJob:
    job_id: str
    url: str
    created_at: float  # epoch seconds

    def status(self, now: float, capture_seconds: float) -> dict[str, Any]:
        if now < self.created_at + capture_seconds:
            return {"status": "pending", "job_id": self.job_id, "resources": []}
        if "/status/404" in self.url:
            return {
                "status": "error",
                "job_id": self.job_id,
                "status_ext": "error:not-found",
                "http_status": 404,
                "exception": "",
                "message": "The server cannot find the requested resource.",
                "resources": [],
            }
        if _host_of(self.url).endswith(".invalid"):
            return {
                "status": "error",
                "job_id": self.job_id,
                "status_ext": "error:invalid-host-resolution",
                "exception": "[Errno -2] Name or service not known",
                "message": f"Couldn't resolve host for {self.url}.",
                "resources": [],
            }
        finished = dt.datetime.fromtimestamp(self.created_at + capture_seconds, dt.UTC)
        return {
            "status": "success",
            "job_id": self.job_id,
            "original_url": self.url,
            "timestamp": finished.strftime("%Y%m%d%H%M%S"),
            "duration_sec": round(capture_seconds, 3),
            "http_status": 200,
            "resources": [self.url],
            "outlinks": {},
        }


def _host_of(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0].split(":", 1)[0].lower()


@dataclass
class WaybackState:
    """All of the sandbox service's state; thread-safe because tests read it from their own thread."""

    access_key: str
    secret: str
    capture_seconds: float = 0.5
    status_ttl_seconds: float = 3600.0
    dedupe_seconds: float = 3600.0
    captures_per_minute: int | None = None
    clock: Callable[[], float] = time.time
    jobs: dict[str, SandboxJob] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    status_requests: list[dict[str, Any]] = field(default_factory=list)
    _recent_captures: deque[float] = field(default_factory=deque)
    _by_url: dict[str, str] = field(default_factory=dict)
    _counter: itertools.count = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def authorized(self, header: str | None) -> bool:
        expected = f"LOW {self.access_key}:{self.secret}"
        return header is not None and hmac.compare_digest(header.encode(), expected.encode())

    def create_job(self, url: str, now: float | None = None) -> tuple[SandboxJob, bool]:
        """A job for ``url``; returns ``(job, reused)`` where reused means "same snapshot within the window"."""
        now = self.clock() if now is None else now
        with self._lock:
            existing = self.jobs.get(self._by_url.get(url, ""))
            if existing is not None and now - existing.created_at < self.dedupe_seconds:
                return existing, True
            digest = hashlib.sha1(f"{url}|{now}|{next(self._counter)}".encode()).hexdigest()
            job = SandboxJob(job_id=f"spn2-{digest}", url=url, created_at=now)
            self.jobs[job.job_id] = job
            self._by_url[url] = job.job_id
            return job, False

    def retry_after(self, now: float) -> int | None:
        """Seconds until another capture is allowed, or None when under the per-minute limit (records it)."""
        if self.captures_per_minute is None:
            return None
        with self._lock:
            while self._recent_captures and now - self._recent_captures[0] >= 60:
                self._recent_captures.popleft()
            if len(self._recent_captures) >= self.captures_per_minute:
                return max(1, math.ceil(60 - (now - self._recent_captures[0])))
            self._recent_captures.append(now)
            return None

    def job_status(self, job_id: str, now: float) -> dict[str, Any] | None:
        job = self.jobs.get(job_id)
        if job is None or now - job.created_at > self.status_ttl_seconds:
            return None
        return job.status(now, self.capture_seconds)

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(entry)


def _state(request: web.Request) -> WaybackState:
    return request.app[STATE_KEY]


def _unauthorized() -> web.Response:
    return web.json_response(
        {"status": "error", "status_ext": "error:unauthorized", "message": "You need to be logged in."}, status=401
    )


@web.middleware
async def _record_saves(request: web.Request, handler) -> web.StreamResponse:
    """Log every ``/save`` arrival, including the ones a fault answers before the real handler runs."""
    if request.match_info.route.name != "save":
        return await handler(request)
    state = _state(request)
    form = await request.post()  # aiohttp caches the parsed form for the handler
    entry: dict[str, Any] = {
        "time": state.clock(),
        "url": str(form.get("url", "")).strip(),
        "options": {k: str(v) for k, v in form.items() if k != "url"},
        "accept": request.headers.get("Accept", ""),
        "outcome": "no-response",
    }
    try:
        response = await handler(request)
        entry["outcome"] = request.get("outcome", response.status)
        if request.get("job_id"):
            entry["job_id"] = request["job_id"]
        return response
    finally:
        state.record(entry)


async def _save(request: web.Request) -> web.Response:
    state = _state(request)
    now = state.clock()
    form = await request.post()
    url = str(form.get("url", "")).strip()
    if not state.authorized(request.headers.get("Authorization")):
        request["outcome"] = 401
        return _unauthorized()
    if not url:
        request["outcome"] = 400
        return web.json_response(
            {"status": "error", "status_ext": "error:invalid-url-syntax", "message": "No URL given."}, status=400
        )
    retry_after = state.retry_after(now)
    if retry_after is not None:
        request["outcome"] = 429
        return web.json_response(
            {"status": "error", "message": "You have already reached the limit of captures per minute."},
            status=429,
            headers={"Retry-After": str(retry_after)},
        )
    if "/daily-cap" in url:
        request["outcome"] = "refused"
        return web.json_response(
            {
                "status": "error",
                "status_ext": "error:too-many-daily-captures",
                "message": f"This URL has been already captured 10 times today: {url}",
            }
        )
    job, reused = state.create_job(url, now)
    request["outcome"] = "reused" if reused else "created"
    request["job_id"] = job.job_id
    body: dict[str, Any] = {"url": url, "job_id": job.job_id}
    if reused:
        minutes = max(1, int((now - job.created_at) // 60))
        body["message"] = (
            f"The same snapshot had been made {minutes} minutes ago. You can make new capture of this URL after 1 hour."
        )
    return web.json_response(body)


async def _status(request: web.Request) -> web.Response:
    state = _state(request)
    if not state.authorized(request.headers.get("Authorization")):
        return _unauthorized()
    form = await request.post()
    now = state.clock()
    if "job_ids" in form:
        job_ids = [job_id.strip() for job_id in str(form["job_ids"]).split(",") if job_id.strip()]
        state.status_requests.append({"time": now, "job_ids": job_ids})
        # Forgotten (expired or unknown) jobs are simply absent from the batch answer.
        answers = [status for job_id in job_ids if (status := state.job_status(job_id, now)) is not None]
        return web.json_response(answers)
    job_id = str(form.get("job_id", "")).strip()
    state.status_requests.append({"time": now, "job_ids": [job_id]})
    return _single_status(state, job_id, now)


async def _status_job(request: web.Request) -> web.Response:
    state = _state(request)
    if not state.authorized(request.headers.get("Authorization")):
        return _unauthorized()
    now = state.clock()
    job_id = request.match_info["job_id"]
    state.status_requests.append({"time": now, "job_ids": [job_id]})
    return _single_status(state, job_id, now)


def _single_status(state: WaybackState, job_id: str, now: float) -> web.Response:
    status = state.job_status(job_id, now)
    if status is None:
        return web.json_response(
            {"status": "error", "job_id": job_id, "message": "Job not found or expired."}, status=404
        )
    return web.json_response(status)


async def _requests_log(request: web.Request) -> web.Response:
    return web.json_response(list(_state(request).requests))


def make_wayback_app(
    access_key: str,
    secret: str,
    *,
    capture_seconds: float = 0.5,
    status_ttl_seconds: float = 3600.0,
    dedupe_seconds: float = 3600.0,
    captures_per_minute: int | None = None,
    clock: Callable[[], float] = time.time,
) -> web.Application:
    """The SPN2 sandbox application; its state is ``app[STATE_KEY]`` (a :class:`WaybackState`)."""
    app = make_app("wayback")
    # Outermost, so the log also sees requests that an injected fault answers (or never answers).
    app.middlewares.insert(0, _record_saves)
    app[STATE_KEY] = WaybackState(
        access_key=access_key,
        secret=secret,
        capture_seconds=capture_seconds,
        status_ttl_seconds=status_ttl_seconds,
        dedupe_seconds=dedupe_seconds,
        captures_per_minute=captures_per_minute,
        clock=clock,
    )
    app.router.add_post("/save", _save, name="save")
    app.router.add_post("/save/status", _status, name="status")
    app.router.add_get("/save/status/{job_id}", _status_job, name="status_job")
    app.router.add_get(f"{CONTROL_PREFIX}/requests", _requests_log, name="sandbox_requests")
    return app


def wayback_state(app: web.Application) -> WaybackState:
    return app[STATE_KEY]
