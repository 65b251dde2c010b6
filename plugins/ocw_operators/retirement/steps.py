"""The retirement of one course, one function per DAG step. Each step is resumable and idempotent.

A step first reads the course's record: if the record has already passed the step, the step does nothing and
reports what was done before. Side effects happen before the state is advanced, and each side effect is itself
repeatable (fetch skips files it has, packaging rewrites its own zip, the copy is atomic, the CMS call sets the
same handle) except the deposit, which is guarded by the ``depositing`` marker: see :func:`deposit`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine

from ocw_operators.clients.dspace_sword import DepositReceipt, SwordError
from ocw_operators.db.models.retirement import CourseRetirement, RetirementState
from ocw_operators.oai.reconcile import ExistingItemLookup
from ocw_operators.retirement import state
from ocw_operators.retirement.collection_map import CollectionMap
from ocw_operators.retirement.holding import CHUNK_BYTES, CourseSource, HoldingArea, HoldingAreaError, atomic_writer
from ocw_operators.retirement.names import course_dir_name, zip_file_name
from ocw_operators.retirement.sip import DescriptiveFormat, build_sip

S = RetirementState


class DepositClient(Protocol):
    def deposit(self, zip_path: Path, *, md5: str, collection_handle: str) -> DepositReceipt: ...

    def fetch_receipt(self, edit_iri: str) -> DepositReceipt: ...


class HandleSink(Protocol):
    def set_dspace_handle(self, course_id: str, handle: str) -> None: ...


class DepositOutcomeUnknownError(RuntimeError):
    """An earlier deposit attempt may have created a DSpace item; depositing again could duplicate it."""


class StepOrderError(RuntimeError):
    """A step ran before the step it depends on has finished for this course."""


@dataclass(frozen=True)
class StepResult:
    course_id: str
    state: str
    skipped: bool
    detail: dict[str, Any]
    message: str = ""  # what the step did, as a sentence for the task log: "<course id>: ..."

    def to_json(self) -> dict[str, Any]:
        return {"course_id": self.course_id, "state": self.state, "skipped": self.skipped, **self.detail}


def _result(record: CourseRetirement, message: str, *, skipped: bool, **detail: Any) -> StepResult:
    return StepResult(record.course_id, str(record.state), skipped, detail, f"{record.course_id}: {message}")


def hdl(handle: str | None) -> str:
    """A handle as the logs name it: ``hdl:1721.1/77167``."""
    return f"hdl:{handle}" if handle else "no handle yet"


def _size(size: int | None) -> str:
    value, unit = float(size or 0), "bytes"
    for bigger in ("KiB", "MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"


def _require(record: CourseRetirement, needed: RetirementState, step: str) -> None:
    if not state.has_reached(record, needed):
        raise StepOrderError(
            f"course {record.course_id}: cannot {step} while its retirement is {record.state}; it must be {needed}"
        )


# -- 1. fetch ------------------------------------------------------------------------------------------------


def fetch(engine: Engine, holding: HoldingArea, source: CourseSource, course_id: str) -> StepResult:
    """Bring the course's resources and XML metadata into the holding area."""
    record = state.load(engine, course_id)
    if state.has_reached(record, S.PACKAGED):
        return _result(
            record, f"already fetched and packaged (retirement {record.state}); nothing fetched", skipped=True
        )
    summary = holding.fetch(source, course_id)
    loaded = holding.load_manifest(course_id)
    if loaded is None:
        # fetch() has just written it: something else is removing files from the holding area.
        raise HoldingAreaError(f"{course_id}: the holding area's manifest vanished right after the fetch wrote it")
    course = loaded[0]
    record = state.update(
        engine,
        course_id,
        guard=lambda current: not state.has_reached(current, S.FETCHED),
        state=S.FETCHED,
        department=course.department,
        identifier_uri=course.url,
        title=course.title,
    )
    message = (
        f"fetched {summary.files_downloaded} file(s) ({_size(summary.bytes_downloaded)}) from the CMS into the "
        f"holding area; {summary.files_skipped} already there"
    )
    return _result(record, message, skipped=False, **summary.to_json())


# -- 2. package ---------------------------------------------------------------------------------------------


def _package_intact(record: CourseRetirement) -> bool:
    path = Path(record.package_path) if record.package_path else None
    return bool(path and path.is_file() and path.stat().st_size == record.zip_size)


def package(
    engine: Engine, holding: HoldingArea, course_id: str, *, descriptive: DescriptiveFormat = "dim"
) -> StepResult:
    """Build the METS SIP zip in the holding area; its MD5 is computed while it is written."""
    record = state.load(engine, course_id)
    _require(record, S.FETCHED, "package")
    if state.has_reached(record, S.STORED) or (state.has_reached(record, S.PACKAGED) and _package_intact(record)):
        message = f"already packaged ({_size(record.zip_size)}, MD5 {record.zip_md5})"
        return _result(record, message, skipped=True, md5=record.zip_md5, size=record.zip_size)
    sip = build_sip(holding, course_id, descriptive=descriptive, created=record.created_on)
    record = state.update(
        engine,
        course_id,
        guard=lambda current: not state.has_reached(current, S.STORED),
        state=S.PACKAGED,
        package_path=sip.path,
        zip_md5=sip.md5,
        zip_size=sip.size,
    )
    message = f"packaged {sip.file_count} file(s) as a METS SIP zip of {_size(sip.size)} (MD5 {sip.md5})"
    return _result(record, message, skipped=False, md5=sip.md5, size=sip.size, file_count=sip.file_count)


# -- 3. store in retired-course-zips --------------------------------------------------------------------------


def retired_zip_path(retired_root: Path, course_id: str) -> Path:
    return Path(retired_root) / course_dir_name(course_id) / zip_file_name(course_id)


class PackageCorruptError(OSError):
    """The packaged zip no longer matches the MD5 recorded when it was written."""


def _copy_verified(source: Path, target: Path, expected_md5: str) -> None:
    md5 = hashlib.md5(usedforsecurity=False)
    with open(source, "rb", buffering=0) as reader, atomic_writer(target) as writer:
        while chunk := reader.read(CHUNK_BYTES):
            md5.update(chunk)
            writer.write(chunk)
        if md5.hexdigest() != expected_md5:
            raise PackageCorruptError(f"{source} does not match the MD5 recorded when it was built")


def store(engine: Engine, retired_root: Path, course_id: str) -> StepResult:
    """Copy the zip into ``<retired_root>/<department>/<slug>/<slug>.zip`` (temp name, fsync, rename)."""
    record = state.load(engine, course_id)
    _require(record, S.PACKAGED, "store the zip")
    target = retired_zip_path(retired_root, course_id)
    if state.has_reached(record, S.STORED):
        return _result(record, f"zip already stored at {record.zip_path}", skipped=True, zip_path=record.zip_path)
    if not _package_intact(record):
        state.update(engine, course_id, state=S.FETCHED)  # the package vanished: build it again
        raise StepOrderError(f"course {course_id}: the packaged zip is missing or truncated; packaging runs again")
    try:
        _copy_verified(Path(record.package_path), target, record.zip_md5)
    except PackageCorruptError:
        state.update(engine, course_id, state=S.FETCHED)  # nothing reached the retired copy: build it again
        raise
    record = state.advance(engine, course_id, S.STORED, zip_path=str(target))
    # The retired copy is now the master; the holding-area copy only costs disk.
    Path(record.package_path).unlink(missing_ok=True)
    return _result(record, f"zip stored at {target}", skipped=False, zip_path=str(target))


# -- 4./5. deposit and receipt ----------------------------------------------------------------------------------


def _record_found_item(engine: Engine, course_id: str, handle: str, how: str) -> CourseRetirement:
    return state.update(
        engine,
        course_id,
        guard=lambda current: current.dspace_handle is None,
        state=S.DEPOSITED,
        dspace_handle=handle,
        deposited_at=state.now(),
        deposit_receipt=f"existing item found by {how}; not deposited again",
    )


def deposit(
    engine: Engine,
    client: DepositClient,
    collections: CollectionMap,
    course_id: str,
    *,
    lookup: ExistingItemLookup | None = None,
    redeposit_after_unknown_outcome: bool = False,
) -> StepResult:
    """Deposit the course's zip unless DSpace already has it; record the receipt.

    Before the POST the record is marked ``depositing`` (committed). DSpace's error answers clear the mark
    (nothing was created); an unknown outcome (timeout, crash, unreadable receipt) keeps it, and the next
    attempt must first find the item: in the archive DB by dc.identifier.uri, then through ``lookup``
    (the operators pass the OAI-PMH harvested items, :func:`ocw_operators.oai.reconcile.existing_item_lookup`).
    If neither knows it, the deposit is not repeated unless an operator, having checked DSpace, sets
    ``redeposit_after_unknown_outcome``.
    """
    record = state.load(engine, course_id)
    if state.has_reached(record, S.DEPOSITED):
        return _already_deposited(record)
    _require(record, S.STORED, "deposit")
    collection = collections.collection_for(record.department)

    existing = state.handle_for_identifier(engine, record.identifier_uri)
    how = "the archive DB"
    if existing is None and lookup is not None:
        existing, how = lookup(record.identifier_uri), "the existing-item lookup"
    if existing:
        record = _record_found_item(engine, course_id, existing, how)
        message = f"DSpace already has this course as {hdl(record.dspace_handle)} (found by {how}); not deposited again"
        return _result(record, message, skipped=True, handle=record.dspace_handle, found_by=how)

    record = _claim_deposit(engine, course_id, collection, redeposit_after_unknown_outcome)
    if record is None:  # another run finished the deposit meanwhile
        return _already_deposited(state.load(engine, course_id))
    try:
        receipt = client.deposit(Path(record.zip_path), md5=record.zip_md5, collection_handle=collection)
    except SwordError as error:
        if error.definitive:
            state.update(
                engine,
                course_id,
                guard=lambda current: current.state == S.DEPOSITING,
                state=S.STORED,
                deposit_started_at=None,
            )
        raise
    record = state.update(
        engine,
        course_id,
        guard=lambda current: current.state == S.DEPOSITING,
        state=S.IN_WORKFLOW if receipt.in_workflow else S.DEPOSITED,
        dspace_handle=receipt.handle,
        deposited_at=state.now(),
        deposit_status_code=receipt.status_code,
        deposit_receipt=receipt.receipt_xml,
        deposit_location=receipt.location or "",
        edit_iri=receipt.edit_iri or "",
    )
    if receipt.in_workflow:
        message = (
            f"accepted into DSpace's review workflow in collection {collection} (HTTP {receipt.status_code}); "
            "its handle follows once a reviewer approves the item"
        )
    else:
        message = f"deposited into collection {collection} as {hdl(receipt.handle)} (HTTP {receipt.status_code})"
    return _result(
        record,
        message,
        skipped=False,
        handle=receipt.handle,
        in_workflow=receipt.in_workflow,
        status_code=receipt.status_code,
    )


def _already_deposited(record: CourseRetirement) -> StepResult:
    in_workflow = record.state == S.IN_WORKFLOW
    message = (
        "already deposited and waiting in DSpace's review workflow for its handle"
        if in_workflow
        else f"already deposited as {hdl(record.dspace_handle)}"
    )
    return _result(record, message, skipped=True, handle=record.dspace_handle, in_workflow=in_workflow)


def _claim_deposit(
    engine: Engine, course_id: str, collection: str, redeposit_after_unknown_outcome: bool
) -> CourseRetirement | None:
    """Mark the record ``depositing`` (committed before the POST); None if the deposit is already recorded."""
    with state.locked(engine, course_id) as current:
        if state.has_reached(current, S.DEPOSITED):
            return None
        if current.state == S.DEPOSITING and not redeposit_after_unknown_outcome:
            started = current.deposit_started_at
            raise DepositOutcomeUnknownError(
                f"course {course_id}: an earlier deposit attempt (started {started:%Y-%m-%d %H:%M:%S} UTC) may have "
                f"created a DSpace item, and neither the archive DB nor the OAI-PMH harvested items know one for "
                f"{current.identifier_uri}. Check DSpace: if the item exists, rerun this course after the next "
                "dspace_oai_harvest run has seen it (or trigger that DAG now); if it does not, trigger the "
                "retirement for this course with redeposit_after_unknown_outcome=true."
            )
        if current.state not in (S.STORED, S.DEPOSITING):
            raise StepOrderError(f"course {course_id}: cannot deposit while its retirement is {current.state}")
        current.state = S.DEPOSITING
        current.deposit_started_at = state.now()
        current.collection_handle = collection
        current.last_error = ""
        return current


_AWAITING_WORKFLOW = (
    "waiting in DSpace's review workflow; its handle is set in the CMS and the retirement completed once DSpace "
    "archives the item"
)


# -- 6. CMS ------------------------------------------------------------------------------------------------------


def set_cms_handle(engine: Engine, cms: HandleSink, course_id: str) -> StepResult:
    """Tell the CMS the course's handle (``hdl://<prefix>/<suffix>``); a 202 deposit waits for its handle."""
    record = state.load(engine, course_id)
    if state.has_reached(record, S.CMS_CONFIRMED):
        message = f"handle {hdl(record.dspace_handle)} already set in the CMS"
        return _result(record, message, skipped=True, handle=record.dspace_handle)
    if record.state == S.IN_WORKFLOW:
        return _result(record, _AWAITING_WORKFLOW, skipped=True, awaiting_workflow=True)
    _require(record, S.DEPOSITED, "set the CMS handle")
    cms.set_dspace_handle(course_id, record.dspace_handle)
    record = state.advance(engine, course_id, S.CMS_CONFIRMED, cms_confirmed=True, cms_confirmed_at=state.now())
    return _result(
        record, f"handle {hdl(record.dspace_handle)} set in the CMS", skipped=False, handle=record.dspace_handle
    )


# -- 7. done -----------------------------------------------------------------------------------------------------


def complete(engine: Engine, course_id: str) -> StepResult:
    record = state.load(engine, course_id)
    if record.state == S.DONE:
        message = f"already retired: deposited as {hdl(record.dspace_handle)}, handle set in the CMS"
        return _result(record, message, skipped=True, handle=record.dspace_handle)
    if record.state == S.IN_WORKFLOW:
        return _result(record, _AWAITING_WORKFLOW, skipped=True, awaiting_workflow=True)
    _require(record, S.CMS_CONFIRMED, "complete")
    record = state.advance(engine, course_id, S.DONE, completed_at=state.now())
    message = (
        f"deposited as {hdl(record.dspace_handle)}, handle set in the CMS; retirement done "
        f"(zip {record.zip_path}, MD5 {record.zip_md5})"
    )
    return _result(
        record, message, skipped=False, handle=record.dspace_handle, md5=record.zip_md5, zip_path=record.zip_path
    )
