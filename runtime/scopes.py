"""What each metric scope writes into `results.json` (one model per scope, told apart by `scope`);
`runtime/report/RESULTS.md` documents them, with each quantity's population and unit."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from .schema import Interval, Model, Number, Point, RunRow, ScoreRow, Stats


class ConditionStats(Stats):
    condition: str


class Summary(ConditionStats):
    learner: str


class AxisSummary(Summary):
    axis: str
    value: float | None


class MetricBase(Model):
    metric: str  # the registry name
    label: str  # as written in the spec, and the key in `Results.metrics`


class RunScores(MetricBase):
    scope: Literal["run"]
    per_run: list[ScoreRow]
    summary: list[Summary] | None = None  # scalar scores only
    by_axis: list[AxisSummary] | None = None


class Spread(MetricBase):
    scope: Literal["across"]
    of: str  # the label of the score metric it is the spread of
    per_learner: list[Summary]
    all_runs: list[ConditionStats]


class Block(Interval):
    """Learner a's run against learner b's run at each shared sweep point: n points."""

    a: str
    b: str
    undefined: int = 0  # points where the value is undefined (left out of n)


class AxisBlock(Block):
    """Between learners (a != b) or seed to seed (a == b) at one value of a swept axis."""

    axis: str
    value: float | None


class PooledBlock(Block):
    """Across folds: each fold's between-learner mean is one unit (n folds)."""

    dataset: str
    condition: str


class Within(Model):
    """A learner's distinct runs compared with each other (seed-to-seed replication)."""

    learner: str
    runs: int  # distinct runs (fits)
    configurations: int  # distinct settings of the axes other than the seed
    seeds: int
    pairs: int  # pairs of runs that differ only in the seed
    mean: Number
    ci95: list[float] | None
    independent_pairs: int  # pairs that share no run
    method: str | None = None  # how the interval was computed
    note: str | None = None


class LayerNull(Model):
    """The permutation null of one pair of runs' layer x layer similarity (run b's examples shuffled)."""

    runs: list[str]  # the two runs' predict nodes
    permutations: int
    null_mean: list[list[float | None]]
    calibrated: list[list[float | None]]  # (s - E0 s) / (1 - E0 s); for a distance (E0 d - d) / E0 d
    p: list[list[float | None]]  # one-sided, (1 + #null at least as similar) / (1 + permutations)
    best: list[int]  # the best layer pair (row, column)
    best_value: float | None
    best_null_mean: float | None  # E0 of the best over all layer pairs
    best_calibrated: float | None
    best_p: float | None  # against the null of the best over all layer pairs
    undefined: list[str] = Field(default_factory=list)


class LayerBlock(Model):
    """Learner a against learner b (a with itself: seed to seed), layer by layer."""

    a: str
    b: str
    layers_a: list[str]
    layers_b: list[str]
    pairs: int  # pairs of runs averaged
    matrix: list[list[float | None]]
    correspondence: list[int | None]  # for each layer of a, its most similar layer of b
    correspondence_values: list[float | None]
    null: LayerNull | None = None


class LayerSimilarity(Model):
    examples: int  # the fixed subsample of test examples compared
    storage: str
    blocks: list[LayerBlock]
    prediction_link: dict | None = None  # ReSi tests 1 and 2: rank correlations across pairs of runs


class PairwiseEntry(Model):
    dataset: str
    condition: str
    fold: int
    runs: list[RunRow]  # the matrix's rows and columns, in order
    matrix: list[list[float | None]]
    undefined: list[str]  # why entries are None
    between_learners: list[Block]
    within_learners: list[Within]
    by_axis: list[AxisBlock] = Field(default_factory=list)
    layers: LayerSimilarity | None = None  # layer by layer (`layers = ...`)
    # Populations with external runs (runtime/evaluation/external.py):
    top_pairs: list[dict[str, Any]] | None = None  # the most similar pairs of runs
    attribute_effects: list[dict[str, Any]] | None = None  # similarity against shared attributes
    chance: dict[str, Any] | None = None  # a chance level the metric states (agreement when wrong)


class Pairwise(MetricBase):
    scope: Literal["pairwise"]
    per_condition: list[PairwiseEntry]  # one per population: dataset, condition, fold
    pooled: list[PooledBlock] = Field(default_factory=list)
    # Learners whose seed changes nothing: one run, not replicas.
    deterministic: list[str] = Field(default_factory=list)


class Homogenization(Model):
    """Systemic failure of a population of runs on the same test examples (Bommasani et al. 2022)."""

    runs: int
    systemic_failure_rate: float
    error_rates: list[float]
    homogenization: Number  # H: observed systemic failure rate / the rate under independence
    log10_h: Number
    ci95: list[float] | None  # of H, percentile bootstrap over examples
    reason: str | None
    failure_counts: list[int]
    independent_baseline: list[float]


class PointHomogenization(Homogenization):
    """One run per learner at one sweep point."""

    point: Point
    shown: str
    learners: list[str]
    groups: dict[str, Any] | None = None  # H_avg, H_unif, H_worst (the authors' definitions)


class LearnerHomogenization(Homogenization):
    """One learner's distinct runs (seeds)."""

    learner: str


class LogHSummary(Interval):
    undefined_at: list[str]


class AxisLogH(LogHSummary):
    axis: str
    value: float | None


class PopulationEntry(Model):
    dataset: str
    condition: str
    fold: int
    across_learners: list[PointHomogenization]
    across_learners_summary: LogHSummary  # log10 H over the sweep points
    by_axis: list[AxisLogH] = Field(default_factory=list)
    within_learners: list[LearnerHomogenization]


class PooledLogH(Interval):
    """Across folds: each fold's mean log10 H across learners is one unit (n folds)."""

    dataset: str
    condition: str


class Population(MetricBase):
    scope: Literal["population"]
    per_condition: list[PopulationEntry]
    pooled: list[PooledLogH] = Field(default_factory=list)


class McNemarTest(Model):
    condition: str
    point: Point
    shown: str  # how the report names the point
    b: int  # a right, b wrong
    c: int  # a wrong, b right
    exact_p: float
    chi2: Number
    chi2_p: float
    p_holm: float


class CombinedTest(Model):
    """a against b over examples, each example's correctness averaged over seeds first."""

    condition: str
    statistic: Number  # mean difference in accuracy, a - b
    accuracy_a: Number
    accuracy_b: Number
    p: float
    p_method: str  # exact (enumerated sign flips) or monte carlo
    resamples: int | None
    examples: int
    discordant: int
    seeds_a: int
    seeds_b: int
    method: str
    p_holm: float | None


class ScoreTest(Model):
    condition: str
    of: str  # the label of the score metric compared
    unit: str  # folds, or runs at shared sweep points on one test set
    a_scores: list[float | None]
    b_scores: list[float | None]
    statistic: Number
    p: Number
    p_holm: Number


class Significance(MetricBase):
    scope: Literal["test"]
    a: str
    b: str
    tests: list[McNemarTest] | list[ScoreTest]
    combined: list[CombinedTest] = Field(default_factory=list)  # McNemar only


class Cluster(MetricBase):
    scope: Literal["cluster"]
    by: str  # the label of the pairwise metric whose matrix is clustered
    items: list[str]
    matrix: list[list[float]]
    notes: list[str]
    method: str | None = None  # hierarchical
    linkage: list[list[float]] | None = None
    leaves: list[str] | None = None
    icoord: list[list[float]] | None = None
    dcoord: list[list[float]] | None = None
    k: int | None = None  # k-means
    assignment: list[int] | None = None
    silhouette: Number = None


MetricResult = Annotated[
    RunScores | Spread | Pairwise | Population | Significance | Cluster, Field(discriminator="scope")
]
METRIC_RESULT: TypeAdapter[Any] = TypeAdapter(MetricResult)
