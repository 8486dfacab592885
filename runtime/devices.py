"""The torch device of a run: `auto` resolved, and a located error for one this machine lacks."""

from __future__ import annotations

import os

from homog.dsl.syntax import Span

from . import errors


def check_device(requested: str, origin: Span | None) -> str:
    """The torch device to use; a located error if the spec asks for one this machine lacks."""
    import torch

    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if mps else "cpu"
    if requested.startswith("cuda"):
        if not torch.cuda.is_available():
            raise errors.RunError(
                errors.DEVICE_UNAVAILABLE,
                f"the spec asks for device '{requested}', and this machine has no CUDA device",
                "use device = auto (CUDA when there is one, else CPU), or run with --device cpu",
                origin,
            )
        index = int(requested.split(":")[1]) if ":" in requested else 0
        if index >= torch.cuda.device_count():
            raise errors.RunError(
                errors.DEVICE_UNAVAILABLE,
                f"'{requested}' asked for; this machine has {torch.cuda.device_count()} CUDA device(s)",
                f"use an index below {torch.cuda.device_count()}",
                origin,
            )
    if requested == "mps" and not mps:
        raise errors.RunError(
            errors.DEVICE_UNAVAILABLE,
            "the spec asks for device 'mps', and this machine has none",
            "use device = auto, or run with --device cpu",
            origin,
        )
    return requested


def configure_torch(device: str) -> None:
    import torch

    # Torch tasks run one at a time (a lock per device), so each may use every core.
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    if device != "cpu":
        # Accelerator kernels (atomic adds) are where nondeterminism lives; the CPU kernels homogc
        # uses repeat bit for bit (tested). The switch costs 1.5 s of imports (it loads torch's
        # compiler to set one flag), so a CPU run does without it.
        torch.use_deterministic_algorithms(True, warn_only=True)
