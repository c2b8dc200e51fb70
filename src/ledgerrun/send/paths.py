"""Every file a command will write, decided and checked before the first request to Stripe.

A run writes its results, a summary and a report beside them, and the journal; a dry run writes
its own ``.dry-run`` files and never the real ones. Before anything is sent, each output must be
writable where it should go (its folder can be made and written, no file stands where a folder
is needed, its name fits the file system, its format is supported), and no two of ledger,
results, summary, report and journal may be the same file: a results file written over the
ledger, or over the journal, would destroy the very record that makes a re-run safe.
"""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path

from ledgerrun.errors import OutputError
from ledgerrun.job import RESULTS_SUFFIXES
from ledgerrun.summary import Outputs

DRY_RUN_TAG = ".dry-run"
TEMP_EXTRA = 20  # atomic writes go through ".<name>.<12 hex>.tmp" beside the file


def dry_run_results(results: Path) -> Path:
    """``out/x.results.csv`` -> ``out/x.results.dry-run.csv``."""
    return results.with_name(results.stem + DRY_RUN_TAG + results.suffix)


def outputs_for(results: Path, *, dry_run: bool = False) -> Outputs:
    return Outputs.beside(dry_run_results(results) if dry_run else results)


def check_outputs(
    outputs: tuple[Path, ...],
    *,
    ledger: Path | None,
    journal: Path | None,
    writable_formats: tuple[str, ...] = RESULTS_SUFFIXES,
) -> None:
    """Raise OutputError (exit 2, nothing sent) unless every output can be written and no two
    files of the command are one."""
    named = {"results": outputs[0], "summary": outputs[1], "report": outputs[2]}
    if len(outputs) > 3:
        named |= {f"output {n}": path for n, path in enumerate(outputs[3:], start=4)}
    if ledger is not None:
        named["ledger"] = ledger
    if journal is not None:
        named["journal"] = journal
        for companion in ("-wal", "-shm"):
            named[f"journal's {companion} file"] = journal.with_name(journal.name + companion)
    seen: dict[str, str] = {}
    for role, path in named.items():
        real = os.path.realpath(path)
        if real in seen:
            raise OutputError(
                f"the {role} and the {seen[real]} would be the same file ({path}): choose "
                "another results path, so that neither is written over the other"
            )
        seen[real] = role
    results = outputs[0]
    suffix = results.suffix.lower()
    if suffix not in writable_formats:
        shown = ", ".join(writable_formats)
        raise OutputError(
            f"the results file {results} must end in {shown}, not '{suffix or 'no extension'}'"
        )
    for path in outputs:
        check_writable(path)
    if journal is not None and not journal.exists():
        check_folder(journal, "journal")


def check_writable(path: Path) -> None:
    """The file can be created or replaced at ``path`` (its folder made if missing)."""
    _check_name(path)
    if path.is_dir():
        raise OutputError(f"{path} is a folder: an output file cannot be written there")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"{path} exists and cannot be written (check its permissions)")
    check_folder(path, "output")


def check_folder(path: Path, role: str) -> None:
    """The folder of ``path`` exists or can be made, and a file can be created in it."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise OutputError(
            f"cannot write the {role} {path}: {_first_file(folder)} is a file, not a folder"
        ) from None
    except OSError as exc:
        raise OutputError(f"cannot make the folder {folder} for the {role}: {_why(exc)}") from None
    if not folder.is_dir():
        raise OutputError(f"cannot write the {role} {path}: {folder} is not a folder")
    probe = folder / f".{path.name[:200]}.{secrets.token_hex(6)}.probe"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise OutputError(f"cannot write the {role} in {folder}: {_why(exc)}") from None
    os.close(fd)
    probe.unlink(missing_ok=True)


def _check_name(path: Path) -> None:
    limit = _name_max(path)
    name = path.name.encode("utf-8", "surrogateescape")
    if len(name) + TEMP_EXTRA > limit:
        raise OutputError(
            f"the file name {path.name[:60]}... is too long ({len(name)} bytes; this file system"
            f" takes {limit - TEMP_EXTRA} for an output): choose a shorter results path"
        )
    for part in path.parts:
        if len(part.encode("utf-8", "surrogateescape")) > limit:
            raise OutputError(f"a folder name in {str(path)[:80]}... is too long for the disk")


def _name_max(path: Path) -> int:
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError):
        return 255


def _first_file(folder: Path) -> Path:
    for candidate in [*reversed(folder.parents), folder]:
        if candidate.exists() and not candidate.is_dir():
            return candidate
    return folder


def _why(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied (or a read-only disk)"
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno == errno.ENAMETOOLONG:
        return "the name is too long"
    return exc.strerror or str(exc)
