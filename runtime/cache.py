"""A content-addressed cache of node results: one entry per node id.

An entry is a folder `objects/ab/abcd…/` holding `meta.json` and `arrays.npz`.
It is written in a temporary folder and renamed into place, so a kill at any
instant leaves either the whole entry or none of it; a per-node lock keeps two
processes from computing the same node twice. Arrays are read with
`allow_pickle=False`: nothing from the cache is ever unpickled.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Artifact:
    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]


class Cache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        for folder in ("objects", "tmp", "locks", "names"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        self._remove_abandoned_temporaries()

    def _entry(self, node_id: str) -> Path:
        return self.root / "objects" / node_id[:2] / node_id

    def has(self, node_id: str) -> bool:
        return (self._entry(node_id) / "meta.json").is_file()

    def load(self, node_id: str) -> Artifact:
        entry = self._entry(node_id)
        meta = json.loads((entry / "meta.json").read_text())
        arrays_path = entry / "arrays.npz"
        arrays: dict[str, np.ndarray] = {}
        if arrays_path.exists():
            with np.load(arrays_path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        return Artifact(meta, arrays)

    def store(self, node_id: str, artifact: Artifact) -> None:
        final = self._entry(node_id)
        if final.exists():
            return
        temporary = self.root / "tmp" / f"{os.getpid()}-{uuid.uuid4().hex}"
        temporary.mkdir()
        try:
            if artifact.arrays:
                with open(temporary / "arrays.npz", "wb") as file:
                    np.savez(file, **artifact.arrays)
                    file.flush()
                    os.fsync(file.fileno())
            with open(temporary / "meta.json", "w") as file:
                json.dump(artifact.meta, file, sort_keys=True)
                file.flush()
                os.fsync(file.fileno())
            final.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(temporary, final)  # atomic: the entry appears whole
            except OSError:
                if not final.exists():
                    raise
        finally:
            shutil.rmtree(temporary, ignore_errors=True)

    @contextlib.contextmanager
    def lock(self, node_id: str) -> Iterator[None]:
        """Hold the node's lock: a second process waits, then finds the entry written."""
        with open(self.root / "locks" / f"{node_id[:16]}.lock", "w") as handle:
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
        record = {
            "id": node.id,
            "params": node.params,
            "deps": list(node.deps),
            "op": node.op,
            "version": version,
        }
        path = self._name_file(experiment, node.op, node.name)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(record, sort_keys=True))
        os.replace(temporary, path)

    def previous(self, experiment: str, node) -> dict[str, Any] | None:
        path = self._name_file(experiment, node.op, node.name)
        return json.loads(path.read_text()) if path.exists() else None

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
