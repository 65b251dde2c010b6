"""Hook for DSpace's SWORD deposit service (Connection ``dspace_sword_default``)."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowException
from airflow.sdk.log import mask_secret

from ocw_operators.retirement.sword import CollectionMap, SwordClient, SwordSettings


class DSpaceSwordHook(BaseHook):
    """Deposits METS SIP zips into DSpace over SWORD v1 or v2, with HTTP Basic auth from the Connection.

    Connection fields: ``host`` (``https://dspace.mit.edu`` or a bare host with ``schema`` and ``port``),
    ``login``/``password`` (the depositing e-person). ``extra`` (all optional):

    * ``sword_version``: 1 (default; ``/sword/deposit/<handle>``) or 2 (``/swordv2/collection/<handle>``);
    * ``on_behalf_of``: e-person to deposit on behalf of (mediated deposit);
    * ``connect_timeout`` (s, default 10) and ``read_timeout`` (s, default 900: DSpace ingests before answering);
    * ``deposit_path``: overrides the deposit path prefix;
    * ``collections``: ``{"<department>": "<collection handle>"}``, or ``collections_file``: a path to a JSON
      or XML mapping (OCW's DepositURILookup).

    :param dspace_sword_conn_id: the Airflow Connection id.
    """

    conn_name_attr = "dspace_sword_conn_id"
    default_conn_name = "dspace_sword_default"
    conn_type = "dspace_sword"
    hook_name = "DSpace SWORD"

    def __init__(self, dspace_sword_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dspace_sword_conn_id = dspace_sword_conn_id

    def _settings_and_extra(self) -> tuple[SwordSettings, dict[str, Any]]:

        conn = self.get_connection(self.dspace_sword_conn_id)
        if not conn.host:
            raise AirflowException(f"Connection {self.dspace_sword_conn_id!r} has no host (the DSpace base URL)")
        if not conn.login or not conn.password:
            raise AirflowException(
                f"Connection {self.dspace_sword_conn_id!r} needs login and password (SWORD Basic auth)"
            )
        mask_secret(conn.password)
        extra = conn.extra_dejson or {}
        base_url = conn.host if "://" in conn.host else f"{conn.schema or 'https'}://{conn.host}"
        if conn.port and "://" not in conn.host:
            base_url += f":{conn.port}"
        try:
            settings = SwordSettings(
                base_url=base_url.rstrip("/"),
                username=conn.login,
                password=conn.password,
                version=int(extra.get("sword_version", 1)),
                on_behalf_of=extra.get("on_behalf_of") or None,
                connect_timeout=float(extra.get("connect_timeout", 10)),
                read_timeout=float(extra.get("read_timeout", 900)),
                deposit_path=extra.get("deposit_path") or None,
                verbose=bool(extra.get("verbose", True)),
            )
        except (TypeError, ValueError) as error:
            raise AirflowException(f"Connection {self.dspace_sword_conn_id!r} has an invalid extra: {error}") from None
        return settings, extra

    def get_conn(self) -> SwordClient:
        """A :class:`~ocw_operators.retirement.sword.SwordClient` configured from the Connection."""

        return SwordClient(self._settings_and_extra()[0])

    def collection_map(self) -> CollectionMap:
        """The department -> collection mapping from ``extra.collections`` or ``extra.collections_file``."""

        extra = self._settings_and_extra()[1]
        if extra.get("collections_file"):
            return CollectionMap.from_file(extra["collections_file"])
        if isinstance(extra.get("collections"), dict) and extra["collections"]:
            return CollectionMap(extra["collections"])
        raise AirflowException(
            f"Connection {self.dspace_sword_conn_id!r} maps no department to a collection; "
            "set extra.collections or extra.collections_file"
        )

    def test_connection(self) -> tuple[bool, str]:
        try:
            status = self.get_conn().service_document()
        except Exception as error:
            return False, f"{error.__class__.__name__}: {error}"
        return status == 200, f"SWORD service document answered HTTP {status}"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": [],
            "relabeling": {"host": "DSpace base URL", "login": "SWORD user (e-person)"},
            "placeholders": {
                "host": "https://dspace.mit.edu",
                "extra": '{"sword_version": 1, "collections": {"history": "1721.1/33971"}, "read_timeout": 900}',
            },
        }
