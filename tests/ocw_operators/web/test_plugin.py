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
