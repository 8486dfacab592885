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
DEVICE_UNAVAILABLE = define(
    "E310", "device-unavailable", "A device the spec asks for is not on this machine."
)
NODE_FAILED = define("E320", "node-failed", "A graph node failed while running.")
IMPLEMENTATION_MISSING = define(
    "E321", "implementation-missing", "A registry entry whose implementation cannot be imported."
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
