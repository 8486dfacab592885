"""Training: vectorised replicas equal one-at-a-time training; every architecture and fusion trains."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from homog.compiler.catalog import builtin_entries
from homog.compiler.ir import FitParams, LearnerIR
from homog.runtime.architectures import fusions
from homog.runtime.data import Split
from homog.runtime.learners import Trained, TrainingData, trains_together
from homog.runtime.learners.replicas import StackedNet, StackShape
from homog.runtime.learners.torch_backend import TorchLearner

CPU = torch.device("cpu")


def _params(learner: dict, fraction: float = 1.0, seed: int = 0) -> FitParams:
    """Fit parameters from a learner written as plain data (the graph's form)."""
    fields = {"arch": None, "strategy": None, "encoder": None, "head": None, "backend": "torch"}
    fields.update({k: v for k, v in learner.items() if k != "augment"})
    ir = LearnerIR.model_validate({"name": "l", "representations": ["penultimate", "logits"], **fields})
    return FitParams(learner=ir, augment=learner["augment"], seed=seed, fold=0, data_fraction=fraction)


def train_group(learner: dict, data: TrainingData, seeds: list[int], fraction: float, device=CPU):
    return TorchLearner(_params(learner, fraction), device).fit(data, seeds)


def train_one(learner: dict, data: TrainingData, seed: int, fraction: float, device=CPU) -> Trained:
    (trained,) = train_group(learner, data, [seed], fraction, device)
    return trained


def _training_data(inputs: list[np.ndarray], labels: np.ndarray, train, validation, classes: int):
    return TrainingData(
        inputs, labels, Split(np.asarray(train), np.asarray(validation), np.arange(0)), classes
    )


def _learner(**training) -> dict:
    defaults = {
        "epochs": 4,
        "batch_size": 32,
        "optimizer": {"name": "adam", "params": {"lr": 1e-2, "weight_decay": 1e-4}},
        "schedule": {"name": "cosine", "params": {"warmup": 1}},
        "early_stopping": {
            "name": "patience",
            "params": {"epochs": 2, "min_delta": 0.0, "monitor": "val_loss"},
        },
        "gradient_clip": 1.0,
        "mixed_precision": False,
    }
    return {
        "kind": "model",
        "backend": "torch",
        "inputs": ["x"],
        "arch": {"name": "mlp", "params": {"hidden": [16, 8], "dropout": 0.2, "activation": "relu"}},
        "augment": {"x": [{"name": "gaussian_noise", "params": {"std": 0.1}}]},
        "training": {**defaults, **training},
    }


def _data(n: int = 120, features: int = 6, classes: int = 3) -> TrainingData:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, features)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5).astype(np.int64)
    return _training_data([x], y, np.arange(0, 80), np.arange(80, 100), classes)


def test_vectorised_replicas_equal_one_at_a_time():
    data = _data()
    seeds = list(range(10))
    together = train_group(_learner(), data, seeds, 0.8)
    for seed, replica in zip(seeds, together, strict=True):
        (alone,) = train_group(_learner(), data, [seed], 0.8)
        assert replica.state.keys() == alone.state.keys()
        for key in alone.state:
            np.testing.assert_allclose(replica.state[key], alone.state[key], atol=1e-6, rtol=0)
        np.testing.assert_allclose(replica.curves["loss"], alone.curves["loss"], atol=1e-6)
        assert replica.epochs == alone.epochs


def test_replicas_differ_by_seed_and_repeat_with_the_same_seed():
    data = _data()
    a, b = train_group(_learner(early_stopping=None), data, [1, 2], 1.0)
    again, _ = train_group(_learner(early_stopping=None), data, [1, 2], 1.0)
    assert not np.allclose(a.state["weight.0"], b.state["weight.0"])
    np.testing.assert_array_equal(a.state["weight.0"], again.state["weight.0"])  # deterministic on CPU


def test_replica_mlp_initialises_like_nn_linear():
    head = StackShape([100, 50, 3], 0.0, "relu", ends_linear=True)
    model = StackedNet([0, 1], [], head, CPU)
    bound = 1 / np.sqrt(100)
    weights = model.head.weights[0].detach().numpy()
    assert weights.shape == (2, 100, 50)
    assert np.abs(weights).max() <= bound and np.abs(weights).max() > 0.9 * bound


def test_early_stopping_stops_and_keeps_the_best_weights():
    data = _data()
    learner = _learner(epochs=60, optimizer={"name": "sgd", "params": {"lr": 0.5, "momentum": 0.9,
                       "weight_decay": 0.0, "nesterov": False}})  # fmt: skip
    replica = train_one(learner, data, 0, 1.0)
    assert replica.epochs < 60
    losses = replica.curves["val_loss"]
    assert len(losses) == replica.epochs


def _fusion(strategy: str = "concat", **params) -> dict:
    return {
        "kind": "fusion",
        "backend": "torch",
        "inputs": ["a", "b"],
        "strategy": {"name": strategy, "params": params},
        "encoder": {"name": "mlp", "params": {"hidden": [8, 6], "dropout": 0.1, "activation": "relu"}},
        "head": {"name": "mlp", "params": {"hidden": [12], "dropout": 0.2, "activation": "gelu"}},
        "augment": {"a": [{"name": "feature_dropout", "params": {"p": 0.1}}], "b": []},
        "training": _learner()["training"],
    }


def _two_modalities(n: int = 120) -> TrainingData:
    rng = np.random.default_rng(3)
    a = rng.standard_normal((n, 4, 2)).astype(np.float32)  # not flat: flattened inside the network
    b = rng.standard_normal((n, 3)).astype(np.float32)
    y = (a[:, 0, 0] + b[:, 0] > 0).astype(np.int64) + (b[:, 1] > 1).astype(np.int64)
    return _training_data([a, b], y, np.arange(80), np.arange(80, 100), 3)


def test_concat_fusion_of_mlps_is_vectorised_and_replicas_equal_groups_of_one():
    learner, data = _fusion(), _two_modalities()
    assert trains_together(_params(learner).learner)
    assert trains_together(_params(_fusion("sum", dim=4)).learner)  # every torch network groups
    together = train_group(learner, data, [0, 1, 2, 3], 0.9)
    assert not np.allclose(together[0].state["weight.0"], together[1].state["weight.0"])
    for seed, replica in enumerate(together):
        (alone,) = train_group(learner, data, [seed], 0.9)
        assert replica.state.keys() == alone.state.keys()
        for key in alone.state:
            np.testing.assert_allclose(replica.state[key], alone.state[key], atol=1e-6, rtol=0)
        assert replica.curves["val_loss"] == pytest.approx(alone.curves["val_loss"], abs=1e-6)


def test_vectorised_fusion_computes_what_the_one_at_a_time_network_computes():
    """The same weights through `Fusion` (concat of MLP encoders, MLP head) give the same outputs."""
    learner, data = _fusion(), _two_modalities()
    replica = train_one(learner, data, 5, 1.0)
    ir = _params(learner).learner
    fusion = fusions.Fusion(data.shapes, 3, ir.strategy, ir.encoder, ir.head)
    state = fusion.state_dict()
    for m, encoder in enumerate(fusion.encoders):
        for i in range(sum(isinstance(layer, torch.nn.Linear) for layer in encoder.body)):
            state[f"encoders.{m}.body.{3 * i}.weight"] = torch.tensor(
                replica.state[f"encoder.{m}.weight.{i}"].T
            )
            state[f"encoders.{m}.body.{3 * i}.bias"] = torch.tensor(replica.state[f"encoder.{m}.bias.{i}"][0])
    state["head.body.0.weight"] = torch.tensor(replica.state["weight.0"].T)
    state["head.body.0.bias"] = torch.tensor(replica.state["bias.0"][0])
    state["head.out.weight"] = torch.tensor(replica.state["weight.1"].T)
    state["head.out.bias"] = torch.tensor(replica.state["bias.1"][0])
    fusion.load_state_dict(state)
    fusion.eval()
    outputs = TorchLearner(_params(learner), CPU).predict(
        replica, data, data.inputs, ["penultimate", "logits"]
    )
    with torch.no_grad():
        expected_logits, expected_features = fusion(*(torch.tensor(x) for x in data.inputs))
    np.testing.assert_allclose(outputs.layers["logits"], expected_logits.numpy(), atol=1e-5, rtol=0)
    np.testing.assert_allclose(outputs.layers["penultimate"], expected_features.numpy(), atol=1e-5, rtol=0)
    assert replica.parameters == sum(p.numel() for p in fusion.parameters())


SHAPES = {"image": (8, 8), "sequence": (5, 4), "vector": (6,)}


def _shaped(kind: str, n: int = 64) -> TrainingData:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, *SHAPES[kind])).astype(np.float32)
    y = (x.reshape(n, -1)[:, 0] > 0).astype(np.int64)
    return _training_data([x], y, np.arange(48), np.arange(48, 56), 2)


# Pretrained backbones need a model folder: tests/test_backbones.py trains them.
ARCHITECTURES = [(e.name, sorted(e.accepts)[0]) for e in builtin_entries()
                 if e.kind == "architecture" and e.backend == "torch" and not e.backbone]  # fmt: skip


@pytest.mark.parametrize(("arch", "kind"), ARCHITECTURES)
def test_every_torch_architecture_trains_and_repeats(arch, kind):
    entry = next(e for e in builtin_entries() if e.kind == "architecture" and e.name == arch)
    learner = _learner(epochs=2, early_stopping=None)
    learner["arch"] = {"name": arch, "params": entry.params().model_dump()}
    learner["augment"] = {"x": []}
    first = train_one(learner, _shaped(kind), 3, 1.0)
    second = train_one(learner, _shaped(kind), 3, 1.0)
    assert first.epochs == 2 and first.parameters > 0
    for key in first.state:
        np.testing.assert_array_equal(first.state[key], second.state[key])


FUSIONS = [e for e in builtin_entries() if e.kind == "fusion" and not e.late]


@pytest.mark.parametrize("strategy", FUSIONS, ids=lambda e: e.name)
def test_every_fusion_strategy_trains(strategy):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((64, 5)).astype(np.float32)
    b = rng.standard_normal((64, 3)).astype(np.float32)
    y = ((a[:, 0] + b[:, 0]) > 0).astype(np.int64)
    data = _training_data([a, b], y, np.arange(48), np.arange(0), 2)
    learner = {
        "kind": "fusion",
        "inputs": ["a", "b"],
        "strategy": {"name": strategy.name, "params": strategy.params().model_dump()},
        "encoder": {"name": "mlp", "params": {"hidden": [8], "dropout": 0.0, "activation": "relu"}},
        "head": {"name": "mlp", "params": {"hidden": [], "dropout": 0.0, "activation": "relu"}},
        "augment": {"a": [], "b": []},
        "training": _learner(epochs=2, early_stopping=None)["training"],
    }
    replica = train_one(learner, data, 0, 1.0)
    assert replica.epochs == 2 and np.isfinite(replica.curves["loss"]).all()


def test_tensor_fusion_matches_the_papers_example():
    product = fusions.tensor_product([torch.tensor([[2.0, 3.0]]), torch.tensor([[5.0]])])
    assert product.tolist() == [[1.0, 5.0, 2.0, 10.0, 3.0, 15.0]]


def test_low_rank_fusion_has_the_papers_parameter_count():
    dims, rank, out = [5, 3], 4, 7
    fusion = fusions.LowRank(dims, rank, out)
    expected = rank * sum(d + 1 for d in dims) * out + rank + out
    assert sum(p.numel() for p in fusion.parameters()) == expected


def test_gated_unit_with_two_modalities_is_a_convex_combination():
    gated = fusions.Gated([4, 4], 3)
    z = [torch.randn(5, 4), torch.randn(5, 4)]
    h = torch.stack([torch.tanh(w(x)) for w, x in zip(gated.hidden, z, strict=True)], dim=1)
    out = gated(z)
    # Each output lies between the two modalities' hidden values, coordinate by coordinate.
    low, high = h.min(dim=1).values, h.max(dim=1).values
    assert torch.all(out >= low - 1e-6) and torch.all(out <= high + 1e-6)


@pytest.mark.gpu
def test_vectorised_replicas_on_cuda_match_one_at_a_time():
    data, device = _data(), torch.device("cuda")
    together = train_group(_learner(), data, [0, 1, 2], 1.0, device)
    (alone,) = train_group(_learner(), data, [1], 1.0, device)
    for key in alone.state:
        np.testing.assert_allclose(together[1].state[key], alone.state[key], atol=1e-5, rtol=0)
