"""The layer-by-layer similarity engine: forms that must agree, invariances, nulls whose truth is known."""

from __future__ import annotations

import numpy as np
import pytest

from homog.runtime import metrics
from homog.runtime.metrics import layerwise


def _run(rng: np.random.Generator, n: int, latent: np.ndarray | None = None, layers=(8, 20, 5)) -> list:
    """A run's layers: random linear maps (with noise) of a shared latent, so runs are related."""
    z = latent if latent is not None else rng.standard_normal((n, 6))
    out, h = [], z
    for width in layers:
        h = np.tanh(h @ rng.standard_normal((h.shape[1], width))) + 0.3 * rng.standard_normal((n, width))
        out.append(h + 2.0)
    return out


def _orthogonal(rng: np.random.Generator, p: int) -> np.ndarray:
    q, _ = np.linalg.qr(rng.standard_normal((p, p)))
    return q


@pytest.mark.parametrize("kernel", ["linear", "debiased", "rbf"])
def test_every_form_equals_the_per_pair_formula(kernel):
    rng = np.random.default_rng(0)
    reps = _run(rng, 120)
    per_pair = {"linear": metrics.linear_cka, "debiased": metrics.debiased_linear_cka, "rbf": metrics.rbf_cka}
    expected = metrics.pairwise(reps, per_pair[kernel])
    forms = ["sample"] if kernel == "rbf" else ["sample", "feature"]
    for form in forms:
        np.testing.assert_allclose(layerwise.cka_matrix(reps, kernel, form=form), expected, atol=1e-6)
    # A memory budget of a few rows computes the sample form in many blocks: the same values.
    chunked = layerwise.cka_matrix(reps, kernel, form="sample", memory=4 * 3 * 120 * 5)
    assert layerwise.plan([x.shape for x in reps], kernel, memory=4 * 3 * 120 * 5, form="sample").block < 120
    np.testing.assert_allclose(chunked, expected, atol=1e-6)


def test_the_form_is_chosen_by_shape():
    assert layerwise.plan([(1024, 768)] * 78).form == "sample"  # p ~ n, many runs: Grams are cheaper
    assert layerwise.plan([(5000, 16)] * 10).form == "feature"  # few features: cross-covariances
    assert layerwise.plan([(1000, 8)] * 3, kernel="rbf").form == "sample"  # a kernel needs its Gram


def test_minibatch_cka_converges_to_full_batch_unbiased_cka():
    rng = np.random.default_rng(1)
    maps = rng.standard_normal((4, 30)), rng.standard_normal((4, 20))
    gaps = {}
    for n in (12800,):  # 64 minibatches of 200
        found = []
        for _ in range(3):
            z = rng.standard_normal((n, 4))
            x = z @ maps[0] + 3 * rng.standard_normal((n, 30))
            y = np.tanh(z @ maps[1]) + 3 * rng.standard_normal((n, 20))
            full = layerwise.cka_matrix([x, y], "debiased")[0, 1]
            batched = layerwise.cka_matrix([x, y], "debiased", minibatch=200)[0, 1]
            found.append(abs(batched - full))
        gaps[n] = np.mean(found)
    assert gaps[12800] < 0.001  # (a CKA of ~0.06 here)


def test_minibatch_cka_is_the_mean_of_each_minibatch_unbiased_hsic():
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((300, 5)), rng.standard_normal((300, 7))
    y[:, 0] += x[:, 0]
    hsic = [np.zeros(3)]
    for start in (0, 100, 200):
        a, b = x[start : start + 100], y[start : start + 100]
        hsic.append([_u_hsic(a, b), _u_hsic(a, a), _u_hsic(b, b)])
    cross, xx, yy = np.sum(hsic, axis=0)
    found = layerwise.cka_matrix([x, y], "debiased", minibatch=100)[0, 1]
    assert found == pytest.approx(cross / np.sqrt(xx * yy), abs=1e-6)


def _u_hsic(x: np.ndarray, y: np.ndarray) -> float:
    """Song et al. (2012)'s unbiased HSIC, written from the paper's formula with Gram matrices."""
    n = len(x)
    k, l_ = x @ x.T, y @ y.T
    np.fill_diagonal(k, 0)
    np.fill_diagonal(l_, 0)
    one = np.ones(n)
    return float(
        (
            np.trace(k @ l_)
            + one @ k @ one * (one @ l_ @ one) / ((n - 1) * (n - 2))
            - 2 / (n - 2) * one @ k @ l_ @ one
        )
        / (n * (n - 3))
    )


def test_invariances_hold_layer_by_layer():
    rng = np.random.default_rng(2)
    latent = rng.standard_normal((150, 6))
    a, b = _run(rng, 150, latent), _run(rng, 150, latent)
    # Each layer of b through its own orthogonal map and isotropic scaling.
    moved = [3.5 * (x @ _orthogonal(rng, x.shape[1])) for x in b]
    for kernel in ("linear", "debiased", "rbf"):
        before = layerwise.cka_matrix(a + b, kernel)[:3, 3:]
        after = layerwise.cka_matrix(a + moved, kernel)[:3, 3:]
        np.testing.assert_allclose(after, before, atol=1e-5)
    # Cosine neighbours survive orthogonal maps and scaling of centred-free data only up to the
    # offset; k-NN is compared on the maps of the raw layer (no offset added).
    raw = [x - 2.0 for x in b]
    knn_before = layerwise.mutual_knn_matrix(a + raw, 5)[:3, 3:]
    knn_after = layerwise.mutual_knn_matrix(a + [2.0 * (x @ _orthogonal(rng, x.shape[1])) for x in raw], 5)
    np.testing.assert_allclose(knn_after[:3, 3:], knn_before, atol=1e-12)
    np.testing.assert_allclose(
        layerwise.procrustes_matrix(a + moved)[:3, 3:], layerwise.procrustes_matrix(a + b)[:3, 3:], atol=1e-7
    )
    # A general linear map is not an invariance of CKA: the test can fail.
    general = [x @ rng.standard_normal((x.shape[1], x.shape[1])) for x in b]
    assert np.abs(layerwise.cka_matrix(a + general, "linear")[:3, 3:] - before).max() > 1e-3


def test_remapped_neighbours_are_the_neighbours_of_the_permuted_representation():
    rng = np.random.default_rng(3)
    y = rng.standard_normal((80, 7))
    order = rng.permutation(80)
    found = layerwise.remapped(layerwise.neighbours(y, 4), order)
    direct = layerwise.neighbours(y[order], 4)
    assert all(set(a) == set(b) for a, b in zip(found, direct, strict=True))


def test_the_permutation_null_of_mutual_knn_has_mean_k_over_n_minus_1():
    rng = np.random.default_rng(4)
    n, k = 60, 5
    latent = rng.standard_normal((n, 3))
    a, b = _run(rng, n, latent, (6,)), _run(rng, n, latent, (4,))
    result = layerwise.permutation_null(a, b, "mutual_knn", k=k, permutations=4000, seed=0)
    expected = k / (n - 1)
    standard_error = result.null_sd[0, 0] / np.sqrt(result.permutations)
    assert abs(result.null_mean[0, 0] - expected) < 4 * standard_error
    assert result.observed[0, 0] > expected  # the runs share a latent: above chance
    assert result.p[0, 0] == pytest.approx(1 / 4001)


def test_calibration_of_the_best_layer_pair():
    rng = np.random.default_rng(5)
    latent = rng.standard_normal((100, 6))
    a, b = _run(rng, 100, latent), _run(rng, 100, latent)
    related = layerwise.permutation_null(a, b, "cka", permutations=99, seed=1)
    assert related.best_p == pytest.approx(0.01)
    assert 0 < related.best_calibrated <= 1
    # Unrelated runs: the best of 9 layer pairs is not significant more often than by chance, and
    # its calibrated score is near 0 (the raw maximum is not).
    p_values = []
    for trial in range(20):
        x, y = _run(rng, 100), _run(rng, 100)
        found = layerwise.permutation_null(x, y, "cka", kernel="linear", permutations=49, seed=trial)
        p_values.append(found.best_p)
        assert found.best_value > 0.0 and abs(found.best_calibrated) < 0.2
    assert np.mean(np.array(p_values) <= 0.05) <= 0.25
    # The null of the maximum is above the null of a single cell: the aggregate is calibrated as one.
    assert related.best_null_mean >= np.nanmax(related.null_mean) - 1e-12


def test_correspondence_of_a_run_with_itself_is_the_diagonal():
    rng = np.random.default_rng(6)
    a = _run(rng, 90, layers=(5, 9, 13, 4))
    matrix = layerwise.cka_matrix(a + a, "debiased")[:4, 4:]
    best, values = layerwise.correspondence(matrix)
    assert best.tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(values, 1.0, atol=1e-6)


def test_a_constant_layer_is_undefined_never_one():
    rng = np.random.default_rng(7)
    a = _run(rng, 50)
    dead = [np.full((50, 4), 0.5), np.zeros((50, 3)), np.full((50, 6), 7.0, dtype=np.float16)]
    for matrix in (
        layerwise.cka_matrix(a + dead, "debiased"),
        layerwise.cka_matrix(a + dead, "rbf"),
        layerwise.mutual_knn_matrix(a + dead, 5),
        layerwise.procrustes_matrix(a + dead),
    ):
        assert np.isnan(matrix[3:, :]).all() and np.isnan(matrix[:, 3:]).all()
        assert np.isfinite(matrix[:3, :3]).all()
    result = layerwise.permutation_null(a, [a[0], dead[0]], "cka", permutations=9)
    assert np.isnan(result.observed[:, 1]).all() and np.isnan(result.p[:, 1]).all()
    assert "constant representation" in result.undefined[0]
    assert np.isfinite(result.observed[:, 0]).all()


def test_the_cka_metric_with_minibatch_is_nguyen_et_al_s_estimator():
    import pydantic

    from homog.compiler.catalog import CKA
    from homog.runtime.registry import implementation

    rng = np.random.default_rng(10)
    layers = [rng.standard_normal((90, 5)) for _ in range(3)]
    outputs = [{"layer.penultimate": x} for x in layers]
    params = {"layer": "penultimate", "kernel": "debiased", "threshold": 0.5, "minibatch": 30}
    found = implementation("metric", "cka").matrix(outputs, params).matrix
    np.testing.assert_allclose(found, layerwise.cka_matrix(layers, "debiased", minibatch=30))
    assert not np.allclose(found, layerwise.cka_matrix(layers, "debiased"))
    with pytest.raises(pydantic.ValidationError, match="kernel = debiased"):
        CKA(minibatch=30)


def test_a_best_layer_pair_with_nothing_defined_has_no_p_value():
    rng = np.random.default_rng(11)
    a = _run(rng, 40)
    result = layerwise.permutation_null(a, [np.zeros((40, 3))], "cka", permutations=9)
    assert np.isnan(result.best_value) and np.isnan(result.best_p) and np.isnan(result.best_calibrated)
