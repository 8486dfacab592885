"""The data errors of external runs (E360-E369): each names the file, line and field at fault."""

from __future__ import annotations

from homog.dsl.diagnostics import define

EXTERNAL_MISSING = define(
    "E360", "external-missing", "An external source whose path does not exist or holds no model's outputs."
)
EXTERNAL_MALFORMED = define(
    "E361",
    "external-malformed",
    "An external file that is not in its format's layout: bad JSON, a missing or ill-typed field.",
)
EXTERNAL_NO_SHARED = define(
    "E362", "external-no-shared-examples", "External models that share fewer than two answered examples."
)
EXTERNAL_ATTRIBUTES = define(
    "E363",
    "external-attributes",
    "A model-attributes table that is malformed or names no model of the source.",
)
EXTERNAL_EMBEDDINGS = define(
    "E364", "external-embeddings", "An embeddings file that is malformed or does not match its example ids."
)
EXTERNAL_DATASET = define(
    "E365",
    "external-dataset-mismatch",
    "External answers joined to a dataset whose example ids or classes they do not share.",
)
