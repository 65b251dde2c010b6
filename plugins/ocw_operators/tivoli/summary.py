"""What the Tivoli tasks tell the operator, as sentences: the volumes and files each run touched (the first
:data:`LISTED` of each, then how many more), held volumes with their reason, and nothing in Python's own
notation (no dicts, lists or enum members)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ocw_operators.tivoli.load import LoadReport
    from ocw_operators.tivoli.prep import PrepReport
    from ocw_operators.tivoli.retrieve import RetrieveReport

LISTED = 20


def count(number: int, noun: str, plural: str | None = None) -> str:
    """``count(1, "file")`` -> ``"1 file"``; ``count(1200, "file")`` -> ``"1,200 files"``."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"


def listing(names: Sequence[str], total: int | None = None, *, separator: str = ", ") -> str:
    """``"a, b and c"``; beyond :data:`LISTED` names (or when ``total`` says more exist) ``"a, b, ... and 7 more"``."""
    total = len(names) if total is None else total
    shown = [str(name) for name in names[:LISTED]]
    rest = total - len(shown)
    if rest > 0:
        return f"{separator.join(shown)} and {rest:,} more" if shown else f"{rest:,}"
    if len(shown) <= 1:
        return "".join(shown)
    return f"{separator.join(shown[:-1])} and {shown[-1]}"


def _was(number: int) -> str:
    return "was" if number == 1 else "were"


def _bytes(number: int) -> str:
    return count(number, "byte")


def _since(iso: str) -> str:
    if not iso:
        return ""
    return f" since {dt.datetime.fromisoformat(iso).astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


# --- tivoli_dropbox_prep ------------------------------------------------------------------------------------


def prep_summary(report: PrepReport) -> list[str]:
    """The preparation run in sentences, most important first; the held volumes are :func:`held_sentences`."""
    sentences = [_staged_sentence(report)]
    if report.files_discarded:
        sentences.append(
            f"Deleted {count(report.files_discarded, 'file')} from the dropbox that {_was(report.files_discarded)} "
            "already archived with "
            f"the same size and last write date: {listing(report.discarded_files, report.files_discarded)}."
        )
    if report.released:
        sentences.append(
            f"Released {count(len(report.released), 'volume')} held by an earlier run: {listing(report.released)}."
        )
    if report.skipped:
        reasons = [f"{skipped.path} ({skipped.reason})" for skipped in report.skipped]
        sentences.append(
            f"Skipped {count(len(report.skipped), 'folder')} in the dropbox: {listing(reasons, separator='; ')}."
        )
    if report.intents_recovered or report.intents_dropped:
        sentences.append(
            f"Finished an interrupted run: {count(report.intents_recovered, 'file')} it had moved into staging "
            f"{_was(report.intents_recovered)} logged as staged, and {count(report.intents_dropped, 'file')} it had "
            f"not moved {_was(report.intents_dropped)} planned again."
        )
    removed = [
        f"{count(number, noun)} from the {where}"
        for number, noun, where in (
            (report.staging_dirs_removed, "empty folder", "staging area"),
            (report.dropbox_dirs_removed, "emptied folder", "dropbox"),
        )
        if number
    ]
    if removed:
        sentences.append(f"Removed {' and '.join(removed)}.")
    return sentences


def _staged_sentence(report: PrepReport) -> str:
    if not report.files_staged:
        return "Staged no files for Tivoli."
    details = [_bytes(report.bytes_staged)]
    if report.files_renamed:
        details.append(f"{count(report.files_renamed, 'file')} renamed with the date")
    volumes = report.volumes_staged
    return (
        f"Staged {count(report.files_staged, 'file')} ({', '.join(details)}) from {count(len(volumes), 'volume')}, "
        f"{listing(volumes)}: {listing(report.staged_files, report.files_staged)}."
    )


def held_sentences(report: PrepReport) -> list[str]:
    """One sentence per held volume (the first :data:`LISTED`), with its reason."""
    sentences = []
    for held in report.held[:LISTED]:
        sentence = f"Held {held.volume} in the dropbox{_since(held.first_seen)} ({_attempt(held.attempts)}): "
        sentence += f"{held.reason}."
        if held.files_staged:
            sentence += (
                f" {count(held.files_staged, 'file')} of it reached the staging area before that and "
                f"{_was(held.files_staged)} logged."
            )
        sentences.append(sentence + " The rest stays in the dropbox and is tried again next run.")
    if len(report.held) > LISTED:
        sentences.append(f"{count(len(report.held) - LISTED, 'more volume')} are held as well.")
    return sentences


def _attempt(attempts: int) -> str:
    return "first attempt" if attempts <= 1 else f"{attempts:,} attempts"


def held_failure(report: PrepReport) -> str:
    """Why the task fails once every other volume is staged."""
    volumes = [held.volume for held in report.held]
    return (
        f"{count(len(volumes), 'volume')} could not be staged and {'is' if len(volumes) == 1 else 'are'} held in "
        f"the dropbox: {listing(volumes)}. Every other volume was processed; the task log gives each held "
        "volume's reason, and the next run tries them again."
    )


# --- tivoli_nightly_load ------------------------------------------------------------------------------------


def load_summary(report: LoadReport) -> list[str]:
    """The nightly load in sentences."""
    batch = f"Load batch {report.batch_id}"
    sentences = []
    if report.already_finished:
        sentences.append(f"{batch} had already finished ({report.status}) for this run; nothing was done again.")
    elif not report.files_staged and not report.files_archived:
        sentences.append(f"{batch} ({report.status}): nothing was staged, so dsmc was not run.")
    else:
        volumes = report.volumes
        sentences.append(
            f"{batch} {report.status}: dsmc archived {count(report.files_archived, 'file')} "
            f"({_bytes(report.bytes_archived)}) of {count(report.files_staged, 'staged file')} from "
            f"{count(report.volumes_count, 'volume')}, {listing(volumes, report.volumes_count)}, and "
            f"{count(report.files_deleted, 'file')} {_was(report.files_deleted)} deleted from "
            f"staging: {listing(report.archived_files, report.files_archived)}."
        )
    if report.leftovers_deleted:
        sentences.append(
            f"Deleted {count(report.leftovers_deleted, 'archived file')} an interrupted load had left in staging."
        )
    if report.not_in_log:
        sentences.append(
            f"dsmc also reported {count(len(report.not_in_log), 'file')} with no staged log entry; "
            f"{'it was' if len(report.not_in_log) == 1 else 'they were'} left in staging: {listing(report.not_in_log)}."
        )
    return sentences


# --- tivoli_retrieve ----------------------------------------------------------------------------------------


def retrieve_summary(report: RetrieveReport) -> list[str]:
    """The retrieval in sentences."""
    retrieved, present = report.retrieved, report.already_present
    what = f"{count(report.versions, 'version')} of {report.volume}"
    if retrieved:
        sentences = [f"Retrieved {len(retrieved):,} of {what} into {report.destination}: {listing(retrieved)}."]
    else:
        sentences = [f"Retrieved none of {what} into {report.destination}."]
    if present:
        sentences.append(
            f"{count(len(present), 'file')} {_was(len(present))} already there with the logged SHA-1 and "
            f"{_was(len(present))} not fetched again: {listing(present)}."
        )
    return sentences
