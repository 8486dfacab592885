"""Canonical serialisation and content hashes: the cache key of every graph node.

Only plain data is admitted — None, booleans, integers, finite floats, strings,
lists and string-keyed dicts. Anything else is refused, never guessed at: no
`hash()`, `id()`, `repr()` or pickle bytes ever reach a key.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any


class NotHashable(TypeError):
    def __init__(self, path: str, value: object) -> None:
        super().__init__(f"{path}: {type(value).__name__} cannot be serialised canonically")
        self.path = path
        self.value = value


def _check(value: Any, path: str) -> None:
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotHashable(path, value)
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotHashable(f"{path}.<key>", key)
            _check(item, f"{path}.{key}")
        return
    raise NotHashable(path, value)


def canonical_json(value: Any) -> str:
    """One text per value: sorted keys, no spaces, floats as Python's shortest repr."""
    _check(value, "$")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def content_hash(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
