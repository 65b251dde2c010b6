"""Hugo course sites on disk: what the importer reads and how.

A sites directory holds one folder per site, named by the site's ``name`` (letters, digits, ``.``, ``_``, ``-``)::

    <sites_dir>/<site name>/
        data/website.json            {"name", "short_id", "title", "starter", "published"}
        config/_default/menus.yaml   {"leftnav": [{"identifier", "name", "url" | "pageRef", "weight", "parent"?}]}
        content/**/*.md              YAML front matter (``---``; ``uid`` identifies the page) + markdown body
        content/external-resources/  one page per external resource, written by the importer

``data/website.json`` mirrors ocw-studio's Website: ``starter`` ``"ocw-course"`` marks a course site (the rules
apply to course content only) and ``published`` (boolean) marks a published site. A folder without it is not a
site the importer knows and is skipped and reported. Symlinked folders and files are never followed.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ocw_operators.external_resources.fsutil import TextFile, UnsafeFileError, read_text_inside

SITE_METADATA_PATH = "data/website.json"
MENUS_PATH = "config/_default/menus.yaml"
CONTENT_DIR = "content"
RESOURCE_PAGES_DIR = "content/external-resources"
COURSE_STARTER = "ocw-course"
SITE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
_YAML_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<data>.*?\n)?---[ \t]*(?:\n|\Z)", re.DOTALL)
_TOML_FRONT_MATTER = re.compile(r"\A\+\+\+[ \t]*\n(?P<data>.*?\n)?\+\+\+[ \t]*(?:\n|\Z)", re.DOTALL)


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
    starter: str
    published: bool

    @property
    def is_course(self) -> bool:
        return self.starter == COURSE_STARTER


@dataclass(frozen=True)
class ContentPage:
    relative_path: str  # e.g. "content/pages/syllabus.md"
    path: Path
    front_matter: str  # the front matter block exactly as written (kept byte for byte on rewrite)
    body: str
    uid: str
    newline: str

    @property
    def body_first_line(self) -> int:
        """Line number (1-based) of the body's first line in the file."""
        return self.front_matter.count("\n") + 1

    def text_with_body(self, body: str) -> str:
        return self.front_matter + body


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


def read_site_metadata(site: SiteFolder) -> SiteMetadata | None:
    """The site's ``data/website.json``; None when the folder has none (not a site the importer handles)."""
    path = site.path / SITE_METADATA_PATH
    if not path.exists() and not path.is_symlink():
        return None
    data = _load_json(site, SITE_METADATA_PATH)
    if not isinstance(data, dict):
        raise SiteFileError(SITE_METADATA_PATH, "expected a JSON object")
    published = data.get("published", False)
    if not isinstance(published, bool):
        raise SiteFileError(SITE_METADATA_PATH, f"'published' must be true or false, not {published!r}")
    fields = {key: data.get(key, "") for key in ("short_id", "title", "starter")}
    for key, value in fields.items():
        if not isinstance(value, str):
            raise SiteFileError(SITE_METADATA_PATH, f"{key!r} must be a string")
    return SiteMetadata(
        name=site.name,
        short_id=fields["short_id"] or site.name,
        title=fields["title"],
        starter=fields["starter"],
        published=published,
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
                yield _read_page(site, path, relative)
            except SiteFileError as error:
                yield error


def _read_page(site: SiteFolder, path: Path, relative: str) -> ContentPage:
    source = _read(site, path, relative)
    front_matter, data, body = split_front_matter(source.text, relative)
    uid = data.get("uid", "") if isinstance(data, dict) else ""
    return ContentPage(
        relative_path=relative,
        path=path,
        front_matter=front_matter,
        body=body,
        uid=str(uid) if uid is not None else "",
        newline=source.newline,
    )


def split_front_matter(text: str, relative: str) -> tuple[str, dict[str, Any], str]:
    """``(front matter block as written, parsed front matter, body)``; malformed front matter is an error."""
    for pattern, parse in ((_YAML_FRONT_MATTER, _parse_yaml_mapping), (_TOML_FRONT_MATTER, tomllib.loads)):
        match = pattern.match(text)
        if match:
            try:
                data = parse(match["data"] or "")
            except (yaml.YAMLError, tomllib.TOMLDecodeError, ValueError) as error:
                raise SiteFileError(relative, f"malformed front matter: {_one_line(error)}") from None
            return match.group(0), data, text[match.end() :]
    if text.startswith(("---\n", "+++\n")):
        raise SiteFileError(relative, "front matter is not closed")
    return "", {}, text


def _parse_yaml_mapping(data: str) -> dict[str, Any]:
    parsed = yaml.safe_load(data) if data.strip() else {}
    if not isinstance(parsed, dict):
        raise ValueError("front matter is not a mapping")
    return parsed


@dataclass(frozen=True)
class MenusFile:
    menus: dict[str, list[dict[str, Any]]]
    has_comments: bool

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
        raise SiteFileError(MENUS_PATH, f"malformed YAML: {_one_line(error)}") from None
    if not isinstance(data, dict):
        raise SiteFileError(MENUS_PATH, "expected a mapping of menu name to a list of items")
    for menu_name, items in data.items():
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise SiteFileError(MENUS_PATH, f"menu {menu_name!r} must be a list of mappings")
    return MenusFile(menus=data, has_comments=bool(_YAML_COMMENT.search(source.text)))


def dump_menus(menus: dict[str, list[dict[str, Any]]]) -> str:
    return yaml.safe_dump(menus, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)


def resource_page_path(site: SiteFolder, filename: str) -> Path:
    return site.path / RESOURCE_PAGES_DIR / f"{filename}.md"


def resource_page_text(*, title: str, uid: str, url: str, has_external_license_warning: bool) -> str:
    """The Hugo page of an external resource, with ocw-studio's metadata fields."""
    front_matter = {
        "content_type": "external-resource",
        "title": title,
        "uid": uid,
        "external_url": url,
        "has_external_license_warning": has_external_license_warning,
    }
    return "---\n" + yaml.safe_dump(front_matter, sort_keys=False, allow_unicode=True, width=1000) + "---\n"


def _read(site: SiteFolder, path: Path, relative: str) -> TextFile:
    try:
        return read_text_inside(path, site.path)
    except UnsafeFileError as error:
        raise SiteFileError(relative, str(error)) from None
    except OSError as error:
        raise SiteFileError(relative, f"cannot read: {error.strerror or error}") from None


def _load_json(site: SiteFolder, relative: str) -> Any:
    source = _read(site, site.path / relative, relative)
    try:
        return json.loads(source.text)
    except json.JSONDecodeError as error:
        raise SiteFileError(relative, f"malformed JSON: {error}") from None


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
