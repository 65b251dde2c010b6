"""Hook for DSpace's OAI-PMH endpoint (Connection ``dspace_oai_default``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import requests
from airflow.sdk.exceptions import AirflowException

from ocw_operators.clients.dspace_oai import OaiClient, OaiClientSettings
from ocw_operators.connection_fields import ExtraValues
from ocw_operators.connection_forms import DSPACE_OAI
from ocw_operators.hooks.http_base import OcwHttpHook
from ocw_operators.http_support import redact_url
from ocw_operators.oai.protocol import ListPage, OaiRecord, OaiSet, RepositoryInfo

# Connection extra fields that tune the client (OaiClientSettings takes them under the same names).
_CLIENT_EXTRAS = (
    "http_method",
    "connect_timeout",
    "read_timeout",
    "total_timeout",
    "max_503_retries",
    "default_retry_after",
    "max_retry_after",
    "max_response_bytes",
)
DEFAULT_PATH = "/oai/request"


class DSpaceOaiHook(OcwHttpHook[OaiClient]):
    """Harvest DSpace over OAI-PMH 2.0.

    The Connection gives the endpoint: ``host`` is either the whole base URL (``https://dspace.mit.edu/oai/request``)
    or a host name completed by ``schema`` (URL scheme, default https), ``port`` and ``extra.path`` (default
    ``/oai/request``). ``login``/``password``, when set, are sent as HTTP Basic auth. ``extra`` (declared, with
    its defaults, in :data:`ocw_operators.connection_forms.DSPACE_OAI`) may also hold
    ``set_spec`` (e.g. ``col_1721.1_33971``), ``metadata_prefix`` (default ``oai_dc``), the client limits
    ``http_method``, ``connect_timeout``, ``read_timeout``, ``total_timeout``, ``max_503_retries``,
    ``default_retry_after``, ``max_retry_after``, ``max_response_bytes``, and the session's ``headers``,
    ``proxies``, ``verify`` and ``ca_bundle``.

    :param dspace_oai_conn_id: Airflow Connection id of the OAI-PMH endpoint.
    :param sleep: how 503 Retry-After waits are slept (injectable for tests).
    """

    conn_name_attr = "dspace_oai_conn_id"
    default_conn_name = "dspace_oai_default"
    form = DSPACE_OAI

    def __init__(
        self,
        dspace_oai_conn_id: str = default_conn_name,
        *,
        sleep: Callable[[float], None] = time.sleep,
        **kwargs: Any,
    ) -> None:
        super().__init__(dspace_oai_conn_id, **kwargs)
        self.dspace_oai_conn_id = dspace_oai_conn_id
        self._sleep = sleep

    # --- configuration from the Connection (read lazily, at run time) ----------------------------------

    def base_path(self) -> str:
        path = self._extra["path"] if self._extra is not None else None
        return path or DEFAULT_PATH

    def build_client(self, connection: Any, extra: ExtraValues, session: requests.Session) -> OaiClient:
        """The :class:`~ocw_operators.clients.dspace_oai.OaiClient` for this Connection."""
        options = {name: extra[name] for name in _CLIENT_EXTRAS}
        try:
            settings = OaiClientSettings(base_url=self.base_url, **options)
        except ValueError as error:
            raise AirflowException(f"Connection {self.dspace_oai_conn_id!r}: {error}") from error
        return OaiClient(settings, session, sleep=self._sleep)

    @property
    def endpoint(self) -> str:
        """The base URL without credentials: the key harvest state is stored under."""
        return redact_url(self.get_conn().settings.base_url)

    @property
    def set_spec(self) -> str:
        return self.extra.get("set_spec") or ""

    @property
    def metadata_prefix(self) -> str:
        return self.extra.get("metadata_prefix") or "oai_dc"

    # --- verbs ------------------------------------------------------------------------------------------

    def identify(self) -> RepositoryInfo:
        return self.get_conn().identify()

    def list_sets(self) -> Iterator[OaiSet]:
        return self.get_conn().list_sets()

    def list_pages(self, verb: str = "ListRecords", **kwargs: Any) -> Iterator[ListPage]:
        """Pages of ListRecords/ListIdentifiers (see :meth:`OaiClient.list_pages`); defaults from the Connection."""
        kwargs.setdefault("metadata_prefix", self.metadata_prefix)
        kwargs.setdefault("set_spec", self.set_spec or None)
        return self.get_conn().list_pages(verb, **kwargs)

    def get_record(self, identifier: str, metadata_prefix: str | None = None) -> OaiRecord:
        return self.get_conn().get_record(identifier, metadata_prefix or self.metadata_prefix)

    def test_connection(self) -> tuple[bool, str]:
        try:
            info = self.identify()
        except Exception as error:
            return False, f"{error.__class__.__name__}: {error}"
        return True, f"OAI-PMH repository {info.repository_name!r} (granularity {info.granularity})"
