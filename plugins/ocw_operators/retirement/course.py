"""The CMS's description of a course and its resources, validated on the way in."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from ocw_operators.retirement.names import (
    HostileNameError,
    check_name_length,
    shown,
    validate_course_id,
    validate_member_name,
)

_MD5 = re.compile(r"^[0-9a-f]{32}$")
CONTENT_DIR = "content"
METADATA_DIR = "metadata"


class CourseDataError(ValueError):
    """The CMS answered with a course description that cannot be used."""


@dataclass(frozen=True)
class Resource:
    """One course file plus its XML metadata file, as listed by the CMS."""

    name: str  # relative path inside the course, e.g. "lecture-notes/lec01.pdf"
    size: int
    md5: str | None
    mime_type: str
    metadata_md5: str | None = None
    has_metadata: bool = True

    @property
    def content_member(self) -> str:
        return f"{CONTENT_DIR}/{self.name}"

    @property
    def metadata_member(self) -> str:
        return f"{METADATA_DIR}/{self.name}.xml"


@dataclass(frozen=True)
class Course:
    course_id: str
    title: str
    course_number: str
    term: str
    department: str
    url: str  # the course's dc.identifier.uri
    resources: tuple[Resource, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _required_text(payload: dict[str, Any], key: str, course_id: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CourseDataError(f"course {course_id}: the CMS gave no {key!r}")
    return value.strip()


def _optional_md5(value: Any, what: str) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not _MD5.match(value.lower()):
        raise CourseDataError(f"{what}: not an MD5 hex digest: {value!r}")
    return value.lower()


def resource_from_json(payload: dict[str, Any], course_id: str) -> Resource:
    if not isinstance(payload, dict):
        raise CourseDataError(f"course {course_id}: a resource entry is not an object")
    name = payload.get("name")
    has_metadata = bool(payload.get("has_metadata", True))
    try:
        validate_member_name(name)
        # The names the file is stored and packaged under are longer than the name itself.
        check_name_length(f"{CONTENT_DIR}/{name}", what=f"resource {shown(name)} (as {CONTENT_DIR}/<name>)")
        if has_metadata:
            check_name_length(
                f"{METADATA_DIR}/{name}.xml", what=f"the metadata file of resource {shown(name)} (<name>.xml)"
            )
    except HostileNameError as error:
        raise type(error)(f"course {course_id}: {error}") from None
    size = payload.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise CourseDataError(f"course {course_id}: resource {name!r} has no valid size")
    return Resource(
        name=name,
        size=size,
        md5=_optional_md5(payload.get("md5"), f"course {course_id}: resource {name!r}"),
        mime_type=str(payload.get("mime_type") or "application/octet-stream"),
        metadata_md5=_optional_md5(payload.get("metadata_md5"), f"course {course_id}: metadata of {name!r}"),
        has_metadata=has_metadata,
    )


def course_from_json(payload: dict[str, Any], course_id: str) -> Course:
    """Build a :class:`Course` from the CMS's ``resources.json``; hostile names raise ``HostileNameError``."""
    validate_course_id(course_id)
    if not isinstance(payload, dict):
        raise CourseDataError(f"course {course_id}: the CMS answer is not a JSON object")
    if payload.get("course_id", course_id) != course_id:
        raise CourseDataError(f"course {course_id}: the CMS described {payload.get('course_id')!r} instead")
    resources = payload.get("resources")
    if not isinstance(resources, list):
        raise CourseDataError(f"course {course_id}: the CMS gave no resource list")
    parsed = tuple(resource_from_json(item, course_id) for item in resources)
    names = [resource.name for resource in parsed]
    if len(set(names)) != len(names):
        raise CourseDataError(f"course {course_id}: the resource list names a file twice")
    return Course(
        course_id=course_id,
        title=_required_text(payload, "title", course_id),
        course_number=_required_text(payload, "course_number", course_id),
        term=_required_text(payload, "term", course_id),
        department=str(payload.get("department") or course_id.split("/", maxsplit=1)[0]).strip(),
        url=_required_text(payload, "url", course_id),
        resources=parsed,
    )


def course_from_manifest(payload: dict[str, Any]) -> Course:
    """Rebuild a :class:`Course` saved in a holding-area manifest."""
    resources = tuple(Resource(**item) for item in payload["resources"])
    return Course(**{**payload, "resources": resources})
