"""The package's connection types: their Airflow UI forms, declared once for the UI and for the hooks.

``provider_info.py`` turns each declaration into the provider info's connection form, and every hook reads its
Connection's ``extra`` through the same declaration
(:meth:`~ocw_operators.connection_fields.ConnectionForm.parse_extra`).
The HTTP types share :data:`HTTP_FIELDS`: the headers, proxies and TLS settings of the session their hook configures.

No Airflow imports: the providers manager calls ``get_provider_info`` in every Airflow process.
"""

from __future__ import annotations

from ocw_operators.connection_fields import ConnectionForm, ExtraField

_TIMEOUT_NOTE = "Seconds; empty for the default."
_SCHEME_LABEL = "URL scheme"
_SCHEME_PLACEHOLDER = "https (used when host has no scheme)"

# The session every HTTP connection type's hook configures (HttpHook reads the same settings from an http
# Connection's extra, where every other key becomes a request header; these types send only ``headers``).
HTTP_FIELDS = (
    ExtraField(
        "headers",
        "Extra headers",
        "object",
        'Sent with every request, e.g. {"X-Forwarded-Proto": "https"}. A value whose header name suggests a '
        "credential (Authorization, Cookie, ...Token, ...Key) is masked in task logs.",
    ),
    ExtraField(
        "proxies",
        "Proxies",
        "object",
        'The proxy for each URL scheme, e.g. {"https": "http://proxy.example.edu:3128"}. Empty: none, or the '
        "workers' HTTPS_PROXY where the connection type honours the environment.",
    ),
    ExtraField(
        "verify",
        "Verify TLS certificates",
        "boolean",
        "Turn off only for a test server with a self-signed certificate.",
        default=True,
    ),
    ExtraField(
        "ca_bundle",
        "CA bundle",
        "string",
        "Path on the workers to the CA certificates that signed the server's certificate (a private CA).",
    ),
)
_CONNECT_TIMEOUT = ExtraField(
    "connect_timeout", "Connect timeout", "number", _TIMEOUT_NOTE, default=10.0, positive=True
)

_READ_TIMEOUT = ExtraField(
    "read_timeout", "Read timeout", "number", "Seconds between bytes of a response.", default=120.0, positive=True
)


def _http_form(
    *, fields: tuple[ExtraField, ...], host: str, login: str, password: str, example: str, **names: str
) -> ConnectionForm:
    """An HTTP connection type: its own fields, then the session's (:data:`HTTP_FIELDS`); the standard fields
    relabelled, ``host`` with an example."""
    return ConnectionForm(
        **names,
        fields=(*fields, *HTTP_FIELDS),
        relabeling={"host": host, "schema": _SCHEME_LABEL, "login": login, "password": password},
        placeholders={"host": example, "schema": _SCHEME_PLACEHOLDER},
    )


ARCHIVE_DB = ConnectionForm(
    conn_type="ocw_archive_db",
    hook_class_name="ocw_operators.hooks.archive_db.ArchiveDbHook",
    hook_name="OCW archive state DB",
    fields=(
        ExtraField(
            "sqlalchemy_url",
            "SQLAlchemy URL",
            "string",
            "The archive state DB, e.g. postgresql+psycopg2://ocw@db.example.edu/ocw_archive or "
            "sqlite:////var/lib/ocw/archive.db. Leave the password out of the URL and put it in the Password field.",
            sensitive=True,
        ),
    ),
    hidden=("host", "schema", "port", "login"),
    relabeling={"password": "Database password (added to the URL)"},
)

DSPACE_SWORD = _http_form(
    conn_type="dspace_sword",
    hook_class_name="ocw_operators.hooks.dspace_sword.DSpaceSwordHook",
    hook_name="DSpace SWORD",
    fields=(
        ExtraField(
            "sword_version",
            "SWORD version",
            "integer",
            "1 deposits with POST /sword/deposit/<handle>, 2 with POST /swordv2/collection/<handle>.",
            default=1,
            enum=(1, 2),
            choices={"1": "SWORD v1", "2": "SWORD v2"},
        ),
        ExtraField(
            "collections",
            "Collections",
            "object",
            'Department to DSpace collection handle, e.g. {"history": "1721.1/33971"}. '
            "Not used when a collections file is set.",
        ),
        ExtraField(
            "collections_file",
            "Collections file",
            "string",
            "Path on the workers to a JSON object of department to handle, or an XML mapping in the style of "
            "OCW's DepositURILookup. Takes precedence over Collections.",
        ),
        ExtraField(
            "on_behalf_of",
            "Deposit on behalf of",
            "string",
            "Mediated deposit: the e-person DSpace records as the depositor (On-Behalf-Of). Empty: the SWORD user.",
        ),
        _CONNECT_TIMEOUT,
        ExtraField(
            "read_timeout",
            "Read timeout",
            "number",
            "Seconds to wait for DSpace's answer: it unpacks and ingests a deposit before it replies.",
            default=900.0,
            positive=True,
        ),
        ExtraField(
            "deposit_path",
            "Deposit path",
            "string",
            "Replaces the deposit path prefix (/sword/deposit for v1, /swordv2/collection for v2).",
        ),
        ExtraField(
            "verbose",
            "Verbose receipts",
            "boolean",
            "Ask DSpace for a verbose deposit receipt (X-Verbose).",
            default=True,
        ),
    ),
    host="DSpace base URL",
    login="SWORD user (e-person)",
    password="SWORD password",
    example="https://dspace.mit.edu",
)

DSPACE_OAI = _http_form(
    conn_type="dspace_oai",
    hook_class_name="ocw_operators.hooks.dspace_oai.DSpaceOaiHook",
    hook_name="DSpace OAI-PMH",
    fields=(
        ExtraField(
            "set_spec",
            "Set (setSpec)",
            "string",
            "Harvest only this set: col_<handle> for a collection, com_<handle> for a community "
            "(e.g. col_1721.1_33971). Empty: the whole repository.",
        ),
        ExtraField("metadata_prefix", "Metadata prefix", "string", "The records' metadata format.", default="oai_dc"),
        ExtraField(
            "path",
            "Endpoint path",
            "string",
            "Only when host is a host name rather than the whole base URL.",
            default="/oai/request",
        ),
        ExtraField(
            "http_method",
            "HTTP method",
            "string",
            "OAI-PMH 2.0 requires servers to accept both.",
            default="GET",
            enum=("GET", "POST"),
        ),
        _CONNECT_TIMEOUT,
        _READ_TIMEOUT,
        ExtraField(
            "total_timeout",
            "Total timeout",
            "number",
            "Seconds one whole response may take, so a trickling server cannot hold the task.",
            default=600.0,
            positive=True,
        ),
        ExtraField(
            "max_503_retries",
            "503 retries",
            "integer",
            "How many 503 Service Unavailable answers to wait out per request.",
            default=5,
            minimum=0,
        ),
        ExtraField(
            "default_retry_after",
            "Default Retry-After",
            "number",
            "Seconds to wait after a 503 without a usable Retry-After header.",
            default=30.0,
            minimum=0,
        ),
        ExtraField(
            "max_retry_after",
            "Longest Retry-After",
            "number",
            "Seconds; a 503 asking for a longer wait fails the request.",
            default=900.0,
            minimum=0,
        ),
        ExtraField(
            "max_response_bytes",
            "Largest response (bytes)",
            "integer",
            "A response body larger than this is refused.",
            default=64 * 1024 * 1024,
            minimum=1,
        ),
    ),
    host="Base URL or host",
    login="User (optional, HTTP Basic)",
    password="Password (optional)",
    example="https://dspace.mit.edu/oai/request",
)

OCW_CMS = _http_form(
    conn_type="ocw_cms",
    hook_class_name="ocw_operators.hooks.ocw_cms.OcwCmsHook",
    hook_name="OCW course CMS",
    fields=(
        ExtraField(
            "auth_style",
            "Authentication style",
            "string",
            "form: credentials in POST bodies and HTTP Basic on GETs; basic: HTTP Basic only; query: the legacy "
            "__ac_name/__ac_password query string, for a CMS that accepts nothing else.",
            default="form",
            enum=("form", "basic", "query"),
            choices={"form": "form (default)", "basic": "basic", "query": "query (legacy)"},
        ),
        _CONNECT_TIMEOUT,
        _READ_TIMEOUT,
    ),
    host="CMS base URL",
    login="CMS user",
    password="CMS password",
    example="https://ocwcms.mit.edu",
)

WAYBACK_SPN2 = _http_form(
    conn_type="wayback_spn2",
    hook_class_name="ocw_operators.hooks.wayback.WaybackHook",
    hook_name="Wayback Machine SPN2",
    fields=(
        ExtraField(
            "timeout",
            "Request timeout",
            "number",
            "Seconds per SPN2 request (connecting takes at most 10 of them).",
            default=30.0,
            positive=True,
            maximum=600,
        ),
    ),
    host="Base URL",
    login="S3 access key",
    password="S3 secret key",
    example="https://web.archive.org",
)

CONNECTION_FORMS = (ARCHIVE_DB, DSPACE_SWORD, DSPACE_OAI, OCW_CMS, WAYBACK_SPN2)
