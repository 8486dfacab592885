"""The experiment IR: fully resolved, every default filled in, no syntax left.

Lists are sorted by name, so the order of declarations in a spec changes
nothing; `canonical_json` is the one serialisation used for display and hashing.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_serializer

from .hashing import canonical_json


class IR(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CallIR(IR):
    """A registry entry with all of its parameters."""

    name: str
    params: dict[str, Any]


class ExperimentInfo(IR):
    name: str
    description: str
    seed: int
    device: str
    tags: list[str]


class DatasetIR(IR):
    name: str
    source: CallIR
    split: CallIR


class ModalityIR(IR):
    name: str
    dataset: str
    field: str
    type: Literal["image", "sequence", "vector", "text"]
    transforms: list[CallIR]
    augment: list[CallIR]
    shape: list[int] | None  # of one example after the transforms; None when only the data can tell


class TrainingIR(IR):
    epochs: int
    batch_size: int
    optimizer: CallIR
    schedule: CallIR
    early_stopping: CallIR | None
    gradient_clip: float | None
    mixed_precision: bool


class LearnerIR(IR):
    name: str
    kind: Literal["model", "fusion"]
    backend: Literal["torch", "sklearn", "late"]
    inputs: list[str]  # modalities, or learners for late fusion, in the order written
    arch: CallIR | None  # models
    strategy: CallIR | None  # fusions
    encoder: CallIR | None
    head: CallIR | None
    training: TrainingIR | None  # torch learners only
    representations: list[str]
    # Whether a fit uses the seed. False for a deterministic estimator (logistic regression, k-NN)
    # and a late fusion of such learners: on all the training data (data_fraction = 1) their fits
    # are one fit for every seed, "deterministic: the seed has no effect".
    seeded: bool = True
    # A model whose trained weights, at the same sweep point, initialise this one (`init = NAME`):
    # pretrained on its data, adapted on this one's. Left out of the serialised form when None, so
    # that learners without it keep their ids.
    init: str | None = None

    @model_serializer(mode="wrap")
    def _without_unset_init(self, handler):
        data = handler(self)
        if isinstance(data, dict) and data.get("init") is None:
            data.pop("init", None)
        return data


class ConditionIR(IR):
    name: str
    shifts: dict[str, CallIR]  # modality -> the shift applied at test time
    dataset: str | None = None  # test on every example of this dataset instead (a domain shift)
    # The learners evaluated under it: those the spec names (`learners = [...]`), or every learner.
    learners: list[str] = []
    # Those of `learners` whose test examples it changes: a modality they read is shifted, or it is a
    # domain shift. The others are evaluated on clean data under its name ("not shifted").
    shifted: list[str] = []


class MetricIR(IR):
    label: str  # as written, e.g. "spread(accuracy)"
    name: str
    scope: str
    params: dict[str, Any]
    learners: list[str]  # the learners that take part
    uses: dict[str, str] = {}  # parameter -> the label of the metric it builds on (cluster's `by`)
    implied: bool = False  # not in the spec: measured because another metric builds on it


class PointIR(IR):
    seed: int
    width: float
    data_fraction: float
    fold: int = 0  # which fold of a k-fold split; 0 for a holdout
    lr: float | None = None  # the optimizer's, when swept
    epochs: int | None = None  # the training block's, when swept
    depth: int | None = None  # the architecture's, when swept


class FitIR(IR):
    """One learner trained at one sweep point: the learner as trained (the point's width, depth,
    learning rate and epochs applied), with the point it belongs to."""

    learner: LearnerIR
    point: PointIR
    index: int  # of the point in the sweep


class FitParams(IR):
    """A fit node's parameters: the learner as trained, and what else decides the fit."""

    learner: LearnerIR
    augment: dict[str, list[CallIR]]  # modality -> its training-time augmentations
    seed: int
    fold: int
    data_fraction: float
    # A digest of the seeds that train together as one vectorised group ("": the fit trains alone).
    # A replica's bits depend on the replicas it is stacked with (the batched kernels' blocking), so
    # the group is part of the fit's id: a result depends only on its node id. The group's fits are
    # one task, and it always trains whole.
    group: str = ""


def trains_together(learner: LearnerIR) -> bool:
    """Whether fits that differ only in seed train as one vectorised group of replicas: every torch
    network does (MLPs as batched matrix products, any other architecture or fusion under
    `torch.func.vmap`); a scikit-learn estimator trains one seed at a time."""
    return learner.backend == "torch"


# The axes of a sweep point, in the order names show them.
POINT_AXES = ("seed", "width", "data_fraction", "lr", "epochs", "depth", "fold")


def point_label(point: dict[str, Any], axes: list[str]) -> str:
    """`seed=1 width=2`: a point's values on `axes`, as node and run names show them."""
    return " ".join(f"{'data' if axis == 'data_fraction' else axis}={point[axis]:g}" for axis in axes)


class ExternalIR(IR):
    """Other people's models, through their outputs: a source read at run time (one run per model),
    optionally a table of the models' attributes and a folder of their embeddings."""

    name: str
    source: CallIR
    attributes: str | None = None
    embeddings: str | None = None
    dataset: str | None = None  # the spec's dataset the answers are joined to
    id: str | None = None  # that dataset's field of example ids; None: the row


class ReportIR(IR):
    path: str
    title: str


class ExperimentIR(IR):
    experiment: ExperimentInfo
    datasets: list[DatasetIR]
    modalities: list[ModalityIR]
    learners: list[LearnerIR]
    conditions: list[ConditionIR]  # "clean" first, then by name
    metrics: list[MetricIR]
    sweep: list[PointIR]
    fits: list[FitIR]  # every learner (but late fusions) at every point, in the learners' order
    report: ReportIR
    externals: list[ExternalIR] = []  # external runs, by name

    def canonical_json(self) -> str:
        return canonical_json(self.model_dump(mode="json"))
