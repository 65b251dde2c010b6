"""Hook for DSpace's OAI-PMH endpoint (Connection ``dspace_oai_default``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import requests
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowException
from airflow.sdk.log import mask_secret

from ocw_operators.clients.dspace_oai import OaiClient, OaiClientSettings
from ocw_operators.connection_forms import DSPACE_OAI, ExtraFieldError, ExtraValues
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


class DSpaceOaiHook(BaseHook):
    """Harvest DSpace over OAI-PMH 2.0.

    The Connection gives the endpoint: ``host`` is either the whole base URL (``https://dspace.mit.edu/oai/request``)
    or a host name completed by ``schema`` (URL scheme, default https), ``port`` and ``extra.path`` (default
    ``/oai/request``). ``login``/``password``, when set, are sent as HTTP Basic auth. ``extra`` (declared, with
    its defaults, in :data:`ocw_operators.connection_forms.DSPACE_OAI`) may also hold
    ``set_spec`` (e.g. ``col_1721.1_33971``), ``metadata_prefix`` (default ``oai_dc``) and the client limits:
    ``http_method``, ``connect_timeout``, ``read_timeout``, ``total_timeout``, ``max_503_retries``,
    ``default_retry_after``, ``max_retry_after``, ``max_response_bytes``.

    :param dspace_oai_conn_id: Airflow Connection id of the OAI-PMH endpoint.
    :param sleep: how 503 Retry-After waits are slept (injectable for tests).
    """

    conn_name_attr = "dspace_oai_conn_id"
    default_conn_name = "dspace_oai_default"
    conn_type = "dspace_oai"
    hook_name = "DSpace OAI-PMH"

    def __init__(
        self,
        dspace_oai_conn_id: str = default_conn_name,
        *,
        sleep: Callable[[float], None] = time.sleep,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.dspace_oai_conn_id = dspace_oai_conn_id
        self._sleep = sleep
        self._client: OaiClient | None = None
        self._extra: ExtraValues | None = None

    # --- configuration from the Connection (read lazily, at run time) ----------------------------------

    def _connection_settings(self) -> tuple[OaiClientSettings, ExtraValues, tuple[str, str] | None]:
        conn = self.get_connection(self.dspace_oai_conn_id)
        try:
            extra = DSPACE_OAI.parse_extra(self.dspace_oai_conn_id, conn.extra_dejson)
        except ExtraFieldError as error:
            raise AirflowException(str(error)) from None
        options = {name: extra[name] for name in _CLIENT_EXTRAS}
        try:
            settings = OaiClientSettings(base_url=self._base_url(conn, extra), **options)
        except ValueError as error:
            raise AirflowException(f"Connection {self.dspace_oai_conn_id!r}: {error}") from error
        auth = (conn.login, conn.password or "") if conn.login else None
        return settings, extra, auth

    @staticmethod
    def _base_url(conn: Any, extra: ExtraValues) -> str:
        host = (conn.host or "").strip()
        if not host:
            raise AirflowException(f"Connection {conn.conn_id!r} needs host (the OAI-PMH base URL or host name)")
        if "://" in host:
            embedded = urlsplit(host).password
            if embedded:
                # A password written into the URL is not a Connection password, so Airflow does not mask it.
                mask_secret(embedded)
            return host
        scheme = conn.schema or "https"
        port = f":{conn.port}" if conn.port else ""
        path = extra["path"] or "/oai/request"
        return f"{scheme}://{host}{port}/{path.lstrip('/')}"

    def get_conn(self) -> OaiClient:
        """The :class:`~ocw_operators.clients.dspace_oai.OaiClient` for this Connection (built once per hook)."""
        if self._client is None:
            settings, extra, auth = self._connection_settings()
            session = requests.Session()
            if auth is not None:
                session.auth = auth
            self._client = OaiClient(settings, session, sleep=self._sleep)
            self._extra = extra
        return self._client

    @property
    def endpoint(self) -> str:
        """The base URL without credentials: the key harvest state is stored under."""
        return redact_url(self.get_conn().settings.base_url)

    @property
    def set_spec(self) -> str:
        self.get_conn()
        return (self._extra or {}).get("set_spec") or ""

    @property
    def metadata_prefix(self) -> str:
        self.get_conn()
        return (self._extra or {}).get("metadata_prefix") or "oai_dc"

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
