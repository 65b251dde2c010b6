"""Hook for the course CMS (Connection ``ocw_cms_default``)."""

from __future__ import annotations

from typing import Any

import requests
from airflow.sdk.exceptions import AirflowException

from ocw_operators.clients.cms import CmsClient, CmsSettings
from ocw_operators.connection_fields import ExtraValues
from ocw_operators.connection_forms import OCW_CMS
from ocw_operators.hooks.http_base import OcwHttpHook


class OcwCmsHook(OcwHttpHook[CmsClient]):
    """The course CMS: retirement queue, course resources and metadata, ``set_dspace_handle``.

    Connection fields: ``host`` (``https://ocwcms.mit.edu`` or a bare host with ``schema``/``port``),
    ``login``/``password`` (the CMS account the engines use). ``extra`` (optional): ``auth_style``
    (``form``: credentials in POST bodies and HTTP Basic on GETs, the default; ``basic``; ``query``: the legacy
    ``__ac_name``/``__ac_password`` query string, redacted from every message), ``connect_timeout`` (s, 10),
    ``read_timeout`` (s, 120) and the session's ``headers``, ``proxies``, ``verify`` and ``ca_bundle``, declared in
    :data:`ocw_operators.connection_forms.OCW_CMS`. The password is masked in task logs; errors carry URLs without
    query strings.

    :param ocw_cms_conn_id: the Airflow Connection id.
    """

    conn_name_attr = "ocw_cms_conn_id"
    default_conn_name = "ocw_cms_default"
    form = OCW_CMS
    required_fields = ("host", "login", "password")
    # Proxies, CA certificates and credentials come from the Connection alone: a ~/.netrc on a worker would
    # otherwise add its HTTP Basic credentials to form-style requests.
    trust_env = False

    def __init__(self, ocw_cms_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(ocw_cms_conn_id, **kwargs)
        self.ocw_cms_conn_id = ocw_cms_conn_id

    def _extract_auth(self, connection: Any) -> Any:
        # How the credentials travel is extra.auth_style's choice (POST body, HTTP Basic, query string): the
        # client applies it per request.
        return None

    def build_client(self, connection: Any, extra: ExtraValues, session: requests.Session) -> CmsClient:
        """A :class:`~ocw_operators.clients.cms.CmsClient` configured from the Connection."""
        try:
            settings = CmsSettings(
                base_url=self.base_url.rstrip("/"),
                username=connection.login,
                password=connection.password,
                auth_style=extra["auth_style"],
                connect_timeout=extra["connect_timeout"],
                read_timeout=extra["read_timeout"],
            )
            return CmsClient(settings, session)
        except (TypeError, ValueError) as error:
            raise AirflowException(f"Connection {self.ocw_cms_conn_id!r} has an invalid extra: {error}") from None

    def test_connection(self) -> tuple[bool, str]:
        try:
            queue = self.get_conn().retirement_queue()
        except Exception as error:
            return False, f"{error.__class__.__name__}: {error}"
        return True, f"Retirement queue holds {len(queue)} course(s)"
