"""Errors the runtime reports to a user: a stable code, a message, a hint, and where the spec said it."""

from __future__ import annotations

from homog.dsl.diagnostics import Diagnostic, HomogError, define
from homog.dsl.syntax import Span

DATA_FILE_MISSING = define("E301", "data-file-missing", "A data file named by a dataset does not exist.")
DATA_FIELD_MISSING = define("E302", "data-field-missing", "A field or column that the data does not have.")
DATA_LENGTHS_DIFFER = define(
    "E303", "data-lengths-differ", "Fields of a dataset with different numbers of rows."
)
DATA_HAS_NAN = define("E304", "data-has-nan", "A numeric field with missing or non-finite values.")
DATA_ONE_CLASS = define("E305", "data-one-class", "A label with a single class: nothing to classify.")
DATA_UNREADABLE = define("E306", "data-unreadable", "A data file that cannot be read in its format.")
DATA_LABELS_MISSING = define("E307", "data-labels-missing", "Examples whose label is missing (NaN or blank).")
DATA_LABELS_NOT_CLASSES = define(
    "E308",
    "data-labels-not-classes",
    "A label that is not one class per example: continuous numbers, or not a 1-D column.",
)
DATA_TOO_FEW = define(
    "E309",
    "data-too-few-examples",
    "Too few examples for the split, a class too rare for it, or a transform that needs more.",
)
DATA_NOT_NUMERIC = define(
    "E311",
    "data-not-numeric",
    "Text where numbers are needed: stray text in a numeric column, or a text field.",
)
DATA_RAGGED_ROWS = define("E312", "data-ragged-rows", "A table row with more or fewer cells than the header.")
DATA_DUPLICATE_COLUMN = define("E313", "data-duplicate-column", "A table with two columns of the same name.")
DATA_SHAPE_MISMATCH = define(
    "E314",
    "data-shape-mismatch",
    "A field whose examples do not fit its modality's transforms or declared type (E244, at run time).",
)
DEVICE_UNAVAILABLE = define(
    "E310", "device-unavailable", "A device the spec asks for is not on this machine."
)
NODE_FAILED = define("E320", "node-failed", "A graph node failed while running.")
IMPLEMENTATION_MISSING = define(
    "E321", "implementation-missing", "A registry entry whose implementation cannot be imported."
)

LAYER_UNKNOWN = define(
    "E370",
    "layer-unknown",
    "A layer a representation metric selects that the learner's network does not have.",
)
METRIC_MEMORY = define(
    "E371",
    "metric-memory",
    "A representation metric whose estimated memory exceeds this machine's (found before training).",
)


class RunError(HomogError):
    """A problem found while running; carries a diagnostic located at the spec when possible."""

    def __init__(self, code, message: str, hint: str, origin: Span | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        self.origin = origin

    def __reduce__(self):
        # Errors cross process boundaries (Ray workers) whole: code, message, hint and origin.
        return (RunError, (self.code, self.message, self.hint, self.origin))

    def located(self, origin: Span | None) -> RunError:
        """This error at `origin`, where it has no location of its own."""
        return self if self.origin is not None else RunError(self.code, self.message, self.hint, origin)

    def diagnostic(self) -> Diagnostic:
        return Diagnostic(self.code, self.message, self.origin, hint=self.hint)


# Writing what a run produces, and the cache it reads (E34x).
IO_FAILED = define(
    "E340", "io-failed", "A file or folder homogc writes cannot be written: disk full, permission, read-only."
)
REPORT_PATH_INVALID = define(
    "E341", "report-path-invalid", "A report path that names a folder, the spec itself or an input data file."
)
CACHE_ENTRY_DAMAGED = define(
    "E342", "cache-entry-damaged", "A cache entry found damaged while a run was reading it."
)

# Pretrained backbones (E35x).
BACKBONE_UNKNOWN_LAYER = define(
    "E350", "backbone-unknown-layer", "A layer name the backbone does not have (found when it is loaded)."
)
BACKBONE_UNLOADABLE = define(
    "E351",
    "backbone-unloadable",
    "A backbone whose files cannot be loaded: missing, unsafe format, or a library not installed.",
)
BACKBONE_POOLING = define(
    "E352", "backbone-pooling", "A pooling the layer's output cannot take (cls pooling of a feature map)."
)
INIT_NOTHING_MATCHES = define(
    "E353", "init-nothing-matches", "A model whose `init` model has no weight of the same name and shape."
)

# External runs (E360-E369) are defined beside their readers; imported here so that every runtime
# code is known wherever the runtime's errors are.
from .external import errors as _external_errors  # noqa: E402, F401
