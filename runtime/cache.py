"""A content-addressed cache of node results: one entry per node id.

An entry is a folder `objects/ab/abcd…/` holding `meta.json`, `arrays.npz` (when the node has
arrays) and `manifest.json`, the size and SHA-256 of each of the other two:

    {"version": 1, "files": {"arrays.npz": {"size": 1234, "sha256": "…"}, "meta.json": {…}}}

An entry is written in a temporary folder and renamed into place, so a kill at any instant
leaves either the whole entry or none of it; a per-node lock keeps two processes from computing
the same node twice. Arrays are read with `allow_pickle=False`: nothing from the cache is ever
unpickled.

Every entry is verified before it is used: its manifest read, each file's size compared, then
its SHA-256. A damaged entry (a flipped bit, a truncated file, a missing or garbled file, an
entry folder without its files, a value edited by hand) is not whole: `has` says no, the run
warns and recomputes it, and `store` replaces it. Hashing costs one read of the entry's bytes
(about 1 GB/s); a process remembers the entries it verified (by their files' size, modification
time and inode), so an entry is hashed at most once per run however often it is read.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import errors, manifest
from .manifest import MANIFEST

MISSING = "missing"  # what `problem` says of an entry that was never written


@dataclass
class Artifact:
    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]


def io_failure(error: OSError, path: Path | str | None = None, doing: str = "write") -> errors.RunError:
    """An OS error while writing what a run produces, as a run error naming the path, with a hint."""
    where = error.filename if error.filename is not None else path
    reason = error.strerror or str(error)
    hints = {
        errno.ENOSPC: "the disk is full: free some space, or choose another folder with --cache or --runs, "
        "and run again; what finished is cached",
        errno.EACCES: "homogc may not write there: check the folder's permissions, or choose another "
        "folder with --cache or --runs",
        errno.EROFS: "the file system is read-only: choose a writable folder with --cache or --runs",
    }
    hints[errno.EPERM] = hints[errno.EACCES]
    hints[errno.EDQUOT] = hints[errno.ENOSPC]
    hint = hints.get(error.errno, "check that the folder exists and can be written, and run again")
    return errors.RunError(errors.IO_FAILED, f"cannot {doing} '{where}': {reason}", hint)


class Cache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        try:
            for folder in ("objects", "tmp", "locks", "names"):
                (self.root / folder).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise io_failure(error, self.root, "create the cache folder") from error
        self._remove_abandoned_temporaries()
        self._verified: dict[str, tuple] = {}  # node id -> its files' signature when last verified
        self._guard = threading.Lock()
        self.stored: set[str] = set()  # the entries this process wrote (computed, not waited for)

    def _entry(self, node_id: str) -> Path:
        return self.root / "objects" / node_id[:2] / node_id

    def entries(self) -> list[str]:
        """The ids of every entry folder in the store, whole or not."""
        return sorted(p.name for p in (self.root / "objects").glob("*/*") if p.is_dir())

    # -- verification

    def has(self, node_id: str) -> bool:
        """Whether the cache holds the node's entry, whole (verified: sizes and checksums)."""
        return self.problem(node_id) is None

    def problem(self, node_id: str, memo: bool = True) -> str | None:
        """None for a whole entry; MISSING for none; otherwise what is wrong with it, in words."""
        entry = self._entry(node_id)
        if not entry.is_dir():
            return MISSING
        signature = manifest.signature(entry)
        if memo:
            with self._guard:
                if signature is not None and self._verified.get(node_id) == signature:
                    return None
        found = manifest.verify(entry)
        if found is None and signature is not None:
            with self._guard:
                self._verified[node_id] = signature
        return found

    # -- reading and writing

    def load(self, node_id: str) -> Artifact:
        entry = self._entry(node_id)
        found = self.problem(node_id)
        if found is not None:
            if found != MISSING:
                self.remove(node_id)
            raise errors.RunError(
                errors.CACHE_ENTRY_DAMAGED,
                f"the cache entry {node_id[:8]} ({entry}) is {'missing' if found == MISSING else 'damaged'}"
                f" while this run reads it ({found})",
                "run again: the entry has been removed and will be recomputed; "
                "`homogc cache verify` checks the whole cache",
            )
        meta = json.loads((entry / "meta.json").read_text())
        arrays_path = entry / "arrays.npz"
        arrays: dict[str, np.ndarray] = {}
        if arrays_path.exists():
            with np.load(arrays_path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        return Artifact(meta, arrays)

    def store(self, node_id: str, artifact: Artifact) -> None:
        final = self._entry(node_id)
        if self.has(node_id):  # another process wrote it whole
            return
        temporary = self.root / "tmp" / f"{os.getpid()}-{uuid.uuid4().hex}"
        try:
            temporary.mkdir()
            files = {}
            if artifact.arrays:
                with open(temporary / "arrays.npz", "wb") as file:
                    np.savez(file, **artifact.arrays)
                    file.flush()
                    os.fsync(file.fileno())
                path = temporary / "arrays.npz"
                files["arrays.npz"] = {"size": path.stat().st_size, "sha256": manifest.sha256(path)}
            meta = json.dumps(artifact.meta, sort_keys=True).encode()
            files["meta.json"] = manifest.write_file(temporary / "meta.json", meta)
            listing = json.dumps({"version": manifest.VERSION, "files": files}, sort_keys=True).encode()
            manifest.write_file(temporary / MANIFEST, listing)
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.exists():  # a damaged entry: set it aside (atomically), then put the new one in
                aside = self.root / "tmp" / f"{os.getpid()}-damaged-{uuid.uuid4().hex}"
                os.rename(final, aside)
                shutil.rmtree(aside, ignore_errors=True)
            try:
                os.rename(temporary, final)  # atomic: the entry appears whole
            except OSError:
                if not final.exists():
                    raise
        except OSError as error:
            raise io_failure(error, temporary, "write the cache entry") from error
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
        signature = manifest.signature(final)
        with self._guard:
            if signature is not None:
                self._verified[node_id] = signature  # just written from these bytes: no need to hash
            self.stored.add(node_id)

    def remove(self, node_id: str) -> None:
        """Take an entry out of the store (atomically: renamed aside, then deleted)."""
        entry = self._entry(node_id)
        aside = self.root / "tmp" / f"{os.getpid()}-removed-{uuid.uuid4().hex}"
        with contextlib.suppress(OSError):
            os.rename(entry, aside)
        shutil.rmtree(aside, ignore_errors=True)
        with self._guard:
            self._verified.pop(node_id, None)

    @contextlib.contextmanager
    def lock(self, node_id: str) -> Iterator[None]:
        """Hold the node's lock: a second process waits, then finds the entry written."""
        path = self.root / "locks" / f"{node_id[:16]}.lock"
        try:
            handle = open(path, "w")  # noqa: SIM115 (closed below, after the lock is released)
        except OSError as error:
            raise io_failure(error, path, "create the lock") from error
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _remove_abandoned_temporaries(self) -> None:
        for folder in (self.root / "tmp").iterdir():
            pid = folder.name.split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(folder, ignore_errors=True)

    # -- what --explain compares against: the last node computed under each name

    def _name_file(self, experiment: str, op: str, name: str) -> Path:
        key = hashlib.sha256(f"{experiment}\0{op}\0{name}".encode()).hexdigest()[:32]
        return self.root / "names" / f"{key}.json"

    def remember(self, experiment: str, node, version: int) -> None:
        """Best effort: a record only --explain and `cache verify` read (a full disk skips it)."""
        record = {
            "id": node.id,
            "params": node.params,
            "deps": list(node.deps),
            "op": node.op,
            "name": node.name,
            "version": version,
        }
        path = self._name_file(experiment, node.op, node.name)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            temporary.write_text(json.dumps(record, sort_keys=True))
            os.replace(temporary, path)
        except OSError:
            temporary.unlink(missing_ok=True)

    def previous(self, experiment: str, node) -> dict[str, Any] | None:
        path = self._name_file(experiment, node.op, node.name)
        try:
            return json.loads(path.read_text()) if path.exists() else None
        except (OSError, ValueError):
            return None

    def names(self) -> dict[str, str]:
        """What each remembered node id is, as "op 'name'" (for `homogc cache verify`)."""
        found = {}
        for path in (self.root / "names").glob("*.json"):
            try:
                record = json.loads(path.read_text())
                found[record["id"]] = f"{record['op']} '{record.get('name', '?')}'"
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return found

    def verify(self, repair: bool = False) -> list[tuple[str, str]]:
        """Every damaged entry of the store, with what is wrong (hashing each in full); with
        `repair`, they are removed, so that the next run recomputes them."""
        damaged = []
        for node_id in self.entries():
            found = self.problem(node_id, memo=False)
            if found is not None and found != MISSING:
                damaged.append((node_id, found))
                if repair:
                    self.remove(node_id)
        return damaged

    def clean(self) -> int:
        count = sum(1 for _ in (self.root / "objects").glob("*/*"))
        shutil.rmtree(self.root)
        return count


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
