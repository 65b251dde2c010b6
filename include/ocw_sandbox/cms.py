"""Sandbox course CMS: a retirement queue, courses with resources and XML metadata, and ``set_dspace_handle``.

Routes (all require the CMS credentials, as ``__ac_name``/``__ac_password`` query or form variables, like the
Zope CMS, or as HTTP Basic):

* ``GET /retirement_queue`` → ``{"courses": [{"course_id": ...}, ...]}`` (route ``retirement_queue``);
* ``GET /courses/<department>/<slug>/resources.json`` → course description with each resource's name, size,
  MD5, MIME type and metadata MD5 (route ``course_resources``);
* ``GET /courses/<department>/<slug>/files/<name>`` → the file, streamed (route ``course_file``);
* ``GET /courses/<department>/<slug>/metadata/<name>.xml`` → its XML metadata (route ``course_metadata``);
* ``GET|POST /courses/<department>/<slug>/set_dspace_handle?dspace_handle=hdl://<prefix>/<suffix>`` → records
  the handle and takes the course off the retirement queue (route ``set_dspace_handle``).

Generated courses (:func:`generated_course`) produce their files as deterministic streams, so a 2 GB course
costs a 1 MiB block of memory per file seed, not 2 GB.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import hashlib
import random
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from aiohttp import web

from ocw_sandbox.faults import make_app

CHUNK = 1024 * 1024
_HDL = re.compile(r"^hdl://(\d+(?:\.\d+)*/[A-Za-z0-9._-]+)$")


@functools.lru_cache(maxsize=8)
def _block(seed: int) -> bytes:
    return random.Random(seed).randbytes(CHUNK)


@dataclass
class SandboxResource:
    """A course file: literal ``content`` or ``size`` bytes generated from ``seed``."""

    name: str
    content: bytes | None = None
    size: int = 0
    seed: int = 0
    mime_type: str = "application/pdf"
    metadata_xml: bytes | None = None
    title: str = ""
    _md5: str | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.content is not None:
            self.size = len(self.content)
        if self.metadata_xml is None:
            title = (self.title or self.name).replace("&", "&amp;").replace("<", "&lt;")
            self.metadata_xml = (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<resource><title>{title}</title>'
                f"<mime_type>{self.mime_type}</mime_type><size>{self.size}</size></resource>\n"
            ).encode()

    def chunks(self) -> Iterator[bytes]:
        if self.content is not None:
            for start in range(0, len(self.content), CHUNK):
                yield self.content[start : start + CHUNK]
            return
        block, remaining = _block(self.seed), self.size
        while remaining > 0:
            piece = block[: min(CHUNK, remaining)]
            remaining -= len(piece)
            yield piece

    @property
    def md5(self) -> str:
        with self._lock:
            if self._md5 is None:
                digest = hashlib.md5(usedforsecurity=False)
                for chunk in self.chunks():
                    digest.update(chunk)
                self._md5 = digest.hexdigest()
            return self._md5


@dataclass
class SandboxCourse:
    course_id: str  # "<department>/<slug>"
    title: str
    course_number: str
    term: str
    department: str
    url: str
    resources: list[SandboxResource] = field(default_factory=list)
    dspace_handle: str | None = None

    def describe(self) -> dict:
        return {
            "course_id": self.course_id,
            "title": self.title,
            "course_number": self.course_number,
            "term": self.term,
            "department": self.department,
            "url": self.url,
            "resources": [
                {
                    "name": resource.name,
                    "size": resource.size,
                    "md5": resource.md5,
                    "mime_type": resource.mime_type,
                    "metadata_md5": hashlib.md5(resource.metadata_xml, usedforsecurity=False).hexdigest(),
                }
                for resource in self.resources
            ],
        }


@dataclass
class CmsState:
    courses: dict[str, SandboxCourse]
    queue: list[str]
    handle_calls: list[tuple[str, str]] = field(default_factory=list)  # (course_id, "hdl://...") per call


def sample_course(course_id: str, *, resources: int = 3, resource_bytes: int = 2048, seed: int = 1) -> SandboxCourse:
    """A small course with literal content (tests)."""
    department, slug = course_id.split("/")
    rng = random.Random(f"{course_id}:{seed}")
    files = [
        SandboxResource(
            name=f"{'lecture-notes' if index % 2 == 0 else 'assignments'}/{slug[:12]}-{index:02d}.pdf",
            content=rng.randbytes(resource_bytes),
            title=f"Part {index} of {slug}",
        )
        for index in range(resources)
    ]
    return SandboxCourse(
        course_id=course_id,
        title=f"{slug.replace('-', ' ').title()}",
        course_number=f"{department[:3].upper()}.{seed:03d}",
        term="Spring 2003",
        department=department,
        url=f"https://ocw.example.edu/courses/{course_id}/",
        resources=files,
    )


def generated_course(course_id: str, total_bytes: int, *, file_bytes: int = 64 * CHUNK) -> SandboxCourse:
    """A course of ``total_bytes`` in files of up to ``file_bytes``, generated as streams (benchmarks)."""
    course = sample_course(course_id, resources=0)
    index, remaining = 0, total_bytes
    while remaining > 0:
        size = min(file_bytes, remaining)
        course.resources.append(
            SandboxResource(name=f"video/part-{index:04d}.mp4", size=size, seed=index % 4, mime_type="video/mp4")
        )
        remaining -= size
        index += 1
    return course


def _authorized(request: web.Request, form: dict, username: str, password: str) -> bool:
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            user, _, secret = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user == username and secret == password
    name = request.query.get("__ac_name") or form.get("__ac_name")
    secret = request.query.get("__ac_password") or form.get("__ac_password")
    return name == username and secret == password


CMS_STATE = web.AppKey("cms_state", CmsState)


class _CmsViews:
    """The CMS's request handlers over one :class:`CmsState`."""

    def __init__(self, state: CmsState, username: str, password: str) -> None:
        self.state, self.username, self.password = state, username, password

    async def authorize(self, request: web.Request) -> dict:
        form = dict(await request.post()) if request.method == "POST" else {}
        if not _authorized(request, form, self.username, self.password):
            raise web.HTTPUnauthorized(text="Login required")
        return form

    def course_of(self, request: web.Request) -> SandboxCourse:
        course = self.state.courses.get(f"{request.match_info['department']}/{request.match_info['slug']}")
        if course is None:
            raise web.HTTPNotFound(text="No such course")
        return course

    @staticmethod
    def resource_of(course: SandboxCourse, name: str) -> SandboxResource:
        for resource in course.resources:
            if resource.name == name:
                return resource
        raise web.HTTPNotFound(text="No such resource")

    async def retirement_queue(self, request: web.Request) -> web.Response:
        await self.authorize(request)
        return web.json_response({"courses": [{"course_id": course_id} for course_id in self.state.queue]})

    async def resources(self, request: web.Request) -> web.Response:
        await self.authorize(request)
        course = self.course_of(request)
        description = await asyncio.to_thread(course.describe)  # MD5 of generated files is computed once
        return web.json_response(description)

    async def course_file(self, request: web.Request) -> web.StreamResponse:
        await self.authorize(request)
        resource = self.resource_of(self.course_of(request), request.match_info["name"])
        response = web.StreamResponse(headers={"Content-Type": resource.mime_type})
        response.content_length = resource.size
        await response.prepare(request)
        for chunk in resource.chunks():
            await response.write(chunk)
        await response.write_eof()
        return response

    async def course_metadata(self, request: web.Request) -> web.Response:
        await self.authorize(request)
        name = request.match_info["name"]
        if not name.endswith(".xml"):
            raise web.HTTPNotFound()
        resource = self.resource_of(self.course_of(request), name.removesuffix(".xml"))
        return web.Response(body=resource.metadata_xml, content_type="text/xml")

    async def set_dspace_handle(self, request: web.Request) -> web.Response:
        form = await self.authorize(request)
        course = self.course_of(request)
        value = request.query.get("dspace_handle") or form.get("dspace_handle") or ""
        match = _HDL.match(value)
        if match is None:
            raise web.HTTPBadRequest(text="dspace_handle must be hdl://<prefix>/<suffix>")
        course.dspace_handle = match.group(1)
        self.state.handle_calls.append((course.course_id, value))
        if course.course_id in self.state.queue:
            self.state.queue.remove(course.course_id)
        return web.Response(text=f"DSpace handle set to {value}")


def make_cms_app(
    courses: Iterable[SandboxCourse] = (), *, username: str, password: str, queue: list[str] | None = None
) -> web.Application:
    """The CMS application; ``app[CMS_STATE]`` is its :class:`CmsState` (courses, queue, handle calls)."""
    app = make_app("cms")
    state = CmsState(courses={course.course_id: course for course in courses}, queue=list(queue or []))
    app[CMS_STATE] = state
    views = _CmsViews(state, username, password)
    course_path = "/courses/{department}/{slug}"
    app.router.add_get("/retirement_queue", views.retirement_queue, name="retirement_queue")
    app.router.add_get(f"{course_path}/resources.json", views.resources, name="course_resources")
    app.router.add_get(course_path + "/files/{name:.+}", views.course_file, name="course_file")
    app.router.add_get(course_path + "/metadata/{name:.+}", views.course_metadata, name="course_metadata")
    app.router.add_route("*", f"{course_path}/set_dspace_handle", views.set_dspace_handle, name="set_dspace_handle")
    return app
