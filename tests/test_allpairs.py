"""The all-pairs engine against hand-computed cases and a naive per-pair reference on random data."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from homog.runtime.metrics import allpairs


def _naive(labels, truth, probabilities, options):
    """Every metric, one pair at a time, straight from its definition."""
    m, n = labels.shape
    out = {k: np.full((m, m), np.nan) for k in ("agreement", "kappa", "ec", "awbw", "capa", "jsd")}
    classes = probabilities.shape[2]
    f = np.mean(1 / (options - 1))
    for a in range(m):
        for b in range(m):
            la, lb = labels[a], labels[b]
            po = np.mean(la == lb)
            pe = sum(np.mean(la == k) * np.mean(lb == k) for k in range(classes))
            out["agreement"][a, b] = po
            out["kappa"][a, b] = (po - pe) / (1 - pe) if not math.isclose(pe, 1) else np.nan
            ca, cb = la == truth, lb == truth
            obs = np.mean(ca == cb)
            exp = ca.mean() * cb.mean() + (1 - ca.mean()) * (1 - cb.mean())
            out["ec"][a, b] = (obs - exp) / (1 - exp) if not math.isclose(exp, 1) else np.nan
            both = ~ca & ~cb
            out["awbw"][a, b] = np.mean(la[both] == lb[both]) if both.any() else np.nan
            pa, pb = probabilities[a], probabilities[b]
            cobs = np.mean(np.sum(pa * pb, axis=1))
            ga, gb = pa[np.arange(n), truth].mean(), pb[np.arange(n), truth].mean()
            cexp = ga * gb + f * (1 - ga) * (1 - gb)
            out["capa"][a, b] = (cobs - cexp) / (1 - cexp)
            js = []
            for x in range(n):
                p, q = pa[x], pb[x]
                mix = (p + q) / 2

                def h(v):
                    return -sum(t * math.log2(t) for t in v if t > 0)

                js.append(h(mix) - (h(p) + h(q)) / 2)
            out["jsd"][a, b] = np.mean(js)
    return out


def _random(seed, m=7, n=150, k=4):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    options = rng.integers(2, k + 1, n)
    truth = np.minimum(truth, options - 1)
    logits = rng.normal(size=(m, n, k)) + 2.0 * (np.arange(k)[None, None, :] == truth[None, :, None])
    logits = np.where(np.arange(k)[None, None, :] < options[None, :, None], logits, -np.inf)
    probabilities = np.exp(logits - logits.max(axis=2, keepdims=True))
    probabilities /= probabilities.sum(axis=2, keepdims=True)
    labels = probabilities.argmax(axis=2)
    return labels, truth, probabilities, options


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_metric_matches_a_naive_per_pair_reference(seed):
    labels, truth, probabilities, options = _random(seed)
    naive = _naive(labels, truth, probabilities, options)
    counts = allpairs.counts(labels, truth, 4, block=16)  # small blocks: several per class
    found = {
        "agreement": allpairs.agreement(counts).matrix,
        "kappa": allpairs.cohen_kappa(counts).matrix,
        "ec": allpairs.error_consistency(counts).matrix,
        "awbw": allpairs.agreement_when_wrong(counts).matrix,
        "capa": allpairs.capa(probabilities, truth, options, block=32).matrix,
        "jsd": allpairs.jensen_shannon(probabilities, block=40).matrix,
    }
    for name, matrix in found.items():
        np.testing.assert_allclose(matrix, naive[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_capa_on_hand_computed_cases():
    # Two models, two questions with 4 and 2 options; gold options 0 and 1.
    p = np.array(
        [
            [[0.7, 0.1, 0.1, 0.1], [0.4, 0.6, 0.0, 0.0]],
            [[0.5, 0.5, 0.0, 0.0], [0.2, 0.8, 0.0, 0.0]],
        ]
    )
    truth, options = np.array([0, 1]), np.array([4, 2])
    # c_obs = mean(0.7*0.5 + 0.1*0.5, 0.4*0.2 + 0.6*0.8) = mean(0.40, 0.56) = 0.48
    # pbar_1 = (0.7 + 0.6) / 2 = 0.65, pbar_2 = (0.5 + 0.8) / 2 = 0.65; f = (1/3 + 1/1) / 2 = 2/3
    # c_exp = 0.65^2 + 2/3 * 0.35^2 = 0.4225 + 0.0816667 = 0.5041667
    # kappa_p = (0.48 - 0.5041667) / (1 - 0.5041667) = -0.0487395
    kappa = allpairs.capa(p, truth, options).matrix
    assert kappa[0, 1] == pytest.approx((0.48 - 0.5041666667) / (1 - 0.5041666667))
    assert kappa[0, 1] == pytest.approx(-0.0487395, abs=1e-6)
    # One-hot predictions on binary questions: CAPA is error consistency (Goel et al., Appendix A.1).
    labels = np.array([[0, 1, 1, 0, 1, 0], [0, 1, 0, 0, 1, 1]])
    truth = np.array([0, 1, 1, 1, 1, 0])
    onehot = np.eye(2)[labels]
    ec = allpairs.error_consistency(allpairs.counts(labels, truth, 2)).matrix
    capa = allpairs.capa(onehot, truth, np.full(6, 2)).matrix
    assert capa[0, 1] == pytest.approx(ec[0, 1])


def test_chance_of_agreement_when_both_wrong_with_mixed_option_counts():
    # 2 examples with 2 options, 3 with 4, 5 with 5: sum_k phi_k / (k - 1)
    options = np.array([2, 2, 4, 4, 4, 5, 5, 5, 5, 5])
    chance, reason = allpairs.wrong_chance(options)
    assert reason is None
    assert chance == pytest.approx(0.2 / 1 + 0.3 / 3 + 0.5 / 4)
    chance, reason = allpairs.wrong_chance(np.array([1, 3]))
    assert chance is None and "fewer than two options" in reason


def test_undefined_values_carry_a_reason_never_zero_or_one():
    labels = np.array([[0, 0, 0], [0, 0, 0], [1, 0, 2]])
    truth = np.array([0, 0, 0])
    counts = allpairs.counts(labels, truth, 3)
    kappa = allpairs.cohen_kappa(counts)
    assert np.isnan(kappa.matrix[0, 1]) and "chance agreement is 1" in kappa.undefined[0]
    wrong = allpairs.agreement_when_wrong(counts)
    assert np.isnan(wrong.matrix[0, 1]) and "no example both get wrong" in wrong.undefined[0]


def test_item_level_and_attribute_effects():
    labels = np.array([[0, 1, 1, 0], [0, 1, 0, 0], [0, 0, 1, 0]])
    truth = np.array([0, 1, 1, 1])
    items = allpairs.item_level(labels, truth, np.array(["a", "b", "c", "d"]))
    assert items["failed_by_all"] == {"count": 1, "of": 4, "examples": ["d"]}
    q = np.array([1, 2 / 3, 2 / 3, 0])
    assert items["difficulty_chance"] == pytest.approx(np.mean(q**2 + (1 - q) ** 2))
    # Similarity that is high exactly within families: a positive effect, small p.
    family = ["a", "a", "a", "b", "b", "b", "c", "c", "c"]
    similarity = np.array([[0.9 if x == y else 0.1 for y in family] for x in family])
    effect = allpairs.attribute_effect(similarity, family, "same", resamples=500)
    assert effect["effect"] == pytest.approx(0.8)
    assert effect["p"] < 0.01
    size = [1.0, 2.0, 4.0, 8.0, 16.0]
    close = np.array([[-abs(np.log(a) - np.log(b)) for b in size] for a in size])
    assert allpairs.attribute_effect(close, size, "distance", resamples=200)["effect"] == pytest.approx(1.0)
    assert allpairs.attribute_effect(similarity, ["a"] * 9, "same")["effect"] is None


def test_large_populations_are_drawn_as_an_image_in_clustered_order():
    import zlib

    from homog.runtime.report import sections_external
    from homog.runtime.report.sections import cluster_order

    rng = np.random.default_rng(0)
    family = rng.permutation(np.repeat(np.arange(3), 20))  # 60 models, three families, shuffled
    similarity = np.where(family[:, None] == family[None, :], 0.8, 0.2) + rng.normal(0, 0.01, (60, 60))
    similarity = (similarity + similarity.T) / 2
    order = cluster_order(similarity.tolist())  # the order the external section draws in
    assert sorted(order) == list(range(60))
    runs_of_family = [family[i] for i in order]
    assert sum(a != b for a, b in itertools.pairwise(runs_of_family)) == 2  # three blocks
    png = sections_external._png(similarity, 0.2, 0.8, scale=2)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (120, 120)
    idat = png[png.index(b"IDAT") + 4 : png.index(b"IEND") - 8]
    assert len(zlib.decompress(idat)) == 120 * (1 + 120 * 3)
