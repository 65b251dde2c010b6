"""The attention digest as a task: the archive DB from :class:`ArchiveDbHook`, the logic in
:mod:`ocw_operators.alerts.digest`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import BaseOperator, Context

from ocw_operators.alerts.digest import send_attention_digest
from ocw_operators.alerts.messages import ui_base_url
from ocw_operators.hooks.archive_db import ArchiveDbHook


class AttentionDigestOperator(BaseOperator):
    """Mails one digest of what needs a person (nothing when nothing does); returns the counts per condition.

    :param archive_db_conn_id: the archive DB's Connection.
    """

    def __init__(self, *, archive_db_conn_id: str = ArchiveDbHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.archive_db_conn_id = archive_db_conn_id

    def execute(self, context: Context) -> dict[str, int]:
        hook = ArchiveDbHook(archive_db_conn_id=self.archive_db_conn_id)
        hook.check_schema()
        report = send_attention_digest(hook.get_conn(), ui_base_url(), dt.datetime.now(dt.UTC))
        counts = {
            "retirements": len(report.retirements),
            "flags": len(report.flags),
            "held_volumes": len(report.held_volumes),
            "newly_broken_links": sum(group.count for group in report.broken_links_by_site),
            "wayback_errors": sum(group.count for group in report.wayback_errors),
        }
        self.log.info("Needs attention: %s", ", ".join(f"{key} {value}" for key, value in counts.items()))
        return counts
