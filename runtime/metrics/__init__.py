"""homog.runtime.metrics: the metrics of a homogenization study, on numpy arrays.

Usable from a notebook without a spec::

    from homog.runtime import metrics
    metrics.linear_cka(x, y)
    metrics.error_consistency(predictions, truth).matrix
    metrics.homogenization(failures).homogenization
    metrics.cka_matrix(every_layer_of_every_run, "debiased")     # all pairs, bounded memory
    metrics.permutation_null(layers_of_a, layers_of_b, "mutual_knn", k=10).best_p
"""

from . import layerwise
from .agreement import (
    Pairwise,
    PairwiseResult,
    agreement,
    agreement_when_wrong,
    cohen_kappa,
    error_consistency,
)
from .cluster import hierarchical, kmeans
from .inference import error_consistency_interval, fold_level_test, paired_examples_test
from .layerwise import cka_matrix, correspondence, neighbours, permutation_null
from .population import (
    Homogenization,
    group_homogenization,
    homogenization,
    homogenization_interval,
    poisson_binomial,
)
from .similarity import (
    CONSTANT_RTOL,
    constant_runs,
    debiased_linear_cka,
    debiased_linear_cka_matrix,
    is_constant,
    linear_cka,
    linear_cka_matrix,
    mutual_knn,
    mutual_knn_matrix,
    pairwise,
    procrustes_angle,
    procrustes_matrix,
    rbf_cka,
    rbf_cka_matrix,
)
from .stats import McNemar, chi_square, holm, mcnemar, mcnemar_counts, ttest, wilcoxon
from .summary import bootstrap_interval, describe, spread, t_interval
from .task import SCORES, Score, score

__all__ = [
    "CONSTANT_RTOL",
    "SCORES",
    "Homogenization",
    "McNemar",
    "Pairwise",
    "PairwiseResult",
    "Score",
    "agreement",
    "agreement_when_wrong",
    "bootstrap_interval",
    "chi_square",
    "cka_matrix",
    "cohen_kappa",
    "constant_runs",
    "correspondence",
    "debiased_linear_cka",
    "debiased_linear_cka_matrix",
    "describe",
    "error_consistency",
    "error_consistency_interval",
    "fold_level_test",
    "group_homogenization",
    "hierarchical",
    "holm",
    "homogenization",
    "homogenization_interval",
    "is_constant",
    "kmeans",
    "layerwise",
    "linear_cka",
    "linear_cka_matrix",
    "mcnemar",
    "mcnemar_counts",
    "mutual_knn",
    "mutual_knn_matrix",
    "neighbours",
    "paired_examples_test",
    "pairwise",
    "permutation_null",
    "poisson_binomial",
    "procrustes_angle",
    "procrustes_matrix",
    "rbf_cka",
    "rbf_cka_matrix",
    "score",
    "spread",
    "t_interval",
    "ttest",
    "wilcoxon",
]
