"""The Archive views in ``make run``'s stack, driven by headless Chromium as an operator uses them.

A real link check runs against the sandbox's link farm and a real retirement deposits a course into the sandbox
DSpace (both triggered through Airflow's REST API). Then Chromium logs in through the UI's login form, opens
Archive from the navigation, finds a broken link the check found, opens the retirement run's page in Airflow and
its Archive tab, sees the course's handle there, and acknowledges a reconciliation flag on the Retirements page.
The flag is raised with the reconciliation's own code (the sandbox DSpace runs in another process, so a
withdrawal cannot be staged from here). A failing step leaves a screenshot under ``var/browser-screenshots/``.

Set ``OCW_RUNNING_STACK_VAR`` to the var directory of a ``make run`` already running to use that stack.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from sqlalchemy import select, update

from tests.conftest import require_service
from tests.deploy.test_make_run import ROOT, UI, launch  # noqa: F401  (the module's make run launcher)

pytestmark = [pytest.mark.make_run, pytest.mark.timeout(900)]

SCREENSHOTS = ROOT / "var" / "browser-screenshots"
COURSE = "history/21h-126-america-in-depression-and-war-spring-2003"
RUN_TIMEOUT_S = 300
NAV_ENTRY = "a[href$='/plugin/archive']"
RUN_TAB = "a[href$='/plugin/archive-run']"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
]


@pytest.fixture(scope="module")
def stack(request) -> Path:
    """The var directory of the running stack (``make run``'s layout)."""
    running = os.environ.get("OCW_RUNNING_STACK_VAR")
    if running:
        return Path(running).resolve()
    return request.getfixturevalue("launch").var


@pytest.fixture(scope="module")
def admin(stack) -> tuple[str, str]:
    passwords = stack / "airflow" / "simple_auth_manager_passwords.json.generated"
    return "admin", json.loads(passwords.read_text())["admin"]


@pytest.fixture(scope="module")
def api(admin) -> requests.Session:
    username, password = admin
    response = requests.post(f"{UI}/auth/token", json={"username": username, "password": password}, timeout=30)
    response.raise_for_status()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    return session


def run_dag(api: requests.Session, dag_id: str, conf: dict | None = None) -> str:
    """Unpause ``dag_id``, trigger it and wait until the run succeeds; returns its run id."""
    api.patch(f"{UI}/api/v2/dags/{dag_id}", json={"is_paused": False}, timeout=30).raise_for_status()
    response = api.post(f"{UI}/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
    response.raise_for_status()
    run_id = response.json()["dag_run_id"]
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        state = api.get(f"{UI}/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}", timeout=30).json()["state"]
        if state == "success":
            return run_id
        assert state not in ("failed",), f"{dag_id} run {run_id} failed"
        assert time.monotonic() < deadline, f"{dag_id} run {run_id} still {state} after {RUN_TIMEOUT_S}s"
        time.sleep(3)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    require_service("Chromium", bool(chromium and driver_path), "apt-get install chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@contextlib.contextmanager
def step(driver, name: str) -> Iterator[None]:
    """A step of the scenario; when it fails, the browser's view is kept as ``var/browser-screenshots/<name>.png``."""
    try:
        yield
    except BaseException:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
        (SCREENSHOTS / f"{name}.html").write_text(driver.page_source, encoding="utf-8")
        raise


def wait_for(driver, condition, timeout: float = 30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def in_archive_frame(driver, text: str, timeout: float = 30) -> None:
    """Switch into the UI's embedded Archive page once it shows ``text``."""
    from selenium.webdriver.common.by import By

    def ready(d) -> bool:
        d.switch_to.default_content()
        frames = d.find_elements(By.CSS_SELECTOR, "iframe[src*='/archive/']")
        if not frames:
            return False
        d.switch_to.frame(frames[0])
        return text in d.page_source

    wait_for(driver, ready, timeout)


def test_an_operator_reads_and_acts_in_the_archive_views(stack, admin, api, browser):
    from selenium.webdriver.common.by import By

    from ocw_operators.db import make_engine
    from ocw_operators.db.models import CourseRetirement, ExternalResource
    from ocw_operators.retirement.records import SqlRetirementRecords

    check_run = run_dag(api, "external_resource_check")
    retirement_run = run_dag(api, "ocw_course_retirement", {"course_ids": [COURSE]})
    engine = make_engine(f"sqlite:///{stack / 'archive.db'}")
    with engine.connect() as connection:
        broken_url = connection.execute(
            select(ExternalResource.url).where(ExternalResource.status == "broken").order_by(ExternalResource.id)
        ).scalar()
        course = connection.execute(select(CourseRetirement).where(CourseRetirement.course_id == COURSE)).one()
    assert broken_url, "the link farm serves broken links; the check must find one"
    assert course.dspace_handle and course.state == "done"
    # The run that retired the course (an earlier scheduled run may have taken it from the CMS queue first).
    retirement_run = course.retirement_run_id or retirement_run
    with engine.begin() as connection:  # a stack used before: start from an unflagged record
        connection.execute(
            update(CourseRetirement)
            .where(CourseRetirement.course_id == COURSE)
            .values(dspace_flag=None, dspace_flag_acknowledged_by="", dspace_flag_acknowledged_at=None)
        )
    records = SqlRetirementRecords(engine, cms=lambda: None, run_id="manual__reconciliation")
    assert records.mark_withdrawn(COURSE, course.dspace_handle, expunged=False)
    engine.dispose()

    driver = browser
    username, password = admin
    with step(driver, "login"):
        driver.get(f"{UI}/")
        wait_for(driver, lambda d: d.find_elements(By.NAME, "username"))
        driver.find_element(By.NAME, "username").send_keys(username)
        driver.find_element(By.NAME, "password").send_keys(password)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait_for(driver, lambda d: "/auth/login" not in d.current_url and d.get_cookie("_token"))

    with step(driver, "archive-nav"):
        # The navigation's Archive entry opens the plugin's page embedded in the UI (url_route "archive").
        wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, NAV_ENTRY))
        driver.find_element(By.CSS_SELECTOR, NAV_ENTRY).click()
        in_archive_frame(driver, "Links needing attention")
        assert broken_url in driver.page_source
        assert f"/archive/runs/external_resource_check/{quote(check_run, safe='')}" in driver.page_source

    with step(driver, "run-tab"):
        driver.switch_to.default_content()
        driver.get(f"{UI}/dags/ocw_course_retirement/runs/{quote(retirement_run, safe='')}")
        wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, RUN_TAB))
        tab = driver.find_element(By.CSS_SELECTOR, RUN_TAB)
        assert tab.text == "Archive"
        tab.click()
        in_archive_frame(driver, "Courses worked on")
        assert f"https://hdl.handle.net/{course.dspace_handle}" in driver.page_source

    with step(driver, "acknowledge"):
        driver.get(f"{UI}/archive/retirements?flag=withdrawn")
        form = driver.find_element(By.XPATH, f"//form[input[@name='course_id' and @value='{COURSE}']]")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait_for(driver, lambda d: "acknowledged</span> by admin" in d.page_source)
        assert "withdrawn" in driver.page_source  # the flag stays visible, acknowledged
