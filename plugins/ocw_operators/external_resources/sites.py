"""Course sites on disk, in the layout ocw-studio publishes for its ``ocw-course`` starter.

A sites directory holds one folder per site (a checkout of the course's repository, e.g. ``18.06-spring-2010``)::

    <sites_dir>/published.txt            optional: the published sites, one folder name or short id per line
    <sites_dir>/<site>/
        data/course.json                 site metadata ("sitemetadata"): course_title, course_description,
                                         primary_course_number, term, year, site_uid[, site_short_id] ...
        config/_default/menus.yaml       {"leftnav": [{"identifier", "name", "url", "weight", "parent"?}]}
        content/pages/**/*.md            YAML front matter (content_type, title, uid, the type's fields) + body
        content/resources/*.md           content_type: resource (description, image_metadata, ...)
        content/video_galleries/*.md     content_type: video_gallery
        content/external-resources/*.md  content_type: external-resource (see :mod:`.resource_pages`)

A folder with ``data/course.json`` is a course site; other folders are skipped and reported. The site's name is
its folder name (the repository name); its short id is the metadata's ``site_short_id`` when present, else the
folder name. A site is published when ``published.txt`` names it (by folder name or short id). Symlinked folders
and files are never followed.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ocw_operators.external_resources import front_matter
from ocw_operators.external_resources.fsutil import TextFile, UnsafeFileError, read_text_inside

SITE_METADATA_PATH = "data/course.json"
PUBLISHED_LIST = "published.txt"
MENUS_PATH = "config/_default/menus.yaml"
CONTENT_DIR = "content"
RESOURCE_PAGES_DIR = "content/external-resources"
SITE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")


class SiteFileError(Exception):
    """One file of a site cannot be used; the message names the file and the reason."""

    def __init__(self, relative_path: str, reason: str) -> None:
        super().__init__(f"{relative_path}: {reason}")
        self.relative_path = relative_path
        self.reason = reason


@dataclass(frozen=True)
class SiteFolder:
    name: str
    path: Path


@dataclass(frozen=True)
class SkippedSite:
    name: str
    reason: str


@dataclass(frozen=True)
class SiteMetadata:
    name: str
    short_id: str
    title: str
    site_uid: str
    published: bool
    course_description: str = ""
    source: TextFile | None = field(default=None, compare=False, repr=False)  # data/course.json as read


@dataclass(frozen=True)
class ContentPage:
    relative_path: str  # e.g. "content/pages/syllabus.md"
    path: Path
    front_matter: str  # the front matter block exactly as written
    data: dict[str, Any]  # the parsed front matter
    body: str
    uid: str
    newline: str
    is_yaml: bool = True  # only YAML front matter can be edited in place

    @property
    def text(self) -> str:
        return self.front_matter + self.body

    @property
    def content_type(self) -> str:
        value = self.data.get("content_type")
        return value if isinstance(value, str) else ""

    @property
    def body_first_line(self) -> int:
        """Line number (1-based) of the body's first line in the file."""
        return self.front_matter.count("\n") + 1


def discover_sites(sites_dir: Path, names: Sequence[str] = ()) -> tuple[list[SiteFolder], list[SkippedSite]]:
    """Site folders directly under ``sites_dir`` (sorted), and the entries that cannot be sites."""
    if not sites_dir.is_dir():
        raise FileNotFoundError(f"sites directory {sites_dir} does not exist or is not a directory")
    wanted = set(names)
    sites: list[SiteFolder] = []
    skipped: list[SkippedSite] = []
    for entry in sorted(os.scandir(sites_dir), key=lambda item: item.name):
        if entry.name.startswith(".") or (wanted and entry.name not in wanted):
            continue
        if entry.is_symlink():
            skipped.append(SkippedSite(entry.name, "site folder is a symlink; not followed"))
        elif not entry.is_dir(follow_symlinks=False):
            continue
        elif not SITE_NAME_PATTERN.match(entry.name):
            skipped.append(SkippedSite(entry.name, "folder name is not a valid site name"))
        else:
            sites.append(SiteFolder(entry.name, Path(entry.path)))
    missing = wanted - {site.name for site in sites} - {skip.name for skip in skipped}
    skipped.extend(SkippedSite(name, "no such site folder") for name in sorted(missing))
    return sites, skipped


def read_published_list(sites_dir: Path) -> frozenset[str] | None:
    """The names in ``<sites_dir>/published.txt`` (blank lines and ``#`` comments ignored); None without the file."""
    path = sites_dir / PUBLISHED_LIST
    if not path.exists() and not path.is_symlink():
        return None
    try:
        text = read_text_inside(path, sites_dir).text
    except (UnsafeFileError, OSError) as error:
        raise SiteFileError(PUBLISHED_LIST, str(error)) from None
    return frozenset(name for line in text.splitlines() if (name := line.split("#", 1)[0].strip()))


def is_course_site(site: SiteFolder) -> bool:
    path = site.path / SITE_METADATA_PATH
    return path.exists() or path.is_symlink()


def read_site_metadata(site: SiteFolder, published: frozenset[str] | None = None) -> SiteMetadata | None:
    """The site's ``data/course.json``; None when the folder has none (not a course site)."""
    if not is_course_site(site):
        return None
    source = _read(site, site.path / SITE_METADATA_PATH, SITE_METADATA_PATH)
    try:
        data = json.loads(source.text)
    except json.JSONDecodeError as error:
        raise SiteFileError(SITE_METADATA_PATH, f"malformed JSON: {error}") from None
    if not isinstance(data, dict):
        raise SiteFileError(SITE_METADATA_PATH, "expected a JSON object")
    values = {key: data.get(key) or "" for key in ("site_short_id", "course_title", "site_uid", "course_description")}
    for key, value in values.items():
        if not isinstance(value, str):
            raise SiteFileError(SITE_METADATA_PATH, f"{key!r} must be a string, not {type(value).__name__}")
    short_id = values["site_short_id"] or site.name
    return SiteMetadata(
        name=site.name,
        short_id=short_id,
        title=values["course_title"],
        site_uid=values["site_uid"],
        published=bool(published and (site.name in published or short_id in published)),
        course_description=values["course_description"],
        source=source,
    )


def iter_content_pages(site: SiteFolder) -> Iterator[ContentPage | SiteFileError]:
    """Every ``content/**/*.md`` page in path order; unusable files are yielded as errors, never raised."""
    content_root = site.path / CONTENT_DIR
    if not content_root.is_dir() or content_root.is_symlink():
        return
    for directory, subdirectories, files in os.walk(content_root, followlinks=False):
        subdirectories[:] = sorted(name for name in subdirectories if not name.startswith("."))
        for name in sorted(files):
            if not name.endswith(".md") or name.startswith("."):
                continue
            path = Path(directory) / name
            relative = path.relative_to(site.path).as_posix()
            try:
                yield read_page(site, path, relative)
            except SiteFileError as error:
                yield error


def read_page(site: SiteFolder, path: Path, relative: str) -> ContentPage:
    source = _read(site, path, relative)
    block, data, body, is_yaml = _split(source.text, relative)
    uid = data.get("uid", "")
    return ContentPage(
        relative_path=relative,
        path=path,
        front_matter=block,
        data=data,
        body=body,
        uid=str(uid) if uid is not None else "",
        newline=source.newline,
        is_yaml=is_yaml,
    )


def split_front_matter(text: str, relative: str) -> tuple[str, dict[str, Any], str]:
    """``(front matter block as written, parsed front matter, body)``; malformed front matter is an error."""
    return _split(text, relative)[:3]


def _split(text: str, relative: str) -> tuple[str, dict[str, Any], str, bool]:
    try:
        return front_matter.split_front_matter(text)
    except front_matter.FrontMatterError as error:
        raise SiteFileError(relative, str(error)) from None


@dataclass(frozen=True)
class MenusFile:
    menus: dict[str, list[dict[str, Any]]]
    has_comments: bool
    source: TextFile

    @property
    def has_external_items(self) -> bool:
        return any(
            isinstance(item.get("url"), str) and "://" in item["url"] for items in self.menus.values() for item in items
        )


# A "#" at the start of a line or after whitespace starts a YAML comment (a quoted " #" is a rare false positive,
# which only makes the importer refuse to rewrite the file).
_YAML_COMMENT = re.compile(r"(?:^|\s)#", re.MULTILINE)


def read_menus(site: SiteFolder) -> MenusFile | None:
    """The site's navigation menus (``config/_default/menus.yaml``), or None when the site has none."""
    path = site.path / MENUS_PATH
    if not path.exists() and not path.is_symlink():
        return None
    source = _read(site, path, MENUS_PATH)
    try:
        data = yaml.safe_load(source.text) if source.text.strip() else {}
    except yaml.YAMLError as error:
        raise SiteFileError(MENUS_PATH, f"malformed YAML: {front_matter.one_line(error)}") from None
    if not isinstance(data, dict):
        raise SiteFileError(MENUS_PATH, "expected a mapping of menu name to a list of items")
    for menu_name, items in data.items():
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise SiteFileError(MENUS_PATH, f"menu {menu_name!r} must be a list of mappings")
    return MenusFile(menus=data, has_comments=bool(_YAML_COMMENT.search(source.text)), source=source)


def dump_menus(menus: dict[str, list[dict[str, Any]]]) -> str:
    return yaml.safe_dump(menus, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)


def _read(site: SiteFolder, path: Path, relative: str) -> TextFile:
    try:
        return read_text_inside(path, site.path)
    except UnsafeFileError as error:
        raise SiteFileError(relative, str(error)) from None
    except OSError as error:
        raise SiteFileError(relative, f"cannot read: {error.strerror or error}") from None
