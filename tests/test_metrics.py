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
        assert matrix[i, j] == pytest.approx(metrics.linear_cka(runs[i], runs[j]), rel=1e-6)
    rbf = metrics.rbf_cka_matrix(runs, 0.5)
    assert rbf[0, 2] == pytest.approx(metrics.rbf_cka(runs[0], runs[2], 0.5), rel=1e-6)


def test_cka_invariances(kornblith):
    x, y = kornblith
    base = metrics.linear_cka(x, y)
    rotation = ortho_group.rvs(10, random_state=0)
    assert metrics.linear_cka(x @ rotation, y) == pytest.approx(base, rel=1e-6)
    assert metrics.linear_cka(3.7 * x, y) == pytest.approx(base, rel=1e-6)
    assert metrics.linear_cka(x + 5.0, y) == pytest.approx(base, rel=1e-6)
    assert metrics.rbf_cka(x @ rotation, y) == pytest.approx(metrics.rbf_cka(x, y), rel=1e-6)
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
    # Bommasani et al. (2022), as their code defines it. err = [3/4, 1/2], E = 3/8;
    # J_a = 1 * 1/2, J_b = 1/2 * 1/2; freq_a = freq_b = 1/2, weights freq^k = 1/4 each.
    failures = np.array([[1, 1, 0, 1], [1, 0, 0, 1]], dtype=bool)
    groups = np.array(["a", "a", "b", "b"])
    result = metrics.group_homogenization(failures, groups)
    assert result["per_group"] == {"a": pytest.approx(0.5 / 0.375), "b": pytest.approx(0.25 / 0.375)}
    assert result["worst_case"] == pytest.approx(0.5 / 0.375) and result["worst_group"] == "a"
    assert result["uniform"] == pytest.approx(((0.5 + 0.25) / 2) / 0.375)
    assert result["average"] == pytest.approx((0.25 * 0.5 + 0.25 * 0.25) / (0.375 * 0.5))
    assert result["left_out"] == [] and result["reason"] is None


def test_group_homogenization_keeps_a_group_where_a_model_never_fails():
    # Model 1 never fails on group b: J_b = 0, kept (as in the authors' code), and reported.
    failures = np.array([[1, 1, 0, 1, 0], [1, 0, 0, 0, 0]], dtype=bool)
    groups = np.array([0, 0, 0, 1, 1])
    result = metrics.group_homogenization(failures, groups)
    e = 0.6 * 0.2  # err_0 = 3/5, err_1 = 1/5
    j_a, j_b = (2 / 3) * (1 / 3), 0.5 * 0.0
    w_a, w_b = 0.6**2, 0.4**2  # prod over the k = 2 models of the group's frequency
    assert result["average"] == pytest.approx((w_a * j_a + w_b * j_b) / (e * (w_a + w_b)))
    assert result["average"] == pytest.approx(0.08 / 0.0624)
    assert result["uniform"] == pytest.approx((j_a + j_b) / 2 / e)
    assert result["worst_case"] == pytest.approx(j_a / e)
    assert result["per_group"] == {"0": pytest.approx(j_a / e), "1": 0.0}
    assert result["never_fail"] == {"1": [1]}
    assert [g["group"] for g in result["groups"]] == ["0", "1"] and result["left_out"] == []


def test_group_homogenization_is_undefined_when_a_model_never_fails_at_all():
    failures = np.array([[1, 1, 0, 1], [0, 0, 0, 0]], dtype=bool)
    result = metrics.group_homogenization(failures, np.array([0, 0, 1, 1]))
    assert result["average"] is None and result["uniform"] is None and result["worst_case"] is None
    assert "[1] never fail" in result["reason"]
    assert len(result["groups"]) == 2 and result["per_group"] == {}


def test_individual_homogenization_is_group_homogenization_with_singleton_groups():
    failures = np.random.default_rng(11).random((3, 40)) < 0.5
    individual = metrics.homogenization(failures).homogenization
    grouped = metrics.group_homogenization(failures, np.arange(40))
    assert grouped["average"] == pytest.approx(individual)
    assert grouped["uniform"] == pytest.approx(individual)
    expected = np.prod(failures.mean(axis=1))
    assert grouped["worst_case"] == pytest.approx(1 / expected)  # some example fails all three


def test_group_homogenization_against_explicit_products_over_models():
    rng = np.random.default_rng(12)
    failures = rng.random((3, 200)) < 0.3
    groups = rng.integers(0, 4, 200)
    k = len(failures)
    err = [failures[i].mean() for i in range(k)]
    e = np.prod(err)
    num_avg = den_avg = 0.0
    joint = []
    for g in range(4):
        mask = groups == g
        product, weight = 1.0, 1.0
        for i in range(k):
            product *= failures[i, mask].mean()
            weight *= mask.mean()
        joint.append(product)
        num_avg += weight * product
        den_avg += weight * e
    result = metrics.group_homogenization(failures, groups)
    assert result["average"] == pytest.approx(num_avg / den_avg)
    assert result["uniform"] == pytest.approx(np.mean(joint) / e)
    assert result["worst_case"] == pytest.approx(max(joint) / e)


def test_homogenization_interval():
    rng = np.random.default_rng(13)
    hard = rng.random(400) < 0.3
    failures = np.stack([hard | (rng.random(400) < 0.1) for _ in range(3)])
    result = metrics.homogenization_interval(failures, resamples=1000, seed=1)
    h = metrics.homogenization(failures).homogenization
    assert result["h"] == h and result["log10_h"] == pytest.approx(np.log10(h))
    assert result["low"] < h < result["high"] and result["reason"] is None
    assert result["log10_low"] == pytest.approx(np.log10(result["low"]))
    assert (result["n_examples"], result["models"]) == (400, 3)
    assert result == metrics.homogenization_interval(failures, resamples=1000, seed=1)
    # The same percentile interval as resampling example indices directly (up to Monte Carlo error).
    picks = np.random.default_rng(2).integers(0, 400, (4000, 400))
    direct = [metrics.homogenization(failures[:, p]).homogenization for p in picks]
    assert result["low"] == pytest.approx(np.quantile(direct, 0.025), rel=0.03)
    assert result["high"] == pytest.approx(np.quantile(direct, 0.975), rel=0.03)


def test_homogenization_interval_undefined_cases_have_reasons():
    never = metrics.homogenization_interval(np.array([[0, 0, 0], [1, 0, 1]], dtype=bool))
    assert never["h"] is None and never["low"] is None and "never fail" in never["reason"]
    # Run 1 fails once in 10: about a third of the resamples miss that example, so H is undefined there.
    rare = np.array([[1, 1, 0, 1, 0, 1, 0, 0, 1, 0], [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]], dtype=bool)
    result = metrics.homogenization_interval(rare, resamples=500)
    assert result["h"] == pytest.approx(0.1 / (0.5 * 0.1)) and result["low"] is None
    assert result["dropped_resamples"] > 100 and "no interval" in result["reason"]
    disjoint = metrics.homogenization_interval(np.array([[1, 0, 1, 0], [0, 1, 0, 1]], dtype=bool))
    assert disjoint["h"] == 0.0 and disjoint["log10_h"] is None and "log10" in disjoint["reason"]


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
    # The t interval, not a bootstrap over 3 seeds (which would be [min, max] = [0.8, 1.0]).
    half = stats.t.ppf(0.975, 2) * 0.1 / np.sqrt(3)
    assert summary["ci95"] == pytest.approx([0.9 - half, 0.9 + half]) and summary["ci_method"] == "t"
    assert summary["ci95"][0] < 0.8 and summary["ci95"][1] > 1.0
    assert metrics.describe(np.array([0.7]))["ci95"] is None


def test_t_interval_matches_scipy():
    values = np.array([0.81, 0.84, 0.79, 0.86, 0.83])
    result = metrics.t_interval(values)
    low, high = stats.t.interval(0.95, 4, loc=values.mean(), scale=stats.sem(values))
    assert (result["low"], result["high"]) == (pytest.approx(low), pytest.approx(high))
    assert result["n"] == 5 and result["mean"] == pytest.approx(values.mean()) and result["method"] == "t"
    assert metrics.t_interval(values, level=0.9)["high"] < high
    one = metrics.t_interval(np.array([0.5]))
    assert one["low"] is None and one["high"] is None and "at least two" in one["reason"]
    assert metrics.t_interval(np.array([0.5, np.nan]))["low"] is None
    # At 5 seeds the percentile bootstrap of the mean is far narrower than the t interval.
    boot = metrics.bootstrap_interval(values)
    assert boot[1] - boot[0] < 0.75 * (high - low)


def _correctness(b: int, c: int, both_right: int, both_wrong: int) -> tuple[np.ndarray, np.ndarray]:
    a = [True] * b + [False] * c + [True] * both_right + [False] * both_wrong
    b_ = [False] * b + [True] * c + [True] * both_right + [False] * both_wrong
    return np.array(a), np.array(b_)


@pytest.mark.parametrize("b, c", [(3, 11), (0, 5), (7, 7), (0, 0), (10, 10), (2, 18), (9, 4)])
def test_paired_examples_test_with_one_seed_each_is_exact_mcnemar(b, c):
    a, b_ = _correctness(b, c, 30, 12)
    result = metrics.paired_examples_test(a[None, :], b_[None, :])
    assert result["p"] == pytest.approx(metrics.mcnemar_counts(b, c).exact_p, rel=1e-12)
    assert result["discordant"] == b + c and result["examples"] == b + c + 42
    assert result["statistic"] == pytest.approx((b - c) / (b + c + 42))
    assert result["p_method"] == "exact" and (result["seeds_a"], result["seeds_b"]) == (1, 1)


def test_paired_examples_test_monte_carlo_approximates_mcnemar():
    a, b_ = _correctness(20, 38, 100, 40)  # 58 discordant: Monte Carlo
    result = metrics.paired_examples_test(a, b_, resamples=20000, seed=5)
    exact = metrics.mcnemar_counts(20, 38).exact_p
    assert result["p_method"] == "monte carlo" and result["resamples"] == 20000
    assert result["p"] == pytest.approx(exact, abs=4 * np.sqrt(exact * (1 - exact) / 20000))
    assert result == metrics.paired_examples_test(a, b_, resamples=20000, seed=5)
    extreme = metrics.paired_examples_test(*_correctness(60, 0, 10, 10), resamples=999)
    assert extreme["p"] == pytest.approx(1 / 1000)  # (0 + 1) / (999 + 1), never 0


def test_paired_examples_test_does_not_count_duplicated_runs():
    rng = np.random.default_rng(14)
    a, b = rng.random((3, 80)) < 0.7, rng.random((2, 80)) < 0.6
    result = metrics.paired_examples_test(a, b)
    assert metrics.paired_examples_test(np.concatenate([a, a]), b)["p"] == result["p"]
    assert metrics.paired_examples_test(np.concatenate([a, a]), np.concatenate([b, b, b]))["p"] == result["p"]
    one = a[:1]
    single = metrics.paired_examples_test(one, b[:1])
    assert metrics.paired_examples_test(np.stack([one[0], one[0]]), b[:1])["p"] == single["p"]
    # The pooled McNemar over seed pairs, by contrast, halves its p when the runs are duplicated.
    counts = [int((x & ~y).sum()) for x, y in zip(a[:2], b, strict=True)]
    assert metrics.mcnemar_counts(*[2 * c for c in counts]).exact_p < metrics.mcnemar_counts(*counts).exact_p


def test_paired_examples_test_exact_against_enumeration_with_seeds():
    rng = np.random.default_rng(15)
    a, b = rng.random((3, 12)) < 0.6, rng.random((2, 12)) < 0.5
    d = a.mean(axis=0) - b.mean(axis=0)
    nonzero = d[np.abs(d) > 1e-12]
    flips = [abs(np.dot(signs, nonzero)) for signs in itertools.product([1, -1], repeat=len(nonzero))]
    expected = np.mean(np.array(flips) >= abs(d.sum()) - 1e-9)
    result = metrics.paired_examples_test(a, b)
    assert result["p"] == pytest.approx(expected) and result["statistic"] == pytest.approx(d.mean())
    assert result["statistic"] == pytest.approx(a.mean() - b.mean())
    assert result["discordant"] == len(nonzero) and "examples" in result["method"]
    with pytest.raises(ValueError, match="different examples"):
        metrics.paired_examples_test(a, b[:, :5])


def test_fold_level_test():
    a = np.array([[0.80, 0.82], [0.85, 0.83], [0.78, 0.80], [0.90, 0.88]])  # (folds, seeds)
    b = np.array([[0.79, 0.77, 0.78], [0.80, 0.82, 0.81], [0.76, 0.78, 0.77], [0.86, 0.85, 0.84]])
    result = metrics.fold_level_test(a, b)
    expected = stats.ttest_rel(a.mean(axis=1), b.mean(axis=1))
    assert result["statistic"] == pytest.approx(expected.statistic)
    assert result["p"] == pytest.approx(expected.pvalue)
    assert (result["folds"], result["seeds_a"], result["seeds_b"]) == (4, 2, 3)
    d = a.mean(axis=1) - b.mean(axis=1)
    t = d.mean() / np.sqrt((1 / 4 + 1 / 3) * d.var(ddof=1))  # Nadeau & Bengio, n_test / n_train = 1/3
    corrected = metrics.fold_level_test(a, b, test_train_ratio=1 / 3)
    assert corrected["statistic"] == pytest.approx(t) and corrected["p"] > result["p"]
    one = metrics.fold_level_test(a[:1], b[:1])
    assert one["p"] is None and "at least two folds" in one["reason"]
    same = metrics.fold_level_test(a, a)
    assert same["p"] == 1.0 and same["statistic"] == 0.0


def test_error_consistency_interval():
    rng = np.random.default_rng(16)
    difficulty = rng.random(300)
    a = rng.random((3, 300)) < difficulty
    b = rng.random((2, 300)) < difficulty
    truth = np.zeros(300, dtype=int)
    matrix = metrics.error_consistency(np.concatenate([a, b]).astype(int), truth + 1).matrix
    between = metrics.error_consistency_interval(a, b, resamples=500)
    assert between["mean"] == pytest.approx(matrix[:3, 3:].mean()) and between["pairs"] == 6
    assert between["low"] < between["mean"] < between["high"] and between["reason"] is None
    within = metrics.error_consistency_interval(a, resamples=500)
    assert within["mean"] == pytest.approx(matrix[np.triu_indices(3, 1)].mean()) and within["pairs"] == 3
    assert within == metrics.error_consistency_interval(a, resamples=500)


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
        atol=1e-6,  # the all-pairs engine multiplies in float32 (and sums in float64)
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


def test_constant_representations_are_undefined_with_a_reason_not_one():
    from homog.runtime.registry import implementation

    rng = np.random.default_rng(17)
    x, y = rng.standard_normal((50, 4)), rng.standard_normal((50, 4))
    noisy = 3.0 + 1e-9 * rng.standard_normal((50, 4))  # constant up to 1e-9 noise
    exact = np.full((50, 4), 3.0)
    assert metrics.is_constant(noisy) and metrics.is_constant(exact) and metrics.is_constant(np.zeros((5, 2)))
    assert not metrics.is_constant(x + 1e4)  # a large offset is not a constant
    layers = [x, y, noisy, exact]
    for matrix, reference in (
        (metrics.linear_cka_matrix(layers), metrics.linear_cka_matrix([x, y])),
        (metrics.debiased_linear_cka_matrix(layers), metrics.debiased_linear_cka_matrix([x, y])),
        (metrics.rbf_cka_matrix(layers), metrics.rbf_cka_matrix([x, y])),
        (metrics.procrustes_matrix(layers), metrics.procrustes_matrix([x, y])),
        (metrics.mutual_knn_matrix(layers, 5), metrics.mutual_knn_matrix([x, y], 5)),
    ):
        assert np.isnan(matrix[2:, :]).all() and np.isnan(matrix[:, 2:]).all()
        np.testing.assert_allclose(matrix[:2, :2], reference)
    with pytest.raises(ValueError, match="constant representation"):
        metrics.linear_cka(noisy, x)
    with pytest.raises(ValueError, match="constant representation"):
        metrics.mutual_knn(exact, exact, 5)
    truth = np.zeros(50, dtype=int)
    outputs = [{"truth": truth, "layer.penultimate": layer} for layer in layers]
    params = {"layer": "penultimate", "kernel": "linear", "threshold": 0.5, "k": 5}
    for name in ("cka", "procrustes", "mutual_knn"):
        result = implementation("metric", name).matrix(outputs, params)
        assert np.isnan(result.matrix[2, 3]) and np.isnan(result.matrix[3, 3]), name
        assert len(result.undefined) == 1 and "run(s) [2, 3]" in result.undefined[0], name
        assert "constant representation" in result.undefined[0], name
    clean = implementation("metric", "cka").matrix(outputs[:2], params)
    assert clean.undefined == [] and np.isfinite(clean.matrix).all()
