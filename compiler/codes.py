"""Diagnostic codes of the compiler: meaning (E2xx) and warnings (W2xx).

Stable once released; each is documented with a spec that triggers it in
dsl/REFERENCE.md.
"""

from homog.dsl.diagnostics import define

# Declarations.
UNKNOWN_BLOCK_KIND = define("E201", "unknown-block-kind", "A block kind the language does not have.")
MISSING_LABEL = define("E202", "missing-label", "A block that needs a name has none.")
UNEXPECTED_LABEL = define("E203", "unexpected-label", "A block that takes no name has one.")
DUPLICATE_NAME = define("E204", "duplicate-name", "Two declarations share a name.")
MISSING_EXPERIMENT = define("E205", "missing-experiment", "The file has no 'experiment' block.")
DUPLICATE_BLOCK = define("E206", "duplicate-block", "A block that may appear once appears twice.")
NOTHING_TO_COMPARE = define("E207", "nothing-to-compare", "The spec declares no model and no fusion.")

# Schemas.
UNKNOWN_KEY = define("E210", "unknown-key", "A key that the block or call does not take.")
MISSING_KEY = define("E211", "missing-key", "A required key or argument is missing.")
WRONG_TYPE = define("E212", "wrong-type", "A value of the wrong type.")
OUT_OF_RANGE = define("E213", "out-of-range", "A number or list outside its allowed range.")
UNKNOWN_CHOICE = define("E214", "unknown-choice", "A name that is not one of the allowed choices.")
MISPLACED_MEMBER = define(
    "E215", "misplaced-member", "An entry, attribute or nested block where the block takes none."
)

# Registry entries (architectures, transforms, metrics, ...).
UNKNOWN_ENTRY = define("E220", "unknown-entry", "A name that no registry entry of the expected kind has.")
TOO_MANY_ARGUMENTS = define("E221", "too-many-arguments", "More positional arguments than the entry takes.")

# References.
UNKNOWN_REFERENCE = define("E230", "unknown-reference", "A reference to nothing declared.")
UNKNOWN_FIELD = define("E231", "unknown-field", "A dataset field that the source does not have.")
WRONG_REFERENCE_KIND = define(
    "E232", "wrong-reference-kind", "A reference to a declaration of the wrong kind."
)

# Types of the experiment.
INCOMPATIBLE_MODALITY = define(
    "E240", "incompatible-modality", "An architecture given a modality type it cannot take."
)
MIXED_FUSION_INPUTS = define("E241", "mixed-fusion-inputs", "A fusion mixing modalities and learners.")
FUSION_CYCLE = define("E242", "fusion-cycle", "Late fusions that take each other's outputs in a cycle.")
NO_REPRESENTATIONS = define(
    "E243", "no-representations", "A metric needing representations where no learner has them."
)
SHAPE_MISMATCH = define("E244", "shape-mismatch", "A modality whose declared type disagrees with its data.")
TOO_FEW_INPUTS = define("E245", "too-few-inputs", "A fusion with fewer than two inputs.")
STRATEGY_MISMATCH = define(
    "E246", "strategy-mismatch", "A fusion strategy for modalities given learners, or the reverse."
)
METRIC_NEEDS_TWO_RUNS = define(
    "E247", "metric-needs-two-runs", "A comparison across runs in a spec with one run."
)
FUSION_ACROSS_DATASETS = define(
    "E248", "fusion-across-datasets", "A fusion whose inputs are tested on different datasets."
)
NO_SHARED_EXAMPLES = define(
    "E249", "no-shared-examples", "A comparison of runs none of which are tested on the same examples."
)

# Sweeps.
UNKNOWN_SWEEP_AXIS = define("E250", "unknown-sweep-axis", "A sweep over an axis that does not exist.")
EMPTY_SWEEP = define("E251", "empty-sweep", "A sweep axis with no values.")
ZIP_LENGTH_MISMATCH = define("E252", "zip-length-mismatch", "Paired sweep axes of different lengths.")
MIXED_FOLDS = define("E253", "mixed-folds", "Datasets split into different numbers of folds.")
SWEEP_TOO_LARGE = define(
    "E254", "sweep-too-large", "A sweep whose cross product gives more runs than homogc compiles."
)
AXIS_SET_TWICE = define("E255", "axis-set-twice", "A sweep axis set by two members of the sweep.")
NO_VALIDATION_SPLIT = define(
    "E256", "no-validation-split", "Early stopping for a learner whose dataset has no validation split."
)
TOO_MANY_CLUSTERS = define("E257", "too-many-clusters", "k-means asked for more clusters than items.")

# Lowering.
NOT_HASHABLE = define(
    "E260", "not-hashable", "A value that cannot be serialised canonically for the cache key."
)

# Warnings: `homogc check` fails on them only with --strict.
UNUSED_MODALITY = define("W201", "unused-modality", "A modality no learner uses.")
SINGLE_VALUE_SWEEP = define("W202", "single-value-sweep", "A sweep axis with one value sweeps nothing.")
LEFT_OUT_OF_METRIC = define(
    "W203", "left-out-of-metric", "A learner left out of a metric it cannot take part in."
)
UNUSED_DATASET = define("W204", "unused-dataset", "A dataset no modality uses.")
COMPARED_SEPARATELY = define(
    "W205", "compared-separately", "A comparison whose learners are tested on different datasets."
)
CONDITION_SHIFTS_NOTHING = define(
    "W206", "condition-shifts-nothing", "A condition that shifts nothing a learner it applies to reads."
)

# Layer by layer (#17).
UNKNOWN_LAYER = define(
    "E290", "unknown-layer", "A layer a representation metric selects that a learner's network does not have."
)

# Pretrained backbones (compiler/backbones.py).
BACKBONE_MISSING = define("E270", "backbone-missing", "A backbone whose files are not on this machine.")
UNKNOWN_BACKBONE_LAYER = define("E271", "unknown-backbone-layer", "A layer name the backbone does not have.")
BACKBONE_MODALITY = define(
    "E272", "backbone-modality", "A backbone given a modality of another kind (a text model on images)."
)
BACKBONE_SHIFTED = define(
    "E273", "backbone-shifted", "A test-time condition on a modality that a pretrained backbone reads."
)
BACKBONE_IN_FUSION = define(
    "E274", "backbone-in-fusion", "A pretrained backbone as a fusion's encoder or head."
)
INIT_MISMATCH = define(
    "E275", "init-mismatch", "A model initialised from a model of another architecture or backend."
)
INIT_CYCLE = define("E276", "init-cycle", "Models that initialise each other in a cycle.")
