"""The built-in registry entries: names and parameter schemas, no implementations."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, PlainValidator, model_validator
from pydantic_core import PydanticCustomError

from .fields import Ref, Schema, Text, choice
from .registry import Entry, FieldInfo, Shape, SizeRule
from .values import Invocation

_IMAGE_TYPES = frozenset({"image"})
_SEQUENCE = frozenset({"sequence"})
_NUMERIC = frozenset({"image", "sequence", "vector"})
_VECTOR = frozenset({"vector"})
_TORCH_LAYERS = ("penultimate", "logits")

# --------------------------------------------------------------------------- data


class ColumnGroup(Schema):
    """One field made of several columns of a table (one input vector per example): the columns
    named, those from `first` to `last` in the file's order, or those whose names start with `prefix`."""

    name: str
    columns: list[str] | None = None
    prefix: str | None = None
    first: str | None = None
    last: str | None = None


_GROUP_FORMS = (
    'columns("NAME", ["a", "b"]), columns("NAME", first = "a", last = "z") or columns("NAME", prefix = "p_")'
)


def _column_group(value: Any) -> ColumnGroup:
    if not (isinstance(value, Invocation) and value.name == "columns"):
        raise PydanticCustomError("column_group", f"expected {_GROUP_FORMS}")
    if not value.positional or not isinstance(value.positional[0], str) or len(value.positional) > 2:
        raise PydanticCustomError("column_group", f"a group of columns is written {_GROUP_FORMS}")
    keywords = dict(value.keywords)
    if len(value.positional) == 2:
        keywords["columns"] = value.positional[1]
    unknown = set(keywords) - {"columns", "prefix", "first", "last"}
    if unknown:
        raise PydanticCustomError("column_group", f"columns(...) takes no key '{sorted(unknown)[0]}'")
    forms = [("columns" in keywords), ("prefix" in keywords), ("first" in keywords or "last" in keywords)]
    if sum(forms) != 1 or (forms[2] and not ("first" in keywords and "last" in keywords)):
        raise PydanticCustomError(
            "column_group",
            f"give a group's columns one way: a list, a prefix, or first and last ({_GROUP_FORMS})",
        )
    names = keywords.get("columns")
    if names is not None and (
        not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names)
    ):
        raise PydanticCustomError("column_group", 'a list of column names in quotes, as in ["a", "b"]')
    for key in ("prefix", "first", "last"):
        if key in keywords and not isinstance(keywords[key], str):
            raise PydanticCustomError("column_group", f"'{key}' is a column name in quotes")
    return ColumnGroup(name=value.positional[0], **keywords)


class FileSource(Schema):
    path: Text
    label: Text = "label"
    # Fields of several columns each, beside one field per column.
    fields: list[Annotated[ColumnGroup, PlainValidator(_column_group)]] = Field(default_factory=list)
    # Cells left blank (or null): an error, rows dropped, or filled in from the training split.
    missing: choice("error", "drop", "mean", "median", "most_frequent") = "error"


def _sklearn(name: str, classes: int, **fields: FieldInfo) -> Entry:
    return Entry(
        "source",
        f"sklearn.{name}",
        f"scikit-learn's {name} dataset ({classes} classes), shipped with the library",
        fields={**fields, "target": FieldInfo((), is_label=True)},
    )


class Holdout(Schema):
    test: float = Field(0.25, gt=0, lt=1)
    stratify: bool = True
    validation: float = Field(0.0, ge=0, lt=1)


class KFold(Schema):
    k: int = Field(5, ge=2)
    stratify: bool = True
    validation: float = Field(0.0, ge=0, lt=1)


DATA = [
    _sklearn("digits", 10, image=FieldInfo((8, 8)), features=FieldInfo((64,))),
    _sklearn("iris", 3, features=FieldInfo((4,))),
    _sklearn("wine", 3, features=FieldInfo((13,))),
    _sklearn("breast_cancer", 2, features=FieldInfo((30,))),
    Entry("source", "npz", "a NumPy .npz file; arrays (or groups) are fields", FileSource, ("path",)),
    Entry("source", "csv", "a CSV table; columns (or groups) are fields", FileSource, ("path",)),
    Entry("source", "parquet", "a Parquet table; columns (or groups) are fields", FileSource, ("path",)),
    Entry("split", "holdout", "one stratified train/test split", Holdout, ("test",)),
    Entry("split", "kfold", "k stratified folds; every run is repeated per fold", KFold, ("k",)),
]

# --------------------------------------------------------------------------- transforms


class Components(Schema):
    components: int = Field(ge=1)


class Crop(Schema):
    rows: list[int] | None = Field(None, min_length=2, max_length=2)
    columns: list[int] | None = Field(None, min_length=2, max_length=2)


class HashedNgrams(Schema):
    features: int = Field(1024, ge=1)
    n: int = Field(2, ge=1, le=5)


def _flatten(shape: Shape, params: Schema) -> Shape | str:
    size = 1
    for dim in shape:
        size *= dim
    return (size,)


def _pca(shape: Shape, params: Components) -> Shape | str:
    if len(shape) != 1:
        return "pca needs a vector; flatten first"
    if params.components > shape[0]:
        return f"pca asks for {params.components} components of a vector of {shape[0]} features"
    return (params.components,)


def _profile(shape: Shape, params: Schema) -> Shape | str:
    if len(shape) != 2:
        return "row_col_profile needs a 2-D image"
    return (shape[0] + shape[1],)


def _crop(shape: Shape, params: Crop) -> Shape | str:
    if len(shape) != 2:
        return "crop needs a 2-D image"
    out = list(shape)
    for axis, bounds in ((0, params.rows), (1, params.columns)):
        if bounds is None:
            continue
        start, stop = bounds
        if not 0 <= start < stop <= shape[axis]:
            return f"crop {['rows', 'columns'][axis]} [{start}, {stop}] outside 0..{shape[axis]}"
        out[axis] = stop - start
    return tuple(out)


def _featurise(shape: Shape, params: HashedNgrams) -> Shape | str:
    return (params.features,)


class Std(Schema):
    std: float = Field(gt=0)


class Probability(Schema):
    p: float = Field(gt=0, lt=1)


class Flip(Schema):
    axis: choice("horizontal", "vertical") = "horizontal"


class Padding(Schema):
    padding: int = Field(1, ge=1)


class Size(Schema):
    size: int = Field(ge=1)


TRANSFORMS = [
    Entry("transform", "standardize", "zero mean, unit variance per feature (fitted on the training split)"),
    Entry("transform", "minmax", "scale each feature to [0, 1] (fitted on the training split)"),
    Entry("transform", "flatten", "flatten each example to a vector", shape_rule=_flatten),
    Entry(
        "transform",
        "pca",
        "project on the top principal components",
        Components,
        ("components",),
        shape_rule=_pca,
    ),
    Entry("transform", "row_col_profile", "row and column means of an image", shape_rule=_profile),
    Entry("transform", "crop", "keep a window of rows and columns of an image", Crop, shape_rule=_crop),
    Entry(
        "transform",
        "hashed_ngrams",
        "hashed character n-gram counts of text",
        HashedNgrams,
        shape_rule=_featurise,
    ),
    Entry("augment", "gaussian_noise", "add Gaussian noise while training", Std, ("std",), accepts=_NUMERIC),
    Entry("augment", "flip", "random flips of images", Flip, ("axis",), accepts=_IMAGE_TYPES),
    Entry(
        "augment", "random_crop", "pad and randomly crop images", Padding, ("padding",), accepts=_IMAGE_TYPES
    ),
    Entry("augment", "feature_dropout", "zero random features while training", Probability, ("p",)),
]

# --------------------------------------------------------------------------- learners


class MLP(Schema):
    hidden: list[int] = Field([128], max_length=16)
    dropout: float = Field(0.0, ge=0, lt=1)
    activation: choice("relu", "gelu", "tanh") = "relu"

    @model_validator(mode="after")
    def _positive_widths(self) -> MLP:
        if any(width < 1 for width in self.hidden):
            raise ValueError("every hidden width must be at least 1")
        return self


class CNN(Schema):
    channels: list[int] = Field([16, 32], min_length=1, max_length=8)
    kernel: int = Field(3, ge=1, le=11)
    dropout: float = Field(0.0, ge=0, lt=1)


class Recurrent(Schema):
    hidden: int = Field(64, ge=1)
    layers: int = Field(1, ge=1, le=8)
    bidirectional: bool = False


class Transformer(Schema):
    dim: int = Field(64, ge=1)
    heads: int = Field(4, ge=1)
    layers: int = Field(2, ge=1, le=12)
    dropout: float = Field(0.1, ge=0, lt=1)

    @model_validator(mode="after")
    def _heads_divide_dim(self) -> Transformer:
        if self.dim % self.heads:
            raise ValueError(f"dim {self.dim} is not divisible by heads {self.heads}")
        return self


class LogisticRegression(Schema):
    c: float = Field(1.0, gt=0)
    max_iter: int = Field(1000, ge=1)


class Forest(Schema):
    trees: int = Field(100, ge=1)
    depth: int | None = Field(None, ge=1)


class Boosting(Schema):
    trees: int = Field(100, ge=1)
    depth: int = Field(3, ge=1)
    lr: float = Field(0.1, gt=0)


class SVM(Schema):
    c: float = Field(1.0, gt=0)
    kernel: choice("rbf", "linear", "poly") = "rbf"


class KNN(Schema):
    neighbors: int = Field(5, ge=1)
    weights: choice("uniform", "distance") = "uniform"


def scaled(size: int, width: float, multiple: int = 1) -> int:
    """A hidden size times a sweep's width, rounded to a multiple (at least one multiple)."""
    return max(multiple, round(size * width / multiple) * multiple)


def _sized_list(key: str) -> SizeRule:
    """Layers given as a list of sizes: `depth` cuts the list or repeats its last size; `width`
    multiplies every size."""

    def rule(params: dict, width: float, depth: int | None) -> dict:
        sizes = params[key]
        if depth is not None:
            sizes = sizes or [128]
            sizes = sizes[:depth] + [sizes[-1]] * max(0, depth - len(sizes))
        return {**params, key: [scaled(size, width) for size in sizes]}

    return rule


def _sized_layers(key: str, multiple_of: str | None = None) -> SizeRule:
    """A stack of `layers` layers of one size `key`: `depth` sets the layers, `width` scales the size."""

    def rule(params: dict, width: float, depth: int | None) -> dict:
        multiple = params[multiple_of] if multiple_of else 1
        sized = {**params, key: scaled(params[key], width, multiple)}
        return sized if depth is None else {**sized, "layers": depth}

    return rule


def _mlp_layers(params: dict) -> list[str]:
    """`body.0` (linear), `body.1` (activation), `body.2` (dropout), ... per hidden layer, then `out`."""
    return [f"body.{3 * i + k}" for i in range(len(params["hidden"])) for k in range(3)] + ["out"]


def _torch(
    name: str,
    summary: str,
    params: type[Schema],
    accepts: frozenset[str],
    size_rule: SizeRule,
    layer_names=None,
) -> Entry:
    return Entry(
        "architecture",
        name,
        summary,
        params,
        accepts=accepts,
        backend="torch",
        representations=_TORCH_LAYERS,
        size_rule=size_rule,
        layer_names=layer_names,
    )


def _sklearn_learner(
    name: str, summary: str, params: type[Schema], representations=(), seeded: bool = True
) -> Entry:
    return Entry(
        "architecture",
        f"sklearn.{name}",
        summary,
        params,
        accepts=_VECTOR,
        backend="sklearn",
        representations=representations,
        seeded=seeded,
    )


LEARNERS = [
    _torch(
        "mlp",
        "a multilayer perceptron; images and sequences are flattened",
        MLP,
        _NUMERIC,
        _sized_list("hidden"),
        _mlp_layers,
    ),
    _torch("cnn", "a 2-D convolutional network", CNN, _IMAGE_TYPES, _sized_list("channels")),
    _torch("cnn1d", "a 1-D convolutional network over time", CNN, _SEQUENCE, _sized_list("channels")),
    _torch(
        "gru",
        "a GRU over time; the last state is the representation",
        Recurrent,
        _SEQUENCE,
        _sized_layers("hidden"),
    ),
    _torch(
        "lstm",
        "an LSTM over time; the last state is the representation",
        Recurrent,
        _SEQUENCE,
        _sized_layers("hidden"),
    ),
    _torch(
        "transformer",
        "a small transformer encoder with mean pooling",
        Transformer,
        _SEQUENCE,
        _sized_layers("dim", multiple_of="heads"),
    ),
    _sklearn_learner(
        "logistic_regression",
        "multinomial logistic regression",
        LogisticRegression,
        ("logits",),
        seeded=False,  # lbfgs: no randomness
    ),
    _sklearn_learner("random_forest", "a random forest", Forest),
    _sklearn_learner("gradient_boosting", "gradient-boosted trees", Boosting),
    _sklearn_learner("svm", "a support vector classifier", SVM, ("logits",)),
    _sklearn_learner("knn", "k nearest neighbours", KNN, seeded=False),
]

# --------------------------------------------------------------------------- fusion


class Dim(Schema):
    dim: int = Field(64, ge=1)


class Attention(Schema):
    dim: int = Field(64, ge=1)
    heads: int = Field(4, ge=1)


class TensorFusion(Schema):
    dim: int = Field(16, ge=1)


class LowRank(Schema):
    rank: int = Field(4, ge=1)
    dim: int = Field(32, ge=1)


FUSION = [
    Entry("fusion", "concat", "early fusion: concatenate the encoded modalities"),
    Entry("fusion", "sum", "sum the encoded modalities (projected to one size)", Dim),
    Entry("fusion", "product", "element-wise product of the encoded modalities", Dim),
    Entry("fusion", "gated", "gated multimodal unit (Arevalo et al. 2017)", Dim, ("dim",)),
    Entry("fusion", "attention", "cross-modal attention (Tsai et al. 2019)", Attention),
    Entry("fusion", "tensor", "tensor fusion (Zadeh et al. 2017)", TensorFusion, ("dim",)),
    Entry("fusion", "low_rank_tensor", "low-rank multimodal fusion (Liu et al. 2018)", LowRank),
    Entry("fusion", "film", "feature-wise linear modulation (Perez et al. 2018)", Dim),
    Entry("fusion", "mean", "late fusion: mean of predicted probabilities", late=True),
    Entry("fusion", "weighted", "late fusion: learned softmax-normalised weights", late=True),
    Entry("fusion", "vote", "late fusion: majority vote of predicted labels", late=True),
]

# --------------------------------------------------------------------------- training


class SGD(Schema):
    lr: float = Field(0.01, gt=0)
    momentum: float = Field(0.0, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    nesterov: bool = False


class Adam(Schema):
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)


class AdamW(Schema):
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.01, ge=0)


class Cosine(Schema):
    warmup: int = Field(0, ge=0)


class Step(Schema):
    every: int = Field(10, ge=1)
    gamma: float = Field(0.1, gt=0, le=1)


class Patience(Schema):
    epochs: int = Field(5, ge=1)
    min_delta: float = Field(0.0, ge=0)
    monitor: choice("val_loss", "val_accuracy") = "val_loss"


TRAINING = [
    Entry("optimizer", "sgd", "stochastic gradient descent", SGD, ("lr",)),
    Entry("optimizer", "adam", "Adam", Adam, ("lr",)),
    Entry("optimizer", "adamw", "Adam with decoupled weight decay", AdamW, ("lr",)),
    Entry("schedule", "constant", "a constant learning rate"),
    Entry("schedule", "cosine", "cosine decay to zero, after an optional linear warm-up", Cosine),
    Entry("schedule", "step", "multiply the learning rate by gamma every few epochs", Step),
    Entry("stopping", "patience", "stop when the validation score stops improving", Patience, ("epochs",)),
]

# --------------------------------------------------------------------------- evaluation


CONDITIONS = [
    Entry("condition", "gaussian_noise", "add Gaussian noise at test time", Std, ("std",), accepts=_NUMERIC),
    Entry(
        "condition",
        "occlusion",
        "blank a random square patch of each image",
        Size,
        ("size",),
        accepts=_IMAGE_TYPES,
    ),
    Entry(
        "condition",
        "feature_dropout",
        "zero random features at test time",
        Probability,
        ("p",),
        accepts=_NUMERIC,
    ),
    Entry("condition", "drop", "remove the modality: its input is all zeros"),
]

# --------------------------------------------------------------------------- metrics


class Average(Schema):
    average: choice("macro", "micro", "weighted") = "macro"


class Spread(Schema):
    metric: Ref | None = None


class Representation(Schema):
    layer: choice("penultimate", "logits") = "penultimate"
    # Layer by layer (torch learners): `all` named layers, a list of module names ("body.0",
    # "penultimate", "logits"), or a pattern ("encoders.*.body.0"); None compares `layer` only.
    layers: choice("all") | Text | list[Text] | None = None
    storage: choice("float32", "float16") = "float32"  # how the captured layers are kept
    examples: int | None = Field(None, ge=4)  # a fixed random subsample of the test examples
    permutations: int = Field(0, ge=0, le=100_000)  # permutation null of every layer pair (0: none)


class CKA(Representation):
    kernel: choice("linear", "rbf", "debiased") = "linear"
    threshold: float = Field(0.5, gt=0)
    minibatch: int | None = Field(None, ge=4)  # Nguyen et al.'s minibatch estimator (debiased kernel)

    @model_validator(mode="after")
    def _minibatch_is_debiased(self) -> CKA:
        if self.minibatch is not None and self.kernel != "debiased":
            raise ValueError("minibatch CKA uses the unbiased HSIC: write kernel = debiased with minibatch")
        return self


class MutualKNN(Representation):
    k: int = Field(10, ge=1)


class Systemic(Schema):
    groups: Ref | None = None


class McNemar(Schema):
    a: Ref
    b: Ref
    exact: bool = True


class Comparison(Schema):
    a: Ref
    b: Ref
    metric: Ref | None = None


class TTest(Comparison):
    paired: bool = True


class Cluster(Schema):
    by: Ref | None = None
    level: choice("runs", "learners") = "runs"
    method: choice("average", "complete", "ward", "kmeans") = "average"
    k: int | choice("auto") = "auto"


_LEARNERS = {"a": "learner", "b": "learner", "metric": "metric"}

METRICS = [
    Entry("metric", "accuracy", "fraction of test examples classified correctly", scope="run"),
    Entry("metric", "precision", "precision, averaged over classes", Average, ("average",), scope="run"),
    Entry("metric", "recall", "recall, averaged over classes", Average, ("average",), scope="run"),
    Entry("metric", "f1", "F1 score, averaged over classes", Average, ("average",), scope="run"),
    Entry("metric", "macro_f1", "F1 score, macro-averaged over classes", scope="run"),
    Entry("metric", "confusion", "the confusion matrix", scope="run"),
    Entry(
        "metric", "roc_auc", "area under the ROC curve (one-vs-rest for many classes)", Average, scope="run"
    ),
    Entry("metric", "log_loss", "cross-entropy of the predicted probabilities", scope="run"),
    Entry(
        "metric",
        "spread",
        "sigma = (max - min) / min of a score across runs",
        Spread,
        ("metric",),
        scope="across",
        references={"metric": "metric"},
    ),
    Entry(
        "metric",
        "agreement",
        "fraction of examples on which two runs predict the same label",
        scope="pairwise",
    ),
    Entry("metric", "cohen_kappa", "Cohen's kappa between two runs' labels", scope="pairwise"),
    Entry("metric", "error_consistency", "kappa on correctness (Geirhos et al. 2020)", scope="pairwise"),
    Entry(
        "metric",
        "agreement_when_wrong",
        "same wrong label among examples both runs get wrong",
        scope="pairwise",
    ),
    Entry(
        "metric",
        "cka",
        "centred kernel alignment of representations (Kornblith et al. 2019)",
        CKA,
        scope="pairwise",
        needs_representations=True,
    ),
    Entry(
        "metric",
        "procrustes",
        "orthogonal Procrustes angular distance (Williams et al. 2021)",
        Representation,
        scope="pairwise",
        needs_representations=True,
    ),
    Entry(
        "metric",
        "mutual_knn",
        "mutual k-nearest-neighbour alignment (Huh et al. 2024)",
        MutualKNN,
        scope="pairwise",
        needs_representations=True,
    ),
    Entry(
        "metric",
        "systemic_failure",
        "examples every run fails; homogenization ratio (Bommasani et al. 2022)",
        Systemic,
        scope="population",
        references={"groups": "field"},
    ),
    Entry(
        "metric",
        "mcnemar",
        "McNemar's exact test per pair of runs, combined over seeds by a paired sign-flip permutation test "
        "over examples on seed-averaged correctness (Good 2005; examples are the unit)",
        McNemar,
        ("a", "b"),
        scope="test",
        references=_LEARNERS,
    ),
    Entry(
        "metric",
        "ttest",
        "paired t-test of a score between two learners, over fold scores (k folds) or seeds",
        TTest,
        ("a", "b"),
        scope="test",
        references=_LEARNERS,
    ),
    Entry(
        "metric",
        "wilcoxon",
        "Wilcoxon signed-rank test of a score between two learners, over fold scores (k folds) or seeds",
        Comparison,
        ("a", "b"),
        scope="test",
        references=_LEARNERS,
    ),
    Entry(
        "metric",
        "cluster",
        "hierarchical or k-means clustering of runs by a pairwise metric",
        Cluster,
        ("by",),
        scope="cluster",
        references={"by": "metric"},
    ),
]


# --------------------------------------------------------------------------- external runs


class ExternalFolder(Schema):
    path: Text


class LongTable(Schema):
    path: Text
    model: Text = "model"
    id: Text = "id"
    prediction: Text = "prediction"
    label: Text = "label"
    group: Text | None = None


EXTERNAL = [
    Entry(
        "external",
        "lm_eval",
        "lm-evaluation-harness --log_samples output: a subfolder per model of samples_<task>_<date>.jsonl",
        ExternalFolder,
        ("path",),
    ),
    Entry(
        "external",
        "helm",
        "HELM run folders (scenario_state.json, per_instance_stats.json), multiple choice",
        ExternalFolder,
        ("path",),
    ),
    Entry(
        "external",
        "leaderboard",
        "Open LLM Leaderboard details: a subfolder per model of samples_<task>_<date>.parquet",
        ExternalFolder,
        ("path",),
    ),
    Entry(
        "external",
        "table",
        "a long-form table (csv, jsonl, parquet): model, id, prediction, label, [group], [prob_<class>]",
        LongTable,
        ("path",),
    ),
]

METRICS += [
    Entry(
        "metric",
        "capa",
        "chance-adjusted probabilistic agreement kappa_p on predicted probabilities (Goel et al. 2025)",
        scope="pairwise",
    ),
    Entry(
        "metric",
        "jensen_shannon",
        "mean Jensen-Shannon divergence (bits) between predicted distributions",
        scope="pairwise",
    ),
]


def builtin_entries() -> list[Entry]:
    from .backbones import ENTRIES as BACKBONES
    from .backbones import SOURCES as FOLDERS

    return [
        *DATA,
        *FOLDERS,
        *TRANSFORMS,
        *LEARNERS,
        *BACKBONES,
        *FUSION,
        *TRAINING,
        *CONDITIONS,
        *METRICS,
        *EXTERNAL,
    ]
