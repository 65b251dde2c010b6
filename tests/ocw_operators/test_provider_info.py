from importlib import import_module
from importlib.metadata import entry_points

from ocw_operators.provider_info import get_provider_info


def test_every_registered_connection_type_matches_its_hook():
    for entry in get_provider_info()["connection-types"]:
        module, _, name = entry["hook-class-name"].rpartition(".")
        hook = getattr(import_module(module), name)
        assert hook.conn_type == entry["connection-type"]
        assert hook.default_conn_name and hook.hook_name


def test_the_provider_entry_point_is_installed():
    names = {ep.value for ep in entry_points(group="apache_airflow_provider")}
    assert "ocw_operators.provider_info:get_provider_info" in names
