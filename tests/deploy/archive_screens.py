"""Screenshots of the Archive views for the README, taken from a running ``make run`` (``docs/screens/``).

    PYTHONPATH=plugins:include:. .venv/bin/python -m tests.deploy.archive_screens [var-dir]

Logs in as admin (make run's generated password), opens each page embedded in the Airflow UI, in light mode and
(the link-health page) in dark mode.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from urllib.parse import quote

from selenium.webdriver.common.by import By

from tests.deploy.test_archive_browser import CHROMIUM_FLAGS, NAV_ENTRY, ROOT, RUN_TAB, UI, in_archive_frame, wait_for

SCREENS = ROOT / "docs" / "screens"


def _driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def _open_tab(driver, label: str, expect: str) -> None:
    in_archive_frame(driver, "Link health")
    driver.find_element(By.LINK_TEXT, label).click()
    in_archive_frame(driver, expect)
    driver.switch_to.default_content()


def main(var: Path) -> None:
    password = json.loads((var / "airflow" / "simple_auth_manager_passwords.json.generated").read_text())["admin"]
    SCREENS.mkdir(parents=True, exist_ok=True)
    driver = _driver()
    try:
        driver.get(f"{UI}/")
        wait_for(driver, lambda d: d.find_elements(By.NAME, "username"))
        driver.find_element(By.NAME, "username").send_keys("admin")
        driver.find_element(By.NAME, "password").send_keys(password)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait_for(driver, lambda d: "/auth/login" not in d.current_url)
        for scheme in ("light", "dark"):
            driver.execute_cdp_cmd(
                "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]}
            )
            driver.get(f"{UI}/")
            wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, NAV_ENTRY))
            driver.find_element(By.CSS_SELECTOR, NAV_ENTRY).click()
            in_archive_frame(driver, "Links needing attention")
            driver.switch_to.default_content()
            time.sleep(1)
            driver.save_screenshot(str(SCREENS / f"links-{scheme}.png"))
            if scheme == "dark":
                break
            for label, expect, name in (
                ("Retirements", "DSpace flag", "retirements"),
                ("OAI-PMH", "Recent harvest runs", "oai"),
                ("Tivoli", "Load batches", "tivoli"),
            ):
                driver.get(f"{UI}/plugin/archive")
                _open_tab(driver, label, expect)
                time.sleep(1)
                driver.save_screenshot(str(SCREENS / f"{name}.png"))
            run = _latest_retirement_run(var)
            driver.get(f"{UI}/dags/ocw_course_retirement/runs/{quote(run, safe='')}")
            wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, RUN_TAB))
            driver.find_element(By.CSS_SELECTOR, RUN_TAB).click()
            in_archive_frame(driver, "Courses worked on")
            driver.switch_to.default_content()
            time.sleep(1)
            driver.save_screenshot(str(SCREENS / "run-tab.png"))
    finally:
        driver.quit()


def _latest_retirement_run(var: Path) -> str:
    import sqlite3

    with sqlite3.connect(var / "archive.db") as connection:
        return connection.execute(
            "SELECT retirement_run_id FROM course_retirement WHERE retirement_run_id != '' "
            "ORDER BY updated_on DESC LIMIT 1"
        ).fetchone()[0]


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "var").resolve())
