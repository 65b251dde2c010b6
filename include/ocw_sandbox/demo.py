"""The whole sandbox for ``make run`` and the compose ``sandbox`` service: every protocol server on fixed
ports, demo content, and the Connections and Variables that point the DAGs at them.

``start_demo`` binds the services and returns an :class:`Endpoints` description that the launcher turns into
``airflow connections import`` / ``airflow variables import`` files.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocw_sandbox.cms import make_cms_app, sample_course
from ocw_sandbox.dspace import make_dspace_app
from ocw_sandbox.dspace_store import DSpaceStore
from ocw_sandbox.linkfarm import make_linkfarm_app
from ocw_sandbox.mail import Mailbox, make_mail_app, smtp_protocol_factory
from ocw_sandbox.oai import make_oai_app
from ocw_sandbox.runtime import SandboxRuntime
from ocw_sandbox.wayback import make_wayback_app

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
FAKE_DSMC = Path(__file__).resolve().parent / "bin" / "dsmc"
PORTS = {"wayback": 8701, "dspace": 8702, "cms": 8703, "oai": 8704, "mail": 8706}  # mail: the received-mail page
SMTP_PORT = 8705
SMTP_USER, SMTP_PASSWORD = "sandbox-mail", "sandbox-mail-secret"
ALERT_SENDER, ALERT_RECIPIENTS = "ocw-archive@localhost", "archive-operators@localhost"
LINKFARM_PORTS = list(range(8710, 8730))
SWORD_USER, SWORD_PASSWORD = "sandbox-sword", "sandbox-sword-secret"
CMS_USER, CMS_PASSWORD = "sandbox-cms", "sandbox-cms-secret"
WAYBACK_KEY, WAYBACK_SECRET = "sandbox-access", "sandbox-secret"
OCW_COMMUNITY = "1721.1/1"
DEPARTMENT_COLLECTIONS = {
    "history": "1721.1/33971",
    "physics": "1721.1/33972",
    "mathematics": "1721.1/33973",
}
DEMO_COURSES = [
    "history/21h-126-america-in-depression-and-war-spring-2003",
    "physics/8-01-physics-i-fall-1999",
    "mathematics/18-01-single-variable-calculus-fall-2005",
]
# Link-farm paths of the demo resources: a realistic mix of good, broken, refused-HEAD and slow links.
DEMO_LINK_PATHS = ["/ok", "/ok", "/ok", "/redirect/2", "/status/404", "/status/403", "/head-405", "/status/500"]

# Each external link of the demo course sites and the link-farm page it becomes in the sandbox's copy: the weekly check
# finds good, redirected, refused-HEAD, forbidden and missing pages without reaching a real host.
DEMO_SITE_LINKS = {
    "https://ocw.mit.edu": "/ok",
    "https://phet.colorado.edu/en/simulations/filter?subjects=motion&type=html": "/redirect/2",
    "https://phet.colorado.edu/en/simulations/pendulum-lab": "/ok",
    "https://piazza.com/mit/fall2016/801": "/status/403",
    "https://www.cambridge.org/highereducation/books/an-introduction-to-mechanics/": "/head-405",
    "https://physics.mit.edu/": "/ok",
    "https://www.wolframalpha.com/": "/ok",
    "https://fred.stlouisfed.org/series/GDP": "/ok",
    "https://www.bls.gov/cpi/": "/status/404",
}
DEMO_GIT_AUTHOR = ("OCW Demo", "ocw-demo@localhost")

# Tivoli dropbox volumes, relative path -> {file: (content, last write)}. Fixed, old last-write dates put every
# folder past the 5-minute quiet period and make a re-seed after a load identical to what was archived (the prep
# deletes it instead of staging it again). UF00001234 arrives twice: first as a BibID folder (sorted first, staged
# by the first prep run), then re-dropped in the flat form with one changed file, which waits for the next run
# ("same volume ... left for the next run") and is then staged as `00001 (YYYY_MM_DD).txt` beside the original;
# its unchanged image is deleted as identical.
_DEMO_WRITTEN = dt.datetime(2025, 1, 6, 10, 0, tzinfo=dt.UTC)
_DEMO_REWRITTEN = dt.datetime(2025, 2, 3, 10, 0, tzinfo=dt.UTC)
_PAGE_IMAGE = b"II*\x00" + bytes(range(256)) * 4  # a TIFF header and some pixels
DEMO_DROPBOX: dict[str, dict[str, tuple[bytes, dt.datetime]]] = {
    "UF00001234/00001": {
        "00001.tif": (_PAGE_IMAGE, _DEMO_WRITTEN),
        "00001.txt": (b"Lecture notes, page 1.\n", _DEMO_WRITTEN),
        "UF00001234_00001.mets.xml": (b"<mets:mets xmlns:mets='http://www.loc.gov/METS/'/>\n", _DEMO_WRITTEN),
    },
    "UF00001234_00001": {
        "00001.tif": (_PAGE_IMAGE, _DEMO_WRITTEN),
        "00001.txt": (b"Lecture notes, page 1 (corrected OCR).\n", _DEMO_REWRITTEN),
    },
    "UF00005678_00001": {
        "00001.tif": (_PAGE_IMAGE[::-1], _DEMO_WRITTEN),
        "00002.tif": (_PAGE_IMAGE * 2, _DEMO_WRITTEN),
        "thumbs/00001thm.jpg": (b"\xff\xd8\xff\xe0 thumbnail", _DEMO_WRITTEN),
    },
    "UF00009012/VID00001": {
        "00001.pdf": (b"%PDF-1.4 course syllabus\n", _DEMO_WRITTEN),
    },
}


@dataclass
class Endpoints:
    urls: dict[str, str]
    connections: dict[str, dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)  # for the Airflow processes (the fake dsmc's vault)
    demo_resources: str = ""
    ready_url: str = ""

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _connection(conn_type: str, host: str, login: str = "", password: str = "", **extra: Any) -> dict[str, Any]:
    return {"conn_type": conn_type, "host": host, "login": login, "password": password, "extra": json.dumps(extra)}


def smtp_connection(host: str, port: int, login: str, password: str) -> dict[str, Any]:
    """The ``smtp_default`` Connection for the sandbox mail server: plain SMTP (no TLS, no SSL) with a login."""
    return {
        "conn_type": "smtp",
        "host": host,
        "port": port,
        "login": login,
        "password": password,
        "extra": json.dumps(
            {"from_email": ALERT_SENDER, "disable_tls": True, "disable_ssl": True, "timeout": 10, "retry_limit": 1}
        ),
    }


def write_demo_resources(path: Path, farm_urls: list[str]) -> None:
    """Three course sites' worth of external resources spread over the link-farm hosts."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["site_name", "site_short_id", "title", "url", "has_external_license_warning"])
        for number, course in enumerate(DEMO_COURSES):
            site = course.split("/")[1]
            for index, link in enumerate(DEMO_LINK_PATHS):
                host = farm_urls[(number * len(DEMO_LINK_PATHS) + index) % len(farm_urls)]
                writer.writerow(
                    [site, site.split("-")[0], f"Reference {index + 1}", f"{host}{link}?ref={index}", "true"]
                )


def seed_demo_sites(sites_dir: Path, farm_urls: list[str]) -> bool:
    """Copy the demo course sites to ``sites_dir`` once (committed imports rewrite them), with every link of
    :data:`DEMO_SITE_LINKS` pointing at the link farm, and each course made a git checkout when git is installed.

    Returns False when ``sites_dir`` already exists (an earlier ``make run`` left it with its history).
    """
    if sites_dir.exists():
        return False
    staging = Path(tempfile.mkdtemp(prefix=".demo-sites-", dir=sites_dir.parent))
    shutil.copytree(DEMO_DIR / "sites", staging / "sites")
    mapping = {url: demo_farm_url(farm_urls, index, path) for index, (url, path) in enumerate(DEMO_SITE_LINKS.items())}
    # Longest first, so no URL is rewritten inside a longer one that starts with it.
    ordered = sorted(mapping.items(), key=lambda item: -len(item[0]))
    for path in sorted((staging / "sites").rglob("*")):
        if path.is_file() and path.suffix in {".md", ".json", ".yaml"}:
            text = original = path.read_text(encoding="utf-8")
            for url, farm_url in ordered:
                text = text.replace(url, farm_url)
            if text != original:
                path.write_text(text, encoding="utf-8")
    if shutil.which("git"):
        for course in sorted((staging / "sites").iterdir()):
            if (course / "data" / "course.json").is_file():
                _git_init(course)
    (staging / "sites").rename(sites_dir)
    staging.rmdir()
    return True


def demo_farm_url(farm_urls: list[str], index: int, path: str) -> str:
    """The link-farm URL standing for the ``index``-th demo link (a query keeps two links distinct on one host)."""
    return f"{farm_urls[index % len(farm_urls)]}{path}?link={index + 1}"


def _git_init(folder: Path) -> None:
    name, email = DEMO_GIT_AUTHOR
    env = {**os.environ, "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name,
           "GIT_COMMITTER_EMAIL": email}  # fmt: skip
    commit = ["-c", "commit.gpgSign=false", "commit", "--quiet", "--no-verify", "--message", "Demo course site"]
    for args in (["init", "--quiet", "--initial-branch=main"], ["add", "--all"], commit):
        subprocess.run(["git", "-C", str(folder), *args], env=env, check=True, capture_output=True, timeout=60)


def seed_tivoli_dropbox(dropbox: Path) -> list[str]:
    """Put each :data:`DEMO_DROPBOX` volume that is missing into ``dropbox``; returns the volumes added.

    A volume is built beside the dropbox and renamed into it, so a prep run never sees half of one; a volume
    folder already in the dropbox (not yet prepared) is left as it is.
    """
    dropbox.mkdir(parents=True, exist_ok=True)
    added = []
    for relpath, files in DEMO_DROPBOX.items():
        target = dropbox / relpath
        if target.exists():
            continue
        with tempfile.TemporaryDirectory(prefix=".demo-volume-", dir=dropbox.parent) as scratch:
            volume = Path(scratch) / "volume"
            for name, (content, written) in files.items():
                path = volume / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
                os.utime(path, (written.timestamp(), written.timestamp()))
            folders = sorted({p for p in volume.rglob("*") if p.is_dir()} | {volume}, key=lambda p: -len(p.parts))
            oldest = min(written for _, written in files.values()).timestamp()
            for folder in folders:  # deepest first: setting a folder's time does not change its parent's
                os.utime(folder, (oldest, oldest))
            target.parent.mkdir(parents=True, exist_ok=True)
            volume.rename(target)
        added.append(relpath)
    return added


def start_demo(
    runtime: SandboxRuntime, data_dir: Path, host: str = "127.0.0.1", public_host: str | None = None
) -> Endpoints:
    """Bind every service on its fixed port and prepare the demo data under ``data_dir``.

    ``public_host`` is the name clients use (the compose service name when bound inside a container).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    base = f"http://{public_host or host}"
    store = DSpaceStore()
    collections = {handle: f"OCW {department.title()}" for department, handle in DEPARTMENT_COLLECTIONS.items()}
    runtime.serve(
        make_dspace_app(store, username=SWORD_USER, password=SWORD_PASSWORD, collections=collections,
                        spool_dir=data_dir / "dspace-spool"),
        PORTS["dspace"], host=host,
    )  # fmt: skip
    runtime.serve(make_oai_app(store, communities={OCW_COMMUNITY: list(collections)}), PORTS["oai"], host=host)
    courses = [sample_course(course_id, seed=number) for number, course_id in enumerate(DEMO_COURSES, start=1)]
    runtime.serve(
        make_cms_app(courses, username=CMS_USER, password=CMS_PASSWORD, queue=DEMO_COURSES[:2]), PORTS["cms"], host=host
    )
    runtime.serve(make_wayback_app(WAYBACK_KEY, WAYBACK_SECRET), PORTS["wayback"], host=host)
    farm_ports = runtime.serve_many(make_linkfarm_app(), LINKFARM_PORTS, host=host)
    mailbox = Mailbox(data_dir / "mail")
    runtime.serve_protocol(smtp_protocol_factory(mailbox, SMTP_USER, SMTP_PASSWORD), SMTP_PORT, host=host)
    runtime.serve(make_mail_app(mailbox), PORTS["mail"], host=host)
    farm_urls = [f"{base}:{port}" for port in farm_ports]

    resources_csv = data_dir / "demo-resources.csv"
    write_demo_resources(resources_csv, farm_urls)
    sites_dir = data_dir / "demo-sites"
    seed_demo_sites(sites_dir, farm_urls)

    dropbox = _mkdir(data_dir / "tivoli" / "DROPBOX")
    seed_tivoli_dropbox(dropbox)

    urls = {name: f"{base}:{port}" for name, port in PORTS.items()}
    return Endpoints(
        urls={**urls, "linkfarm": farm_urls[0]},
        connections={
            "dspace_sword_default": _connection(
                "dspace_sword", urls["dspace"], SWORD_USER, SWORD_PASSWORD, collections=DEPARTMENT_COLLECTIONS
            ),
            "dspace_oai_default": _connection(
                "dspace_oai",
                f"{urls['oai']}/oai/request",
                set_spec="col_" + DEPARTMENT_COLLECTIONS["history"].replace("/", "_"),
            ),
            "wayback_default": _connection("wayback_spn2", urls["wayback"], WAYBACK_KEY, WAYBACK_SECRET, timeout=30),
            "ocw_cms_default": _connection("ocw_cms", urls["cms"], CMS_USER, CMS_PASSWORD, auth_style="query"),
            "smtp_default": smtp_connection(public_host or host, SMTP_PORT, SMTP_USER, SMTP_PASSWORD),
        },
        variables={
            "ocw_retirement_holding_area": str(data_dir / "retirement" / "holding"),
            "ocw_retired_course_zips_dir": str(data_dir / "retirement" / "RetiredCourseZips"),
            "OCW_SITES_DIR": str(sites_dir),
            "OCW_DATA_DIR": str(data_dir),  # reports land in <data_dir>/reports/<dag_id>/
            "TIVOLI_DROPBOX_DIR": str(dropbox),
            "TIVOLI_STAGING_DIR": str(_mkdir(data_dir / "tivoli" / "staging")),
            "TIVOLI_DSMC_COMMAND": str(FAKE_DSMC),
            "ALERT_EMAIL_RECIPIENTS": ALERT_RECIPIENTS,
        },
        environment={"OCW_FAKE_DSMC_VAULT": str(_mkdir(data_dir / "tivoli" / "vault"))},
        demo_resources=str(resources_csv),
        ready_url=f"{urls['cms']}/_sandbox/ready",
    )
