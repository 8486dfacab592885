"""homog.compiler: passes → experiment IR → execution graph. Imports no torch."""

from . import codes
from .driver import Compilation, Options, compile_document, compile_text
from .graph import Graph, Node
from .ir import ExperimentIR

__all__ = [
    "Compilation",
    "ExperimentIR",
    "Graph",
    "Node",
    "Options",
    "codes",
    "compile_document",
    "compile_text",
]
