"""The bounds of the language, checked while a spec is read, before any work grows with them.

Each is far beyond what a study needs and far below what would exhaust the
reader: Python's stack (nesting), its integer-to-text limit (digits), memory
(strings, ranges). The compiler adds its own bound on the runs a sweep gives.
"""

MAX_DEPTH = 64  # blocks, lists and calls open at once; Python's stack holds about 250
MAX_INTEGER = 2**63 - 1  # what numpy and torch hold in an int64
MAX_STRING = 10_000  # characters of one string literal, as written
MAX_RANGE = 10_000  # values of one range `start..stop`
