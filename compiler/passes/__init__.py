"""The compiler passes, each a small function of the shared context, run in order."""

from .backbones import check_backbones
from .build_ir import build_ir
from .declare import declare
from .invocations import check_invocations
from .populations import populations
from .resolve import resolve
from .sweeps import expand_sweeps
from .typecheck import typecheck
from .validate import validate_blocks

# Checking passes run whatever the others found, so that one `homogc check`
# reports every error; each skips what an earlier pass could not make sense of.
CHECKS = (
    declare,
    validate_blocks,
    check_invocations,
    resolve,
    typecheck,
    check_backbones,
    expand_sweeps,
    populations,
)
# Building passes run only on a spec without errors.
BUILDS = (build_ir,)

__all__ = ["BUILDS", "CHECKS"]
