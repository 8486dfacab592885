"""Pause the cyclic garbage collector while building large, long-lived structures.

Parsing and compiling allocate many objects that all stay alive; every
collection pass during that walks the whole growing heap for nothing, which
makes time grow faster than the size of the spec. Reference counting still
frees what is dropped; cycles are collected as usual once the pause ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
