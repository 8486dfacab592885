"""A cache entry's manifest: the size and SHA-256 of each of its files, written last into the entry,
and checked when the entry is read, so that a damaged entry is found and recomputed, never used."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
VERSION = 1


def write_file(path: Path, data: bytes) -> dict[str, Any]:
    with open(path, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def signature(entry: Path) -> tuple | None:
    """The size, modification time and inode of an entry's files: what the memo compares."""
    found = []
    try:
        for path in sorted(entry.iterdir()):
            stat = path.stat()
            found.append((path.name, stat.st_size, stat.st_mtime_ns, stat.st_ino))
    except OSError:
        return None
    return tuple(found)


def verify(entry: Path) -> str | None:
    """What is wrong with an entry folder, or None when every file matches its manifest."""
    try:
        manifest = json.loads((entry / MANIFEST).read_bytes())
        files = manifest["files"]
        if manifest.get("version") != VERSION or not isinstance(files, dict) or "meta.json" not in files:
            return "its manifest is not one this homogc writes"
    except FileNotFoundError:
        if not (entry / "meta.json").is_file():
            return "meta.json is missing"
        return "manifest.json is missing: an entry cut short, or written by an older homogc"
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return "manifest.json is not valid"
    try:
        present = {p.name for p in entry.iterdir()} - {MANIFEST}
        unexpected = sorted(present - set(files))
        if unexpected:
            return f"{unexpected[0]} is not in its manifest"
        for name, expected in sorted(files.items()):
            path = entry / name
            if not path.is_file():
                return f"{name} is missing"
            size = path.stat().st_size
            if size != expected["size"]:
                return f"{name} has {size} bytes, not {expected['size']}: truncated or overwritten"
            if sha256(path) != expected["sha256"]:
                return f"{name} does not match its checksum: a changed or flipped byte"
    except OSError as error:
        return f"it cannot be read: {error.strerror or error}"
    except (KeyError, TypeError):
        return "manifest.json is not valid"
    return None


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
