"""Metrics against hand-computed cases, reference implementations and published values."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import squareform
from scipy.stats import ortho_group
from sklearn.metrics import cohen_kappa_score

from homog.runtime import metrics


@pytest.fixture
def kornblith():
    # The published check from Kornblith's notebook (representation_similarity/Demo.ipynb).
    np.random.seed(1337)
    x = np.random.randn(100, 10)
    y = np.random.randn(100, 10) + x
    return x, y


def test_cka_matches_the_published_values(kornblith):
    x, y = kornblith
    assert round(metrics.linear_cka(x, y), 5) == 0.55761
    assert round(metrics.rbf_cka(x, y, threshold=0.5), 5) == 0.65483
    assert round(metrics.debiased_linear_cka(x, y), 5) == 0.51346


def _hsic_cka(x, y):
    """The Gram-matrix (HSIC) form: <HKH, HLH> / (||HKH|| ||HLH||), K = XX^T."""
    n = len(x)
    h = np.eye(n) - 1 / n
    k, l_ = h @ x @ x.T @ h, h @ y @ y.T @ h
    return np.sum(k * l_) / (np.linalg.norm(k) * np.linalg.norm(l_))


def test_linear_cka_feature_form_equals_the_gram_form(kornblith):
    x, y = kornblith
    assert metrics.linear_cka(x, y) == pytest.approx(_hsic_cka(x, y), rel=1e-12)
    z = np.random.default_rng(0).standard_normal((100, 4))  # a different width
    assert metrics.linear_cka(x, z) == pytest.approx(_hsic_cka(x, z), rel=1e-12)


def test_all_pairs_cka_equals_per_pair():
    rng = np.random.default_rng(1)
    runs = [rng.standard_normal((60, p)) + i for i, p in enumerate([5, 8, 5, 3])]
    matrix = metrics.linear_cka_matrix(runs)
    for i, j in itertools.product(range(4), repeat=2):
        assert matrix[i, j] == pytest.approx(metrics.linear_cka(runs[i], runs[j]), rel=1e-10)
    rbf = metrics.rbf_cka_matrix(runs, 0.5)
    assert rbf[0, 2] == pytest.approx(metrics.rbf_cka(runs[0], runs[2], 0.5), rel=1e-10)


def test_cka_invariances(kornblith):
    x, y = kornblith
    base = metrics.linear_cka(x, y)
    rotation = ortho_group.rvs(10, random_state=0)
    assert metrics.linear_cka(x @ rotation, y) == pytest.approx(base, rel=1e-10)
    assert metrics.linear_cka(3.7 * x, y) == pytest.approx(base, rel=1e-10)
    assert metrics.linear_cka(x + 5.0, y) == pytest.approx(base, rel=1e-10)
    assert metrics.rbf_cka(x @ rotation, y) == pytest.approx(metrics.rbf_cka(x, y), rel=1e-10)
    general = np.random.default_rng(2).standard_normal((10, 10)) * np.linspace(0.1, 10, 10)
    assert abs(metrics.linear_cka(x @ general, y) - base) > 1e-3


def test_symmetric_measures_are_symmetric(kornblith):
    x, y = kornblith
    for function in (
        metrics.linear_cka,
        metrics.rbf_cka,
        metrics.debiased_linear_cka,
        metrics.procrustes_angle,
        metrics.mutual_knn,
    ):
        assert function(x, y) == pytest.approx(function(y, x), rel=1e-12)
    predictions = np.random.default_rng(3).integers(0, 3, (5, 40))
    truth = np.random.default_rng(4).integers(0, 3, 40)
    for result in (
        metrics.agreement(predictions),
        metrics.cohen_kappa(predictions, 3),
        metrics.error_consistency(predictions, truth),
        metrics.agreement_when_wrong(predictions, truth),
    ):
        np.testing.assert_allclose(result.matrix, result.matrix.T)


def test_procrustes_distance_to_a_rotated_shifted_copy_is_zero(kornblith):
    x, _ = kornblith
    rotation = ortho_group.rvs(10, random_state=5)
    assert metrics.procrustes_angle(x, x @ rotation + 2.0) == pytest.approx(0.0, abs=1e-6)
    assert metrics.procrustes_angle(x, np.random.default_rng(6).standard_normal((100, 10))) > 0.5


def test_identical_inputs_and_edge_cases(kornblith):
    x, _ = kornblith
    assert metrics.linear_cka(x, x) == pytest.approx(1.0)
    assert metrics.debiased_linear_cka(x, x) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least 4 examples"):
        metrics.debiased_linear_cka(x[:3], x[:3])
    with pytest.raises(ValueError, match="constant representation"):
        metrics.linear_cka(np.ones((10, 3)), x[:10])
    with pytest.raises(ValueError, match="constant representation"):
        metrics.rbf_cka(np.ones((10, 3)), x[:10])


def test_mutual_knn_against_a_direct_count():
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((30, 4)), rng.standard_normal((30, 4))
    k = 5

    def neighbours(z):
        unit = z / np.linalg.norm(z, axis=1, keepdims=True)
        out = []
        for i in range(len(z)):
            similarity = {j: unit[i] @ unit[j] for j in range(len(z)) if j != i}
            out.append(set(sorted(similarity, key=lambda j: -similarity[j])[:k]))
        return out

    expected = np.mean([len(a & b) / k for a, b in zip(neighbours(x), neighbours(y), strict=True)])
    assert metrics.mutual_knn(x, y, k) == pytest.approx(expected)
    assert metrics.mutual_knn(x, x, k) == 1.0
    assert metrics.mutual_knn_matrix([x, y], k)[0, 1] == pytest.approx(expected)


def test_agreement_kappa_and_error_consistency_by_hand():
    truth = np.array([0, 0, 1, 1, 2, 2])
    a = np.array([0, 0, 1, 2, 2, 1])  # correct on 0, 1, 2, 4
    b = np.array([0, 1, 1, 2, 2, 2])  # correct on 0, 2, 4, 5
    p = np.stack([a, b])
    assert metrics.agreement(p).matrix[0, 1] == pytest.approx(4 / 6)
    assert metrics.cohen_kappa(p, 3).matrix[0, 1] == pytest.approx(cohen_kappa_score(a, b))
    # Error consistency: c_obs = 4/6 (both right on 0, 2, 4; both wrong on 3), p_a = p_b = 4/6.
    c_exp = (4 / 6) ** 2 + (2 / 6) ** 2
    expected = (4 / 6 - c_exp) / (1 - c_exp)
    assert expected == pytest.approx(0.25)
    assert metrics.error_consistency(p, truth).matrix[0, 1] == pytest.approx(expected)
    # ... which is Cohen's kappa on the correctness vectors.
    assert expected == pytest.approx(cohen_kappa_score(a == truth, b == truth))
    # Both wrong on example 3 only, with the same label 2.
    assert metrics.agreement_when_wrong(p, truth).matrix[0, 1] == 1.0


def test_undefined_pairs_are_flagged_not_silent():
    truth = np.array([0, 1, 0, 1])
    perfect = np.stack([truth, truth])
    result = metrics.error_consistency(perfect, truth)
    assert np.isnan(result.matrix[0, 1]) and result.undefined
    never_both_wrong = metrics.agreement_when_wrong(np.stack([truth, 1 - truth]), truth)
    assert (
        np.isnan(never_both_wrong.matrix[0, 1])
        and "no example both get wrong" in never_both_wrong.undefined[0]
    )


def test_homogenization_by_hand():
    failures = np.array([[1, 1, 0, 0], [1, 0, 1, 0]], dtype=bool)
    result = metrics.homogenization(failures)
    assert result.systemic_failure_rate == 0.25
    assert result.homogenization == pytest.approx(0.25 / (0.5 * 0.5))
    assert result.failure_counts == [1, 2, 1]
    np.testing.assert_allclose(result.independent_baseline, [1.0, 2.0, 1.0])


def test_homogenization_is_undefined_when_a_model_never_fails():
    result = metrics.homogenization(np.array([[0, 0, 0], [1, 0, 1]], dtype=bool))
    assert result.homogenization is None and "never fail" in result.reason


def test_poisson_binomial_against_enumeration():
    p = np.array([0.1, 0.5, 0.7])
    expected = np.zeros(4)
    for outcome in itertools.product([0, 1], repeat=3):
        expected[sum(outcome)] += np.prod([pi if o else 1 - pi for pi, o in zip(p, outcome, strict=True)])
    np.testing.assert_allclose(metrics.poisson_binomial(p), expected)


def test_group_homogenization():
    failures = np.array([[1, 1, 0, 1], [1, 0, 0, 1]], dtype=bool)
    groups = np.array(["a", "a", "b", "b"])
    result = metrics.group_homogenization(failures, groups)
    assert result["per_group"] == {"a": pytest.approx(0.5 / (1.0 * 0.5)), "b": pytest.approx(0.5 / 0.25)}
    assert result["worst_case"] == pytest.approx(2.0)
    assert result["uniform"] == pytest.approx(1.5)


def test_mcnemar_against_its_definition_and_scipy():
    result = metrics.mcnemar_counts(3, 11)
    assert result.exact_p == pytest.approx(stats.binomtest(3, 14, 0.5).pvalue)
    assert result.chi2 == pytest.approx((abs(3 - 11) - 1) ** 2 / 14)
    assert result.chi2_p == pytest.approx(stats.chi2.sf(result.chi2, 1))
    assert metrics.mcnemar_counts(0, 0).exact_p == 1.0
    a = np.array([1, 1, 0, 0, 1], dtype=bool)
    b = np.array([1, 0, 1, 1, 1], dtype=bool)
    assert (metrics.mcnemar(a, b).b, metrics.mcnemar(a, b).c) == (1, 2)


def test_t_tests_and_wilcoxon_match_scipy():
    a, b = np.array([0.91, 0.93, 0.92, 0.95, 0.94]), np.array([0.90, 0.90, 0.91, 0.92, 0.93])
    assert metrics.ttest(a, b, paired=True)["p"] == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert metrics.ttest(a, b, paired=False)["p"] == pytest.approx(
        stats.ttest_ind(a, b, equal_var=False).pvalue
    )
    assert metrics.wilcoxon(a, b)["p"] == pytest.approx(stats.wilcoxon(a - b).pvalue)
    assert metrics.wilcoxon(a, a)["p"] == 1.0


def test_holm_by_hand():
    assert metrics.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert metrics.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_spread_and_summary():
    assert metrics.spread(np.array([0.8, 0.9, 1.0])) == (pytest.approx(0.25), None)
    sigma, reason = metrics.spread(np.array([0.0, 0.5]))
    assert sigma is None and "smallest score is 0" in reason
    sigma, reason = metrics.spread(np.array([0.7]))
    assert sigma is None and "at least two runs" in reason
    summary = metrics.describe(np.array([0.8, 0.9, 1.0]), seed=3)
    assert summary["mean"] == pytest.approx(0.9) and summary["std"] == pytest.approx(0.1)
    assert summary["ci95"] == metrics.describe(np.array([0.8, 0.9, 1.0]), seed=3)["ci95"]
    assert 0.8 <= summary["ci95"][0] <= summary["ci95"][1] <= 1.0


def test_hierarchical_clustering_matches_scipy():
    similarity = np.array([[1.0, 0.9, 0.1], [0.9, 1.0, 0.2], [0.1, 0.2, 1.0]])
    result = metrics.hierarchical(similarity, ["a", "b", "c"], "average")
    expected = linkage(squareform(1 - similarity, checks=False), method="average")
    np.testing.assert_allclose(result["linkage"], expected)
    assert sorted(result["leaves"]) == ["a", "b", "c"]


def test_kmeans_chooses_k_by_silhouette():
    vectors = np.array([[0, 0], [0, 0.1], [0.1, 0], [5, 5], [5, 5.1], [5.1, 5]])
    result = metrics.kmeans(vectors, "auto")
    assert result["k"] == 2
    assert len(set(result["assignment"][:3])) == 1 and result["assignment"][0] != result["assignment"][3]


def test_task_scores_match_scikit_learn():
    from sklearn.metrics import f1_score, log_loss, roc_auc_score

    rng = np.random.default_rng(8)
    probabilities = rng.dirichlet(np.ones(3), size=50)
    truth = rng.integers(0, 3, 50)
    labels = probabilities.argmax(axis=1)
    assert metrics.score("accuracy", {}, truth, probabilities) == pytest.approx((labels == truth).mean())
    assert metrics.score("f1", {"average": "weighted"}, truth, probabilities) == pytest.approx(
        f1_score(truth, labels, average="weighted")
    )
    assert metrics.score("roc_auc", {"average": "macro"}, truth, probabilities) == pytest.approx(
        roc_auc_score(truth, probabilities, multi_class="ovr")
    )
    assert metrics.score("log_loss", {}, truth, probabilities) == pytest.approx(
        log_loss(truth, probabilities)
    )


def test_chi_square_on_a_contingency_table():
    table = np.array([[10, 20], [30, 15]])
    result = metrics.chi_square(table)
    expected = stats.chi2_contingency(table)
    assert result == {
        "statistic": pytest.approx(expected.statistic),
        "p": pytest.approx(expected.pvalue),
        "dof": 1,
    }
    # By hand, without Yates' correction on a table whose rows and columns are independent: 0.
    assert metrics.chi_square(np.array([[10, 20], [20, 40]]))["statistic"] == pytest.approx(0.0)


def test_batched_matrices_equal_the_per_pair_functions():
    rng = np.random.default_rng(9)
    runs = [rng.standard_normal((40, p)) + rng.standard_normal((1, p)) for p in (6, 6, 4)]
    np.testing.assert_allclose(
        metrics.debiased_linear_cka_matrix(runs),
        metrics.pairwise(runs, metrics.debiased_linear_cka),
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        metrics.procrustes_matrix(runs), metrics.pairwise(runs, metrics.procrustes_angle), atol=1e-7
    )


def test_every_catalog_metric_has_a_registered_implementation():
    import homog.runtime.evaluation  # noqa: F401  (registers the scopes' evaluations)
    from homog.compiler.catalog import METRICS
    from homog.runtime.registry import implementation

    for entry in METRICS:
        found = implementation("metric", entry.name)
        if entry.scope == "run":
            assert isinstance(found, metrics.Score), entry.name
        elif entry.scope == "pairwise":
            assert isinstance(found, metrics.Pairwise), entry.name
            assert found.phrase.format(value=0.5), entry.name
        else:
            assert callable(found), entry.name


def test_registered_pairwise_matrices_are_the_formulas():
    from homog.runtime.registry import implementation

    rng = np.random.default_rng(3)
    truth = rng.integers(0, 3, 30)
    layers = [rng.normal(size=(30, 4)) for _ in range(3)]
    probabilities = [np.exp(x[:, :3]) / np.exp(x[:, :3]).sum(axis=1, keepdims=True) for x in layers]
    outputs = [
        {"probabilities": p, "labels": p.argmax(axis=1), "truth": truth, "layer.penultimate": x}
        for p, x in zip(probabilities, layers, strict=True)
    ]
    labels = np.stack([o["labels"] for o in outputs])
    expected = {
        "agreement": metrics.agreement(labels).matrix,
        "cohen_kappa": metrics.cohen_kappa(labels, 3).matrix,
        "error_consistency": metrics.error_consistency(labels, truth).matrix,
        "agreement_when_wrong": metrics.agreement_when_wrong(labels, truth).matrix,
        "cka": metrics.linear_cka_matrix(layers),
        "procrustes": metrics.procrustes_matrix(layers),
        "mutual_knn": metrics.mutual_knn_matrix(layers, 5),
    }
    params = {"layer": "penultimate", "kernel": "linear", "threshold": 0.5, "k": 5}
    for name, matrix in expected.items():
        found = implementation("metric", name).matrix(outputs, params).matrix
        assert np.allclose(found, matrix, equal_nan=True), name
    rbf = implementation("metric", "cka").matrix(outputs, {**params, "kernel": "rbf"}).matrix
    assert np.allclose(rbf, metrics.rbf_cka_matrix(layers, 0.5))
