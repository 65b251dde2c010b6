"""Hook for DSpace's SWORD deposit service (Connection ``dspace_sword_default``)."""

from __future__ import annotations

from typing import Any

import requests
from airflow.sdk.exceptions import AirflowException

from ocw_operators.clients.dspace_sword import SwordClient, SwordSettings
from ocw_operators.connection_fields import ExtraValues
from ocw_operators.connection_forms import DSPACE_SWORD
from ocw_operators.hooks.http_base import OcwHttpHook
from ocw_operators.retirement.collection_map import CollectionMap, CollectionMapError


class DSpaceSwordHook(OcwHttpHook[SwordClient]):
    """Deposits METS SIP zips into DSpace over SWORD v1 or v2, with HTTP Basic auth from the Connection.

    Connection fields: ``host`` (``https://dspace.mit.edu`` or a bare host with ``schema`` and ``port``),
    ``login``/``password`` (the depositing e-person). ``extra`` (all optional; the form and the types are declared
    in :data:`ocw_operators.connection_forms.DSPACE_SWORD`):

    * ``sword_version``: 1 (default; ``/sword/deposit/<handle>``) or 2 (``/swordv2/collection/<handle>``);
    * ``on_behalf_of``: e-person to deposit on behalf of (mediated deposit);
    * ``connect_timeout`` (s, default 10) and ``read_timeout`` (s, default 900: DSpace ingests before answering);
    * ``deposit_path``: overrides the deposit path prefix; ``verbose`` (default true): ask for verbose receipts;
    * ``collections``: ``{"<department>": "<collection handle>"}`` (an object or its JSON text), or
      ``collections_file``: a path to a JSON or XML mapping (OCW's DepositURILookup);
    * ``headers``, ``proxies``, ``verify``, ``ca_bundle``: the session's.

    :param dspace_sword_conn_id: the Airflow Connection id.
    """

    conn_name_attr = "dspace_sword_conn_id"
    default_conn_name = "dspace_sword_default"
    form = DSPACE_SWORD
    required_fields = ("host", "login", "password")  # the SWORD account deposits with HTTP Basic
    # Proxies, CA certificates and credentials come from the Connection alone, never from a worker's environment.
    trust_env = False

    def __init__(self, dspace_sword_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(dspace_sword_conn_id, **kwargs)
        self.dspace_sword_conn_id = dspace_sword_conn_id

    def build_client(self, connection: Any, extra: ExtraValues, session: requests.Session) -> SwordClient:
        """A :class:`~ocw_operators.clients.dspace_sword.SwordClient` configured from the Connection."""
        try:
            settings = SwordSettings(
                base_url=self.base_url.rstrip("/"),
                version=extra["sword_version"],
                on_behalf_of=extra["on_behalf_of"] or None,
                connect_timeout=extra["connect_timeout"],
                read_timeout=extra["read_timeout"],
                deposit_path=extra["deposit_path"] or None,
                verbose=extra["verbose"],
            )
        except (TypeError, ValueError) as error:
            raise AirflowException(f"Connection {self.dspace_sword_conn_id!r} has an invalid extra: {error}") from None
        return SwordClient(settings, session)

    def collection_map(self) -> CollectionMap:
        """The department -> collection mapping from ``extra.collections`` or ``extra.collections_file``."""
        extra = self.extra
        if extra["collections_file"]:
            return CollectionMap.from_file(extra["collections_file"])
        if extra["collections"]:
            return CollectionMap(extra["collections"])
        raise AirflowException(
            f"Connection {self.dspace_sword_conn_id!r} maps no department to a collection; "
            "set extra.collections or extra.collections_file"
        )

    def test_connection(self) -> tuple[bool, str]:
        """Fetch the service document with the Connection's credentials and check the collection mapping."""
        try:
            client = self.get_conn()
            status = client.service_document()
        except Exception as error:
            return False, f"{error.__class__.__name__}: {error}"
        answered = f"SWORD v{client.settings.version} service document answered HTTP {status}"
        if status != 200:
            return False, answered
        try:
            mapped = len(self.collection_map())
        except (AirflowException, CollectionMapError) as error:
            return False, f"{answered}, but the collection mapping is unusable: {error}"
        return True, f"{answered}; {mapped} department(s) mapped to collections"
