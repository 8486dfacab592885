"""What a re-run may skip: fingerprints of data files, and the record of complete runs.

Node ids cover the spec and homogc's ops, not the bytes of a data file, so a
file source's SHA-256 is folded into its load node: edit the file and every
node built on it is recomputed.

A complete run also leaves a record, keyed by everything that decides its
results apart from its data (the spec's text, the options that change results,
and homogc's own code), listing the data files it read. A re-run whose key
finds a record, whose files are unchanged and whose run directory is whole has
nothing to do: it answers with that run directory without compiling, importing
torch or writing anything, the way `make` answers "up to date". Any doubt (a
missing or unreadable record, a changed file, a deleted run) falls back to the
full path, where the node cache still saves every unchanged node. The record
also lists the size and modification time of every cache entry's files: a
damaged entry (a changed byte changes its file's time) sends the re-run down
the full path, where the entry is verified, reported and recomputed.

Only the standard library is imported here: this is the whole cost of a warm re-run.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

_CODE_SUFFIXES = (".py", ".lark", ".j2")
_FINGERPRINTS = "fingerprints.json"


def file_digest(path: Path, cache_root: Path | None) -> str:
    """SHA-256 of a file's bytes, remembered in the cache by (size, modification time) so that a
    large file is read once; without a cache, read every time."""
    path = Path(path).resolve()
    stat = path.stat()
    memo_path = Path(cache_root) / _FINGERPRINTS if cache_root is not None else None
    memo = (_read_json(memo_path) or {}) if memo_path else {}
    known = memo.get(str(path))
    if known and known["size"] == stat.st_size and known["mtime_ns"] == stat.st_mtime_ns:
        return known["sha256"]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if memo_path:
        memo[str(path)] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest.hexdigest()}
        with contextlib.suppress(OSError):  # a memo: a full disk only costs reading the file again
            _write_json(memo_path, memo)
    return digest.hexdigest()


@cache
def code_fingerprint() -> str:
    """SHA-256 of homogc's own source (code, grammar, templates): any change, even unreleased, shows."""
    digest = hashlib.sha256()
    for package in ("homog.dsl", "homog.compiler", "homog.runtime"):
        spec = importlib.util.find_spec(package)
        for folder in spec.submodule_search_locations or []:
            root = Path(folder)
            for file in sorted(p for p in root.rglob("*") if p.suffix in _CODE_SUFFIXES):
                digest.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def run_key(text: str, device: str | None, smoke: bool, runs: Path) -> str:
    """The key of a run's record: the spec, the options that change results, and homogc's code."""
    settings = {"device": device, "smoke": smoke, "runs": str(Path(runs).resolve())}
    payload = json.dumps({"spec": text, "settings": settings, "code": code_fingerprint()}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def unchanged_run(cache_root: Path, key: str) -> Path | None:
    """The run directory of a complete run with this key whose inputs and outputs are as they were."""
    record = _read_json(Path(cache_root) / "runs" / f"{key}.json")
    if not record:
        return None
    directory = Path(record["run"])
    status = _read_json(directory / "status.json")
    if not status or status.get("status") != "complete":
        return None
    if not all(Path(p).is_file() for p in record["outputs"]):
        return None
    if entry_signatures(cache_root, list(record.get("entries", {}))) != record.get("entries"):
        return None
    for file in record["files"]:
        try:
            if file_digest(Path(file["path"]), cache_root) != file["sha256"]:
                return None
        except OSError:
            return None
    return directory


def entry_signatures(cache_root: Path, node_ids: list[str]) -> dict[str, list[list[Any]]] | None:
    """The name, size and modification time of each file of each node's cache entry (None where an
    entry cannot be read): what a re-run compares to see that the cache is as the run left it."""
    found = {}
    for node_id in node_ids:
        entry = Path(cache_root) / "objects" / node_id[:2] / node_id
        try:
            files = sorted(os.scandir(entry), key=lambda e: e.name)
            found[node_id] = [[e.name, e.stat().st_size, e.stat().st_mtime_ns] for e in files]
        except OSError:
            return None
    return found


def remember_run(
    cache_root: Path,
    key: str,
    directory: Path,
    digests: dict[Path, str],
    outputs: list[Path],
    entries: dict[str, list[list[Any]]] | None = None,
) -> None:
    """Record a complete run; `digests` are the SHA-256 of the data files it read, by path, and
    `entries` the signatures of its nodes' cache entries. Best effort: without a record (a full
    disk), the next run only takes the full path."""
    if entries is None:
        return
    record = {
        "run": str(Path(directory).resolve()),
        "files": [{"path": str(Path(f).resolve()), "sha256": sha} for f, sha in digests.items()],
        "outputs": [str(Path(p).resolve()) for p in outputs],
        "entries": entries,
    }
    with contextlib.suppress(OSError):
        _write_json(Path(cache_root) / "runs" / f"{key}.json", record)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(value, sort_keys=True))
    os.replace(temporary, path)
