"""A fake IBM Spectrum Protect ``dsmc`` command line client backed by a local vault directory.

Run as ``python -m ocw_sandbox.fake_dsmc`` or through ``include/ocw_sandbox/bin/dsmc``. It implements the
subset the Tivoli DAGs use, printing output in dsmc's style and exiting with dsmc's return codes:

* ``dsmc archive "<filespec>" [-subdir=yes] [-description=<text>]`` stores every matching regular file
  (symlinks are not followed) as a new archive version;
* ``dsmc retrieve <archived file> [<destination file>] [-description=<text>] [-replace=yes|no]`` writes the
  newest matching version back (the one archived with that description, when given);
* ``dsmc query archive "<filespec>" [-subdir=yes] [-description=<text>]`` lists versions.

Environment:

* ``OCW_FAKE_DSMC_VAULT`` (required): the vault directory (``catalog.jsonl`` plus ``objects/``);
* ``OCW_FAKE_DSMC_FAIL_AFTER=N``: the session drops after N files were sent (return code 12);
* ``OCW_FAKE_DSMC_FAIL_FILES=<glob>``: files whose name matches fail individually (return code 8);
* ``OCW_FAKE_DSMC_HANG_SECONDS=N``: wait N seconds before doing anything (to test timeouts).

Only the standard library is used.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import os
import shutil
import sys
import time
import uuid
from pathlib import Path

RC_SUCCESS, RC_SKIPPED, RC_WARNINGS, RC_ERRORS = 0, 4, 8, 12
FIELD = 20  # dsmc right-aligns sizes in a wide column


class Session:
    """One invocation: the vault, the parsed options and the counters printed in the summary."""

    def __init__(self, vault: Path, options: dict[str, str]) -> None:
        self.vault = vault
        self.options = options
        self.inspected = self.processed = self.failed = self.bytes = 0
        self.started = time.monotonic()
        (vault / "objects").mkdir(parents=True, exist_ok=True)

    @property
    def catalog(self) -> Path:
        return self.vault / "catalog.jsonl"

    def versions(self) -> list[dict]:
        if not self.catalog.exists():
            return []
        with open(self.catalog, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def add_version(self, path: Path, description: str) -> None:
        object_name = uuid.uuid4().hex
        shutil.copyfile(path, self.vault / "objects" / object_name, follow_symlinks=False)
        info = path.stat()
        record = {
            "path": str(path),
            "description": description,
            "size": info.st_size,
            "mtime": info.st_mtime,
            "archived_at": dt.datetime.now(dt.UTC).isoformat(),
            "object": object_name,
        }
        with open(self.catalog, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def banner() -> None:
    now = dt.datetime.now().strftime("%m/%d/%Y %H:%M:%S")
    print("IBM Spectrum Protect")
    print("Command Line Backup-Archive Client Interface")
    print("  Client Version 8, Release 1, Level 0.0 (sandbox)")
    print(f"  Client date/time: {now}")
    print("(c) Copyright by IBM Corporation and other(s) 1990, 2026. All Rights Reserved.")
    print()
    print("Node Name: OCW-SANDBOX")
    print("Session established with server SANDBOX: Linux/x86_64")
    print("  Server Version 8, Release 1, Level 0.0")
    print(f"  Server date/time: {now}  Last access: {now}")
    print()


def size_text(size: int) -> str:
    return f"{size:,}".rjust(FIELD)


def human_bytes(size: int) -> str:
    return f"{size / 1024:,.2f} KB"


def parse_arguments(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    positional, options = [], {}
    for argument in argv:
        if argument.startswith("-") and len(argument) > 1:
            name, _, value = argument[1:].partition("=")
            options[name.lower()] = value
        else:
            positional.append(argument)
    return positional, options


def spec_matches(text: str, spec: str) -> bool:
    """dsmc wildcards are ``*`` and ``?`` only; brackets in file names are literal."""
    if "*" not in spec and "?" not in spec:
        return text == spec
    return fnmatch.fnmatchcase(text, spec.replace("[", "[[]"))


def matching_files(filespec: str, subdir: bool) -> tuple[list[Path], list[Path]]:
    """Files and directories matched by ``filespec`` (``/dir/*``, ``/dir/*.tif`` or one file)."""
    spec = Path(filespec)
    if spec.is_file() and not spec.is_symlink():
        return [spec], []
    base, pattern = spec.parent, spec.name
    files, directories = [], []
    if not base.is_dir():
        return [], []
    for current, dirnames, filenames in os.walk(base, followlinks=False):
        here = Path(current)
        dirnames.sort()
        for name in sorted(filenames):
            path = here / name
            if (subdir or here == base) and spec_matches(name, pattern) and not path.is_symlink():
                files.append(path)
        if here != base:
            directories.append(here)
        if not subdir:
            dirnames.clear()
    return files, directories


def archive(session: Session, positional: list[str]) -> int:
    if not positional:
        print("ANS1102E Excessive number of command line arguments passed to the program!")
        return RC_ERRORS
    filespec = positional[0]
    subdir = session.options.get("subdir", "no").lower() in ("yes", "y")
    description = session.options.get("description", f"Archive Date: {dt.date.today():%m/%d/%Y}")
    fail_after = int(os.environ.get("OCW_FAKE_DSMC_FAIL_AFTER", "-1"))
    fail_glob = os.environ.get("OCW_FAKE_DSMC_FAIL_FILES", "")
    print("Archive function invoked.")
    print()
    files, directories = matching_files(filespec, subdir)
    for directory in directories:
        print(f"Directory-->{size_text(0)} {directory} [Sent]")
    for path in files:
        session.inspected += 1
        if fail_after >= 0 and session.processed >= fail_after:
            print(f"ANS1228E Sending of object '{path}' failed.")
            print("ANS1017E Session rejected: TCP/IP connection failure.")
            summary(session, "Archive", "archived", filespec, aborted=True)
            return RC_ERRORS
        if fail_glob and fnmatch.fnmatchcase(path.name, fail_glob):
            print(f"ANS1228E Sending of object '{path}' failed.")
            print(f"ANS4005E Error processing '{path}': file not found")
            session.failed += 1
            continue
        size = path.stat().st_size
        session.add_version(path, description)
        session.processed += 1
        session.bytes += size
        print(f"Normal File-->{size_text(size)} {path} [Sent]")
    if not files:
        print(f"ANS1115W File '{filespec}' excluded by Include/Exclude list or no files matched.")
        summary(session, "Archive", "archived", filespec)
        return RC_SKIPPED
    summary(session, "Archive", "archived", filespec)
    return RC_WARNINGS if session.failed else RC_SUCCESS


def retrieve(session: Session, positional: list[str]) -> int:
    if not positional:
        print("ANS1102E Excessive number of command line arguments passed to the program!")
        return RC_ERRORS
    source = positional[0]
    destination = Path(positional[1]) if len(positional) > 1 else Path(source)
    description = session.options.get("description")
    replace = session.options.get("replace", "prompt").lower() in ("yes", "all")
    print("Retrieve function invoked.")
    print()
    candidates = [
        version
        for version in session.versions()
        if spec_matches(version["path"], source) and (description is None or version["description"] == description)
    ]
    if not candidates:
        print("ANS1302E No objects on server match query")
        summary(session, "Retrieve", "retrieved", source)
        return RC_WARNINGS
    newest: dict[str, dict] = {}
    for version in candidates:  # catalog order is archive order: the last one wins
        newest[version["path"]] = version
    for version in newest.values():
        target = destination if len(newest) == 1 else destination / Path(version["path"]).name
        session.inspected += 1
        if target.exists() and not replace:
            print(f"ANS1308W File '{target}' exists, skipping")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(session.vault / "objects" / version["object"], target)
        os.utime(target, (version["mtime"], version["mtime"]))
        session.processed += 1
        session.bytes += version["size"]
        print(f"Retrieving{size_text(version['size'])} {version['path']} --> {target} [Done]")
    summary(session, "Retrieve", "retrieved", source)
    return RC_SUCCESS if session.processed == len(newest) else RC_SKIPPED


def query_archive(session: Session, positional: list[str]) -> int:
    if not positional or positional[0].lower() != "archive" or len(positional) < 2:
        print("ANS1102E Excessive number of command line arguments passed to the program!")
        return RC_ERRORS
    pattern = positional[1]
    description = session.options.get("description")
    versions = [
        v
        for v in session.versions()
        if spec_matches(v["path"], pattern) and (description is None or v["description"] == description)
    ]
    if not versions:
        print("ANS1092W No files matching search criteria were found")
        return RC_WARNINGS
    print("             Size  Archive Date - Time    File - Expires on - Description")
    print("             ----  -------------------    -------------------------------")
    for version in versions:
        stamp = dt.datetime.fromisoformat(version["archived_at"]).strftime("%m/%d/%Y %H:%M:%S")
        print(f"{size_text(version['size'])} B  {stamp}    {version['path']} Never {version['description']}")
    return RC_SUCCESS


def summary(session: Session, verb: str, counted: str, filespec: str, *, aborted: bool = False) -> None:
    outcome = "finished with failures" if (aborted or session.failed) else "finished without failure"
    print(f"{verb} processing of '{filespec}' {outcome}.")
    print()
    print()
    print(f"Total number of objects inspected: {session.inspected:>8,}")
    print(f"Total number of objects {counted}: {session.processed:>9,}")
    print(f"Total number of objects failed: {session.failed:>11,}")
    print(f"Total number of bytes transferred: {human_bytes(session.bytes):>12}")
    elapsed = int(time.monotonic() - session.started)
    print(f"Elapsed processing time: {elapsed // 3600:02d}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d}")


def main(argv: list[str] | None = None) -> int:
    positional, options = parse_arguments(list(sys.argv[1:] if argv is None else argv))
    banner()
    hang = float(os.environ.get("OCW_FAKE_DSMC_HANG_SECONDS", "0") or 0)
    if hang > 0:
        time.sleep(hang)
    vault = os.environ.get("OCW_FAKE_DSMC_VAULT")
    if not vault:
        print("ANS1017E Session rejected: TCP/IP connection failure.")
        return RC_ERRORS
    session = Session(Path(vault), options)
    if not positional:
        print("ANS1102E Excessive number of command line arguments passed to the program!")
        return RC_ERRORS
    command, rest = positional[0].lower(), positional[1:]
    commands = {"archive": archive, "retrieve": retrieve, "query": query_archive}
    if command not in commands:
        print(f"ANS1138E The '{positional[0]}' command must be followed by a subcommand or is not valid.")
        return RC_ERRORS
    return commands[command](session, rest)


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=False)
    raise SystemExit(main())
