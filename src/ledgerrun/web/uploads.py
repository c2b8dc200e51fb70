"""Uploaded ledgers: kept as ``uploads/<sha256><suffix>`` (the name the person gave is only
shown, never a path) and in the store, so a worker on another host finds them too.

A stored upload is checked against its SHA-256 whenever it is used: a file changed on disk after
its upload (and after its approvals) is never reviewed, approved or run (:class:`LedgerChanged`);
the batch page says so plainly, and an administrator may put the store's intact copy back
(:func:`restore_upload`).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from collections import OrderedDict
from pathlib import Path
from typing import BinaryIO

from ledgerrun.errors import ConfigError
from ledgerrun.job import LEDGER_SUFFIXES
from ledgerrun.store.model import Store
from ledgerrun.store.web_model import Batch
from ledgerrun.vocab import shown
from ledgerrun.web.config import ServeConfig

UPLOAD_RUN = "upload-"  # uploads are kept in the store as files of the pseudo-run upload-<sha>


class UploadError(Exception):
    """An upload refused for a reason the person can fix (said in the message)."""


def upload_suffix(file_name: str) -> str:
    suffix = Path(file_name.replace("\\", "/")).suffix.lower()
    if suffix not in LEDGER_SUFFIXES:
        raise UploadError(
            "Ledgers must be .csv, .xlsx or .parquet files; "
            f"this one ends in {shown(suffix or 'nothing', 20)!r}."
        )
    return suffix


def save_upload(
    config: ServeConfig, store: Store, source: BinaryIO, file_name: str
) -> tuple[str, int, Path]:
    """Copy the upload to ``uploads/<sha256><suffix>`` (the client's name is never a path),
    refusing it past the size cap; keep a copy in the store. Returns (sha256, size, path)."""
    suffix = upload_suffix(file_name)
    config.uploads.mkdir(parents=True, exist_ok=True)
    temp = config.uploads / f".upload-{secrets.token_hex(8)}.part"
    digest = hashlib.sha256()
    size = 0
    try:
        with temp.open("wb") as out:
            while block := source.read(1 << 20):
                size += len(block)
                if size > config.max_upload_bytes:
                    raise UploadError(
                        f"The file is larger than {config.max_upload_mb:,.0f} MB, the most this "
                        "server takes: split the ledger."
                    )
                digest.update(block)
                out.write(block)
        if size == 0:
            raise UploadError("The file is empty.")
        sha = digest.hexdigest()
        final = config.uploads / f"{sha}{suffix}"
        os.replace(temp, final)
    finally:
        temp.unlink(missing_ok=True)
    store.save_run_file(UPLOAD_RUN + sha, "ledger" + suffix, final.read_bytes())
    return sha, size, final


class LedgerChanged(ConfigError):
    """The stored upload no longer matches its SHA-256: it was changed on disk after the upload
    (and after any approval). Nothing is reviewed, approved or run from it."""


def ledger_file(config: ServeConfig, store: Store, batch: Batch) -> Path:
    """The batch's ledger on this host: from the uploads folder (LedgerChanged when it no
    longer matches its SHA-256), else from the store's copy (checked the same way)."""
    suffix = upload_suffix(batch.file_name)
    path = config.uploads / f"{batch.sha256}{suffix}"
    if path.exists():
        if file_sha256(path) != batch.sha256:
            raise LedgerChanged(
                f"the stored file of this ledger ({path.name}) has changed since it was uploaded: "
                "it no longer matches the SHA-256 the batch and its approvals were given for, "
                "so nothing can be approved or run from it"
            )
        return path
    data = store.run_file(UPLOAD_RUN + batch.sha256, "ledger" + suffix)
    if data is None or hashlib.sha256(data).hexdigest() != batch.sha256:
        raise ConfigError(f"the ledger of batch {batch.batch_id} is missing from {config.uploads}")
    _put(config, path, data)
    return path


def restore_upload(config: ServeConfig, store: Store, batch: Batch) -> bool:
    """Put the store's copy of the batch's ledger back in the uploads folder, if it is intact
    (it matches the batch's SHA-256); whether it was."""
    suffix = upload_suffix(batch.file_name)
    data = store.run_file(UPLOAD_RUN + batch.sha256, "ledger" + suffix)
    if data is None or hashlib.sha256(data).hexdigest() != batch.sha256:
        return False
    _put(config, config.uploads / f"{batch.sha256}{suffix}", data)
    return True


def _put(config: ServeConfig, path: Path, data: bytes) -> None:
    config.uploads.mkdir(parents=True, exist_ok=True)
    temp = config.uploads / f".fetch-{secrets.token_hex(8)}.part"
    temp.write_bytes(data)
    os.replace(temp, path)


_HASHES: OrderedDict[tuple[str, int, int, int, int], str] = OrderedDict()
_HASHES_LOCK = threading.Lock()


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, remembered while the file's inode, size and change times stay
    the same (a page of a large batch does not hash it again at every view)."""
    st = path.stat()
    key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    with _HASHES_LOCK:
        if key in _HASHES:
            return _HASHES[key]
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    found = digest.hexdigest()
    with _HASHES_LOCK:
        _HASHES[key] = found
        while len(_HASHES) > 64:
            _HASHES.popitem(last=False)
    return found


def intact(config: ServeConfig, batch: Batch) -> bool:
    """Whether the batch's stored upload (when this host has it) still matches its SHA-256."""
    try:
        suffix = upload_suffix(batch.file_name)
    except UploadError:
        return True
    path = config.uploads / f"{batch.sha256}{suffix}"
    return not path.exists() or file_sha256(path) == batch.sha256
