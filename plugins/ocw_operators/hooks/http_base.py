"""The base of the hooks that speak HTTP to one external system: the CMS, DSpace SWORD and OAI-PMH, Wayback SPN2.

Each is an :class:`~airflow.providers.http.hooks.http.HttpHook`. Its Connection configures one ``requests.Session``
with HttpHook's own steps: the base URL from host, schema and port; HTTP Basic from login and password where the
protocol authenticates that way; TCP keep-alive adapters. ``get_conn()`` returns the system's protocol client
(:mod:`ocw_operators.clients`) built on that session, once per hook instance.

One step is replaced on purpose. HttpHook sends every ``extra`` key it does not know as a request header, so these
connection types' own fields (timeouts, collections, a set name, anything written there by hand) would reach the
server as headers. Here ``extra`` is read only through the type's form (:mod:`ocw_operators.connection_forms`):
its fields configure the client, and of them only :data:`~ocw_operators.connection_forms.HTTP_FIELDS` (headers,
proxies, TLS verification) configure the session.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar, cast
from urllib.parse import SplitResult, urlsplit, urlunsplit

import aiohttp
import requests
from airflow.providers.http.hooks.http import HttpHook
from airflow.sdk.exceptions import AirflowException
from airflow.sdk.log import mask_secret

from ocw_operators.connection_fields import ConnectionForm, ExtraFieldError, ExtraValues
from ocw_operators.http_support import redact_url

ClientT = TypeVar("ClientT")

# Header names whose values are credentials: masked in task logs, as Airflow masks a Connection's password.
_CREDENTIAL_HEADER = re.compile(r"auth|cookie|token|key|secret|passw|session", re.IGNORECASE)


def base_url_from_connection(connection: Any, *, default_host: str = "", path: str = "") -> str:
    """The base URL a Connection names, read as HttpHook reads it, with https as the default scheme.

    ``host`` is a whole URL (``https://dspace.mit.edu/oai/request``) or a host name completed by ``schema``,
    ``port`` and ``path``; a port is added to a URL that names none. A password written into the URL is masked in
    task logs (Airflow masks only the Connection's password field).
    """
    host = (connection.host or "").strip() or default_host
    if "://" in host:
        parts = urlsplit(host)
        if parts.password:
            mask_secret(parts.password)
        if connection.port and not _names_port(parts):
            return urlunsplit(parts._replace(netloc=f"{parts.netloc}:{connection.port}"))
        return host
    scheme = (connection.schema or "").strip() or "https"
    port = f":{connection.port}" if connection.port else ""
    suffix = f"/{path.lstrip('/')}" if path else ""
    return f"{scheme}://{host.rstrip('/')}{port}{suffix}"


def _names_port(parts: SplitResult) -> bool:
    try:
        return parts.port is not None
    except ValueError:  # not a number: the client refuses the URL with a clearer message
        return True


@dataclass(frozen=True)
class Transport:
    """What a Connection's :data:`~ocw_operators.connection_forms.HTTP_FIELDS` set on its session."""

    headers: dict[str, str] = field(default_factory=dict)
    proxies: dict[str, str] = field(default_factory=dict)
    verify: bool | str = True  # requests' meaning: False, True, or the path of a CA bundle


def transport_from_extra(conn_id: str, extra: ExtraValues) -> Transport:
    """The session settings of a parsed extra; credentials in them are masked in task logs.

    :raises ExtraFieldError: a header or proxy that is not text.
    """
    headers = _text_mapping(conn_id, "headers", extra["headers"])
    proxies = _text_mapping(conn_id, "proxies", extra["proxies"])
    for name, value in headers.items():
        if _CREDENTIAL_HEADER.search(name):
            mask_secret(value)
    for url in proxies.values():
        password = urlsplit(url).password
        if password:
            mask_secret(password)
    return Transport(headers, proxies, (extra["ca_bundle"] or True) if extra["verify"] else False)


def _text_mapping(conn_id: str, name: str, value: dict[str, Any] | None) -> dict[str, str]:
    if not value:
        return {}
    if not all(isinstance(key, str) and isinstance(text, str) for key, text in value.items()):
        # Values are not quoted: a header may hold a credential.
        raise ExtraFieldError(f"Connection {conn_id!r} has an invalid extra: extra.{name} must map names to text")
    return dict(value)


class OcwHttpHook(HttpHook, Generic[ClientT]):
    """An HttpHook whose ``get_conn()`` is a protocol client over the session the Connection configures.

    Subclasses name their :attr:`form` and the standard fields they need (:attr:`required_fields`), and build the
    client (:meth:`build_client`).

    :param conn_id: the Airflow Connection id.
    :param kwargs: passed to :class:`~airflow.providers.http.hooks.http.HttpHook` (``auth_type``, ``adapter``,
        TCP keep-alive settings).
    """

    form: ClassVar[ConnectionForm]
    # The standard fields the system cannot work without (the error names them by the form's labels).
    required_fields: ClassVar[tuple[str, ...]] = ("host",)
    # Whether the session honours the workers' environment (HTTPS_PROXY, REQUESTS_CA_BUNDLE, ~/.netrc).
    trust_env: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The connection type and its name, as Airflow lists them, are the form's: declared once.
        cls.conn_type, cls.hook_name = cls.form.conn_type, cls.form.hook_name

    def __init__(self, conn_id: str, **kwargs: Any) -> None:
        super().__init__(method="GET", http_conn_id=conn_id, **kwargs)
        self._client: ClientT | None = None
        self._extra: ExtraValues | None = None

    # --- what subclasses provide -----------------------------------------------------------------------------

    def check_connection(self, connection: Any) -> None:
        """Refuse a Connection without a standard field the system needs (before anything else is read)."""
        missing = [
            f'{name} ("{self.form.relabeling[name]}")' if name in self.form.relabeling else name
            for name in self.required_fields
            if not str(getattr(connection, name) or "").strip()
        ]
        if missing:
            named = ", ".join(missing[:-1]) + " and " + missing[-1] if len(missing) > 1 else missing[0]
            raise AirflowException(f"Connection {self.http_conn_id!r} needs {named}")
        if "password" in self.required_fields:
            # Airflow masks a Connection's password already; a hook that cannot work without one makes sure.
            mask_secret(connection.password)

    def build_client(self, connection: Any, extra: ExtraValues, session: requests.Session) -> ClientT:
        raise NotImplementedError

    def base_path(self) -> str:
        """The path completing a host name into the base URL (after the extra is read)."""
        return ""

    # --- the Connection, read once per hook --------------------------------------------------------------------

    def get_conn(self) -> ClientT:  # type: ignore[override]  # HttpHook's returns the session
        """The protocol client for this Connection, built on first use and kept by this hook."""
        if self._client is None:
            connection = self.get_connection(self.http_conn_id)
            self.check_connection(connection)
            extra, transport = self.read_extra(connection)
            self._set_base_url(connection)
            session = self._configure_session_from_auth(requests.Session(), connection)
            try:
                session = self._configure_session_from_mount_adapters(self._apply_transport(session, transport))
            except ValueError:  # no URL scheme; HttpHook's message would quote the URL, credentials and all
                raise AirflowException(
                    f"Connection {self.http_conn_id!r}: host {redact_url(self.base_url)!r} has no URL scheme"
                ) from None
            self._client = self.build_client(connection, extra, session)
        return self._client

    @property
    def extra(self) -> ExtraValues:
        """The Connection's parsed extra fields (reads the Connection if the client was not built yet)."""
        self.get_conn()
        return cast(ExtraValues, self._extra)  # get_conn() read it

    def read_extra(self, connection: Any) -> tuple[ExtraValues, Transport]:
        """The form's fields of ``connection.extra`` and the session settings among them."""
        try:
            extra = self.form.parse_extra(self.http_conn_id, connection.extra_dejson)
            transport = transport_from_extra(self.http_conn_id, extra)
        except ExtraFieldError as error:
            raise AirflowException(str(error)) from None
        self._extra = extra
        return extra, transport

    def _set_base_url(self, connection: Any) -> None:
        # HttpHook's rule with https as the default scheme, the type's default path, and no SRV lookup.
        self.base_url = base_url_from_connection(connection, default_host=self.default_host, path=self.base_path())
        self._base_url_initialized = True

    def _extract_auth(self, connection: Any) -> Any:
        # HTTP Basic as a (login, password) pair, which requests sends as HttpHook's HTTPBasicAuth does; an empty
        # password field is sent empty (HTTPBasicAuth would send the text "None").
        if self._auth_type is not None:
            return super()._extract_auth(connection)
        return (connection.login, connection.password or "") if connection.login else None

    def _configure_session_from_extra(
        self, session: requests.Session, connection: Any, extra_options: dict[str, Any]
    ) -> requests.Session:
        # HttpHook's version sends every extra key it does not know as a header, so the type's own fields would
        # reach the server. Only the declared session fields are applied.
        return self._apply_transport(session, self.read_extra(connection)[1])

    def _apply_transport(self, session: requests.Session, transport: Transport) -> requests.Session:
        session.trust_env = self.trust_env
        session.headers.update(transport.headers)
        session.proxies.update(transport.proxies)
        session.verify = transport.verify
        return session

    # --- the same Connection for asyncio (triggers) ----------------------------------------------------------

    def aiohttp_session(
        self, connection: Any, transport: Transport, *, timeout: aiohttp.ClientTimeout
    ) -> aiohttp.ClientSession:
        """An ``aiohttp`` session configured like the ``requests`` one; create it inside the event loop.

        Not the provider's HttpAsyncHook: its ``config()`` sends every extra key it does not know as a header (the
        trap above), hands the ``proxies`` mapping to aiohttp, which takes one proxy URL, always authenticates
        with aiohttp's BasicAuth (which aiohttp refuses beside SPN2's own ``Authorization`` header), raises on
        every error status and retries 5xx answers itself, so a 429's Retry-After would never reach the caller.
        """
        auth = self._extract_auth(connection)
        return aiohttp.ClientSession(
            headers=transport.headers,
            auth=aiohttp.BasicAuth(*auth) if isinstance(auth, tuple) else None,
            timeout=timeout,
            trust_env=self.trust_env,
            proxy=transport.proxies.get(urlsplit(self.base_url).scheme),
            connector=aiohttp.TCPConnector(ssl=_ssl_setting(transport.verify)),
        )


def _ssl_setting(verify: bool | str) -> bool | ssl.SSLContext:
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return verify
