"""Deposits that went into DSpace's review workflow (SWORD 202): finished once DSpace archives the item.

The retirement DAG's follow-up task asks for each such deposit's handle (the SWORD v2 Edit-IRI, else the items
the OAI-PMH harvest saw); the OAI-PMH reconciliation finishes them from the harvested items. Both go through
:func:`finish_workflow_deposit`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from ocw_operators.oai.reconcile import ExistingItemLookup
from ocw_operators.retirement import state
from ocw_operators.retirement.steps import DepositClient, HandleSink, S, StepResult, complete, hdl, set_cms_handle


def finish_workflow_deposit(engine: Engine, cms: HandleSink, course_id: str, handle: str) -> StepResult:
    """A 202 deposit's item is public now under ``handle``: record the handle, set it in the CMS, complete.

    The one way a workflow deposit is finished, shared by the retirement DAG's follow-up task and the OAI-PMH
    reconciliation. Every part is guarded by the record, so a repeat does only what is left: a record that
    already has a handle keeps it. If the CMS call fails, the record stays ``deposited`` with its handle and the
    course stays on the CMS retirement queue, so the retirement DAG's next poll resumes it like any course
    that stopped after its deposit. The item appearing also clears a ``missing`` flag the reconciliation may
    have set while the deposit waited for a reviewer.
    """
    state.update(
        engine,
        course_id,
        guard=lambda current: current.state == S.IN_WORKFLOW,
        state=S.DEPOSITED,
        dspace_handle=handle,
        dspace_flag=None,
        dspace_flagged_at=None,
        dspace_flag_reason="",
        dspace_flag_acknowledged_by="",
        dspace_flag_acknowledged_at=None,
    )
    set_cms_handle(engine, cms, course_id)
    return complete(engine, course_id)


def finish_workflow_deposits(
    engine: Engine, client: DepositClient, cms: HandleSink, *, lookup: ExistingItemLookup | None = None
) -> list[dict[str, Any]]:
    """For each 202 deposit, ask for its handle (SWORD v2 Edit-IRI, else the lookup) and finish it when known."""
    outcomes = []
    for record in state.in_workflow(engine):
        handle = None
        if record.edit_iri:
            handle = client.fetch_receipt(record.edit_iri).handle
        if handle is None and lookup is not None:
            handle = lookup(record.identifier_uri)
        if handle is None:
            outcomes.append({"course_id": record.course_id, "handle": None, "state": record.state})
            continue
        done = finish_workflow_deposit(engine, cms, record.course_id, handle)
        outcomes.append({"course_id": record.course_id, "handle": handle, "state": done.state})
    return outcomes


def workflow_outcome_message(outcome: dict[str, Any]) -> str:
    """One :func:`finish_workflow_deposits` outcome as a sentence for the task log."""
    if outcome["handle"] is None:
        return f"{outcome['course_id']}: still waiting in DSpace's review workflow; no handle yet"
    return (
        f"{outcome['course_id']}: DSpace's workflow archived the item as {hdl(outcome['handle'])}; "
        f"handle set in the CMS, retirement {outcome['state']}"
    )
