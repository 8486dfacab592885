"""Diagnostic codes of the front end: reading files (E0xx) and syntax (E1xx).

Codes are stable: once released, a code keeps its number and meaning. Every one
is documented, with a spec that triggers it, in dsl/REFERENCE.md.
"""

from .diagnostics import define

# Reading files.
FILE_NOT_FOUND = define("E001", "file-not-found", "The spec file does not exist.")
IS_A_DIRECTORY = define("E002", "is-a-directory", "A directory was given where a spec file was expected.")
UNREADABLE = define("E003", "unreadable-file", "The spec file cannot be read (permissions or I/O).")
NOT_UTF8 = define("E004", "not-utf8", "The spec file is not valid UTF-8 text.")
EMPTY_FILE = define("E005", "empty-file", "The spec file is empty or holds only comments and blank lines.")
INTERNAL = define("E009", "internal-error", "A bug in homogc, not in the spec; please report it.")

# Syntax.
UNEXPECTED_CHARACTER = define("E101", "unexpected-character", "A character that starts no token.")
UNTERMINATED_STRING = define("E102", "unterminated-string", "A string whose closing quote is missing.")
UNCLOSED_DELIMITER = define("E103", "unclosed-delimiter", "A '{', '(' or '[' that is never closed.")
UNMATCHED_CLOSE = define("E104", "unmatched-close", "A '}', ')' or ']' with nothing open to close.")
MISSING_EQUALS = define("E105", "missing-equals", "A key and its value without '=' between them.")
MISSING_COMMA = define("E106", "missing-comma", "Two list items or call arguments without ',' between them.")
STRAY_COMMA = define("E107", "stray-comma", "A ',' with nothing before it.")
MISSING_VALUE = define("E108", "missing-value", "An '=' with no value after it.")
FLOAT_RANGE_BOUND = define("E109", "float-range-bound", "A range whose bound is not an integer.")
KEYWORD_AS_NAME = define("E110", "keyword-as-name", "'true' or 'false' used where a name is expected.")
DUPLICATE_EXPERIMENT = define("E111", "duplicate-experiment", "A second 'experiment' block in one file.")
MISSING_SEPARATOR = define("E112", "missing-separator", "Two members on one line without ',' between them.")
UNEXPECTED_TOKEN = define("E113", "unexpected-token", "A token that cannot appear where it is.")
INVALID_ESCAPE = define("E114", "invalid-escape", 'A backslash escape other than \\" \\\\ \\n \\t.')
UNEXPECTED_EOF = define("E115", "unexpected-end-of-file", "The file ends in the middle of a construct.")
MISMATCHED_DELIMITER = define("E116", "mismatched-delimiter", "A closing delimiter of the wrong kind.")
MEMBER_OUTSIDE_BLOCK = define(
    "E117", "member-outside-block", "An attribute or entry at the top level of a file."
)
INVALID_KEY = define("E118", "invalid-key", "Something other than a plain name before '='.")
DUPLICATE_KEY = define("E120", "duplicate-key", "A key set twice in one block or one call.")
POSITIONAL_AFTER_KEYWORD = define(
    "E121", "positional-after-keyword", "A positional argument after a keyword argument."
)

# Bounds: checked while reading, before any work grows with them.
TOO_DEEPLY_NESTED = define(
    "E122", "too-deeply-nested", "Blocks, lists and calls nested deeper than the language allows."
)
NUMBER_TOO_LARGE = define(
    "E123", "number-too-large", "An integer beyond 64 bits, or a number too large to represent."
)
STRING_TOO_LONG = define("E124", "string-too-long", "A string longer than the language allows.")
RANGE_TOO_LONG = define("E125", "range-too-long", "A range of more values than the language allows.")
