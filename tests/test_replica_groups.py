"""Every torch architecture and fusion trains as one vectorised group: a replica trained in a group
equals the same seed trained alone (to 1e-6 on the CPU), with dropout, augmentation, gradient
clipping, a learning-rate schedule and early stopping on, and its bits do not depend on which other
replicas share its group."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from homog.compiler.catalog import builtin_entries
from homog.runtime.learners.replicas import StackedNet, Vectorised
from homog.runtime.learners.torch_backend import replica_model

from .test_training import _learner, _params, _training_data, train_group

TRAINING = {
    "epochs": 3,
    "batch_size": 16,
    "optimizer": {"name": "adamw", "params": {"lr": 2e-2, "weight_decay": 1e-3}},
    "schedule": {"name": "cosine", "params": {"warmup": 1}},
    "early_stopping": {"name": "patience", "params": {"epochs": 1, "min_delta": 0.0, "monitor": "val_loss"}},
    "gradient_clip": 0.5,
}
AUGMENT = {
    "image": [
        {"name": "flip", "params": {"axis": "horizontal"}},
        {"name": "random_crop", "params": {"padding": 1}},
        {"name": "gaussian_noise", "params": {"std": 0.1}},
    ],
    "sequence": [{"name": "gaussian_noise", "params": {"std": 0.1}}],
    "vector": [{"name": "feature_dropout", "params": {"p": 0.2}}],
}
SHAPES = {"image": (6, 6), "sequence": (5, 3), "vector": (5,)}


def _data(kinds: list[str], n: int = 48):
    rng = np.random.default_rng(7)
    xs = [rng.standard_normal((n, *SHAPES[k])).astype(np.float32) for k in kinds]
    y = (sum(x.reshape(n, -1)[:, 0] for x in xs) > 0).astype(np.int64) + (xs[0].reshape(n, -1)[:, 1] > 1)
    return _training_data(xs, y.astype(np.int64), np.arange(36), np.arange(36, 48), 3)


def _small(params: dict) -> dict:
    """An entry's default parameters, shrunk (a fast test) and with dropout where it has one."""
    small = dict(params)
    for key, value in {"hidden": 8, "channels": [4, 6], "dim": 8, "heads": 2}.items():
        if key in small:
            small[key] = [8] if key == "hidden" and isinstance(small[key], list) else value
    if "dropout" in small:
        small["dropout"] = 0.25
    if "layers" in small:
        small["layers"] = 2 if "bidirectional" not in small else 1
    if "bidirectional" in small:
        small["bidirectional"] = True
    return small


def _architecture(name: str) -> tuple[dict, str]:
    entry = next(e for e in builtin_entries() if e.kind == "architecture" and e.name == name)
    kind = sorted(entry.accepts)[0]
    learner = _learner(**TRAINING)
    learner["arch"] = {"name": name, "params": _small(entry.params().model_dump())}
    learner["augment"] = {"x": AUGMENT[kind]}
    return learner, kind


def _fusion(strategy) -> dict:
    return {
        "kind": "fusion",
        "backend": "torch",
        "inputs": ["a", "b"],
        "strategy": {"name": strategy.name, "params": _small(strategy.params().model_dump())},
        "encoder": {"name": "mlp", "params": {"hidden": [8], "dropout": 0.25, "activation": "relu"}},
        "head": {"name": "mlp", "params": {"hidden": [8], "dropout": 0.25, "activation": "gelu"}},
        "augment": {"a": AUGMENT["image"], "b": AUGMENT["vector"]},
        "training": _learner(**TRAINING)["training"],
    }


def _assert_same(replica, alone, atol: float) -> None:
    assert replica.state.keys() == alone.state.keys()
    for key in alone.state:
        np.testing.assert_allclose(replica.state[key], alone.state[key], atol=atol, rtol=0)
    assert replica.epochs == alone.epochs
    for curve in alone.curves:
        np.testing.assert_allclose(replica.curves[curve], alone.curves[curve], atol=atol)


def _grouped_equals_alone_and_bits_ignore_the_group(learner: dict, data, bits: float) -> None:
    """`bits`: how far a replica may move with its group's other members (0: bit for bit)."""
    group = train_group(learner, data, [0, 1, 2], 0.9)
    (alone,) = train_group(learner, data, [1], 0.9)
    _assert_same(group[1], alone, 1e-6)
    assert not np.allclose(group[0].state[next(iter(alone.state))], alone.state[next(iter(alone.state))])
    other = train_group(learner, data, [5, 1], 0.9)  # other members, another size, another position
    _assert_same(other[1], group[1], bits)


TORCH_ARCHITECTURES = [
    e.name
    for e in builtin_entries()
    if e.kind == "architecture" and e.backend == "torch" and not e.backbone  # backbones: test_backbones
]  # fmt: skip


@pytest.mark.parametrize("name", TORCH_ARCHITECTURES)
def test_every_architecture_trains_as_a_group_that_equals_each_replica_alone(name):
    learner, kind = _architecture(name)
    # A convolution under vmap is one grouped convolution, and a recurrent cell's batched products
    # pick their kernel by the number of replicas: both round differently with the group's size (by
    # ~1e-8); the other networks' bits are the replica's own.
    bits = 1e-6 if name.startswith("cnn") or name in ("gru", "lstm") else 0.0
    _grouped_equals_alone_and_bits_ignore_the_group(learner, _data([kind]), bits)


FUSIONS = [e for e in builtin_entries() if e.kind == "fusion" and not e.late]


@pytest.mark.parametrize("strategy", FUSIONS, ids=lambda e: e.name)
def test_every_fusion_trains_as_a_group_that_equals_each_replica_alone(strategy):
    _grouped_equals_alone_and_bits_ignore_the_group(_fusion(strategy), _data(["image", "image"]), bits=0.0)


def test_a_replica_that_stops_early_keeps_its_best_weights_while_the_others_train_on():
    learner, kind = _architecture("cnn")
    learner["training"] = {**learner["training"], "epochs": 8, "schedule": {"name": "constant", "params": {}}}
    learner["training"]["optimizer"] = {"name": "sgd", "params": {"lr": 0.3, "momentum": 0.9,
                                        "weight_decay": 0.0, "nesterov": True}}  # fmt: skip
    data = _data([kind])
    seeds = list(range(6))
    group = train_group(learner, data, seeds, 1.0)
    epochs = [replica.epochs for replica in group]
    assert len(set(epochs)) > 1, epochs  # some stopped while others went on
    for seed in (epochs.index(min(epochs)), epochs.index(max(epochs))):
        (alone,) = train_group(learner, data, [seed], 1.0)
        _assert_same(group[seed], alone, 1e-6)
        best = int(np.argmin(alone.curves["val_loss"]))
        assert alone.epochs == best + 1 + 1 or alone.epochs == 8  # patience 1: one epoch past the best


def test_mlps_stack_as_batched_products_and_other_networks_under_vmap():
    mlp, _ = _architecture("mlp")
    cnn, _ = _architecture("cnn")
    cpu = torch.device("cpu")
    assert isinstance(replica_model(_params(mlp).learner, [(5,)], 3, [0, 1], cpu), StackedNet)
    model = replica_model(_params(cnn).learner, [(6, 6)], 3, [0, 1], cpu)
    assert isinstance(model, Vectorised)
    # One dropout site, before the output layer: 6 channels of 1 x 1 (6 x 6 pooled twice).
    assert model.tape.sites == [(0.25, (6,))]


def test_dropout_masks_come_from_each_replicas_generator_not_the_global_one():
    learner, kind = _architecture("transformer")
    data = _data([kind])
    torch.manual_seed(123)
    first = train_group(learner, data, [4], 1.0)[0]
    torch.manual_seed(456)
    torch.rand(10)
    second = train_group(learner, data, [4], 1.0)[0]
    for key in first.state:
        np.testing.assert_array_equal(first.state[key], second.state[key])


def test_a_cpu_group_is_dealt_to_one_part_per_core_and_its_replicas_do_not_change(monkeypatch):
    from homog.runtime import placement

    learner, kind = _architecture("mlp")
    ir = _params(learner).learner
    cpu = torch.device("cpu")
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert placement.replica_groups(3, cpu, ir, [(5,)], 3, 48) == [[0, 1, 2]]  # no part of one
    assert placement.replica_groups(5, cpu, ir, [(5,)], 3, 48) == [[0, 1, 2], [3, 4]]
    data = _data([kind])
    split = train_group(learner, data, [0, 1, 2, 3], 0.9)  # two parts, side by side
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    whole = train_group(learner, data, [0, 1, 2, 3], 0.9)
    for a, b in zip(split, whole, strict=True):
        _assert_same(a, b, 0.0)


def test_predictions_in_blocks_equal_one_pass_and_keep_only_the_requested_layers(monkeypatch):
    from homog.runtime.learners import torch_backend

    learner, kind = _architecture("transformer")
    data = _data([kind])
    (trained,) = train_group(learner, data, [3], 1.0)
    predictor = torch_backend.TorchLearner(_params(learner), torch.device("cpu"))
    whole = predictor.predict(trained, data, data.inputs, ["penultimate", "logits"])
    monkeypatch.setattr(torch_backend, "EVALUATION_BLOCK", 5)
    blocks = predictor.predict(trained, data, data.inputs, [])
    assert blocks.layers == {}  # no representation kept when no metric asks for one
    np.testing.assert_allclose(blocks.probabilities, whole.probabilities, atol=1e-6, rtol=0)
    assert whole.layers["penultimate"].shape == (48, 8) and whole.layers["logits"].shape == (48, 3)


@pytest.mark.gpu
@pytest.mark.parametrize("name", TORCH_ARCHITECTURES)
def test_groups_on_cuda_equal_each_replica_alone(name):
    learner, kind = _architecture(name)
    data, cuda = _data([kind]), torch.device("cuda")
    group = train_group(learner, data, [0, 1, 2], 0.9, cuda)
    (alone,) = train_group(learner, data, [1], 0.9, cuda)
    _assert_same(group[1], alone, 1e-5)  # GPU kernels are not bit-reproducible across batch shapes
    on_cpu = train_group(learner, data, [1], 0.9)[0]
    assert on_cpu.epochs == alone.epochs or abs(on_cpu.epochs - alone.epochs) <= 1
