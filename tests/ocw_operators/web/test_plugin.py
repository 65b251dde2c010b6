"""The plugin as Airflow's API server loads it: the Archive app mounted, the navigation entry and the run tab."""

from __future__ import annotations


def test_the_api_server_lists_the_archive_views(as_role):
    response = as_role("admin").get("/api/v2/plugins")
    assert response.status_code == 200, response.text
    plugin = next(p for p in response.json()["plugins"] if p["name"] == "archive_views")
    assert [app["url_prefix"] for app in plugin["fastapi_apps"]] == ["/archive"]
    views = {view["destination"]: view for view in plugin["external_views"]}
    assert views["nav"]["href"] == "/archive/links"
    assert views["dag_run"]["href"] == "/archive/runs/{DAG_ID}/{RUN_ID}"
    assert all(view["name"] == "Archive" for view in views.values())
    assert len({view["url_route"] for view in views.values()}) == 2, "Airflow drops a second view of one route"


def test_task_processes_do_not_pay_for_the_web_app():
    """Airflow imports every plugin in each task process: the Archive app is built on the API server's first
    request, so importing the plugin loads neither FastAPI nor the API server's security module."""
    import os
    import subprocess
    import sys

    code = (
        "import sys, archive_views; "
        "print(sorted(m for m in ('fastapi', 'airflow.api_fastapi.core_api.security', 'ocw_operators.web.app') "
        "if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"
