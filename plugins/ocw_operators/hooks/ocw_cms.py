"""Hook for the course CMS (Connection ``ocw_cms_default``)."""

from __future__ import annotations

from typing import Any

import requests
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowException
from airflow.sdk.log import mask_secret

from ocw_operators.clients.cms import CmsClient, CmsSettings
from ocw_operators.connection_forms import OCW_CMS, ExtraFieldError


class OcwCmsHook(BaseHook):
    """The course CMS: retirement queue, course resources and metadata, ``set_dspace_handle``.

    Connection fields: ``host`` (``https://ocwcms.mit.edu`` or a bare host with ``schema``/``port``),
    ``login``/``password`` (the CMS account the engines use). ``extra`` (optional): ``auth_style``
    (``form``: credentials in POST bodies and HTTP Basic on GETs, the default; ``basic``; ``query``: the legacy
    ``__ac_name``/``__ac_password`` query string, redacted from every message), ``connect_timeout`` (s, 10) and
    ``read_timeout`` (s, 120), declared in :data:`ocw_operators.connection_forms.OCW_CMS`. The password is masked in
    task logs; errors carry URLs without query strings.

    :param ocw_cms_conn_id: the Airflow Connection id.
    """

    conn_name_attr = "ocw_cms_conn_id"
    default_conn_name = "ocw_cms_default"
    conn_type = "ocw_cms"
    hook_name = "OCW course CMS"

    def __init__(self, ocw_cms_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ocw_cms_conn_id = ocw_cms_conn_id

    def get_conn(self) -> CmsClient:
        """A :class:`~ocw_operators.clients.cms.CmsClient` configured from the Connection."""

        conn = self.get_connection(self.ocw_cms_conn_id)
        if not conn.host or not conn.login or not conn.password:
            raise AirflowException(f"Connection {self.ocw_cms_conn_id!r} needs host, login and password")
        mask_secret(conn.password)
        try:
            extra = OCW_CMS.parse_extra(self.ocw_cms_conn_id, conn.extra_dejson)
        except ExtraFieldError as error:
            raise AirflowException(str(error)) from None
        base_url = conn.host if "://" in conn.host else f"{conn.schema or 'https'}://{conn.host}"
        if conn.port and "://" not in conn.host:
            base_url += f":{conn.port}"
        try:
            settings = CmsSettings(
                base_url=base_url.rstrip("/"),
                username=conn.login,
                password=conn.password,
                auth_style=extra["auth_style"],
                connect_timeout=extra["connect_timeout"],
                read_timeout=extra["read_timeout"],
            )
            session = requests.Session()
            session.trust_env = False
            return CmsClient(settings, session)
        except (TypeError, ValueError) as error:
            raise AirflowException(f"Connection {self.ocw_cms_conn_id!r} has an invalid extra: {error}") from None

    def test_connection(self) -> tuple[bool, str]:
        try:
            queue = self.get_conn().retirement_queue()
        except Exception as error:
            return False, f"{error.__class__.__name__}: {error}"
        return True, f"Retirement queue holds {len(queue)} course(s)"
