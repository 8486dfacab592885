"""What each node of the graph computes. torch is imported only when a torch node runs."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from homog.compiler.graph import Graph, Node

from . import data, errors, sklearn_learners, transforms
from .cache import Artifact, Cache
from .scheduler import Task


def derived_seed(*parts: object) -> int:
    """A seed from named parts, the same in every process (never Python's salted hash())."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return int(digest[:8], 16)


class RemoteOps:
    """A picklable stand-in for `Ops.execute`, for executors whose workers are other processes (Ray).

    Each worker process builds its own `Ops` once, on the same cache folder.
    """

    def __init__(self, graph: Graph, cache_root: Path, base: Path, device: str, seed: int) -> None:
        self.args = (graph, cache_root, base, device, seed)
        self._ops: Ops | None = None

    def __getstate__(self):
        return {"args": self.args}

    def __setstate__(self, state) -> None:
        self.args = state["args"]
        self._ops = None

    def __call__(self, task: Task) -> None:
        if self._ops is None:
            graph, cache_root, base, device, seed = self.args
            self._ops = Ops(graph, Cache(cache_root), base, device, seed)
        self._ops.execute(task)


def is_vectorisable(learner: dict[str, Any]) -> bool:
    """A torch MLP, or MLP encoders concatenated under an MLP head: replicas of it train as one group."""
    if learner.get("backend") != "torch":
        return False
    if learner["kind"] == "model":
        return learner["arch"]["name"] == "mlp"
    return (
        learner["strategy"]["name"] == "concat"
        and learner["encoder"]["name"] == "mlp"
        and learner["head"]["name"] == "mlp"
    )


def group_key(node: Node) -> str | None:
    """Fits of a vectorisable learner that differ only in seed train together, as one group."""
    params = node.params
    if node.op != "fit" or not is_vectorisable(params):
        return None
    point = {k: v for k, v in params["point"].items() if k != "seed"}
    rest = {k: v for k, v in params.items() if k != "point"}
    return json.dumps([rest, point, list(node.deps)], sort_keys=True)


def with_point(params: dict[str, Any]) -> dict[str, Any]:
    """A fit's learner with the swept learning rate, epochs and depth of its point applied."""
    point = params["point"]
    if params["backend"] != "torch" or not any(point.get(k) for k in ("lr", "epochs", "depth")):
        return params
    learner = copy.deepcopy(params)
    if point.get("lr"):
        learner["training"]["optimizer"]["params"]["lr"] = point["lr"]
    if point.get("epochs"):
        learner["training"]["epochs"] = point["epochs"]
    if point.get("depth"):
        key = "arch" if learner["kind"] == "model" else "encoder"
        learner[key] = deepened(learner[key], point["depth"])
    return learner


def deepened(arch: dict[str, Any], depth: int) -> dict[str, Any]:
    """An architecture with `depth` hidden layers: the list of sizes cut, or its last size repeated."""
    params = dict(arch["params"])
    for key in ("hidden", "channels"):
        if isinstance(params.get(key), list):
            sizes = params[key] or [128]
            params[key] = sizes[:depth] + [sizes[-1]] * max(0, depth - len(sizes))
            return {**arch, "params": params}
    params["layers"] = depth  # recurrent networks and transformers
    return {**arch, "params": params}


class Ops:
    def __init__(self, graph: Graph, cache: Cache, base: Path, device: str, experiment_seed: int) -> None:
        self.graph = graph
        self.cache = cache
        self.base = base
        self.device_name = device
        self.seed = experiment_seed
        self._memory: OrderedDict[str, Artifact] = OrderedDict()
        self._memory_lock = threading.Lock()  # tasks run in a pool of threads
        self._torch_devices: dict[str, Any] = {}
        self.placement: dict[str, str] = {}  # node id -> device, where placement chose one
        self._local = threading.local()  # the device of the task this thread runs

    # -- plumbing -------------------------------------------------------------

    @property
    def device(self):
        name = getattr(self._local, "device", None) or self.device_name
        if name not in self._torch_devices:
            import torch

            self._torch_devices[name] = torch.device(name)
        return self._torch_devices[name]

    def artifact(self, node_id: str) -> Artifact:
        with self._memory_lock:
            found = self._memory.get(node_id)
        if found is None:
            found = self.cache.load(node_id)
            self._remember(node_id, found)
        return found

    def _remember(self, node_id: str, artifact: Artifact) -> None:
        with self._memory_lock:
            self._memory[node_id] = artifact
            while len(self._memory) > 256:
                self._memory.popitem(last=False)

    def execute(self, task: Task) -> None:
        """Compute the task's nodes that are not cached, under their locks, and store them."""
        self._local.device = self.placement.get(task.ids[0])
        locks = [self.cache.lock(node_id) for node_id in sorted(task.ids)]
        for lock in locks:
            lock.__enter__()
        try:
            todo = [node for node in task.nodes if not self.cache.has(node.id)]
            if not todo:
                return
            try:
                artifacts = getattr(self, f"_{todo[0].op}")(todo)
            except errors.RunError:
                raise
            except Exception as error:
                node = todo[0]
                raise errors.RunError(
                    errors.NODE_FAILED,
                    f"{node.op} '{node.name}' failed: {type(error).__name__}: {error}",
                    "if the spec and the data look right, this is a bug in homogc: "
                    "run again with --debug for the traceback, and report it",
                    node.origin,
                ) from error
            for node, artifact in zip(todo, artifacts, strict=True):
                self.cache.store(node.id, artifact)
                self._remember(node.id, artifact)
        finally:
            for lock in reversed(locks):
                lock.__exit__(None, None, None)

    def _node(self, node_id: str) -> Node:
        return self.graph.nodes[node_id]

    # -- data -----------------------------------------------------------------

    def _load(self, nodes: list[Node]) -> list[Artifact]:
        out = []
        for node in nodes:
            p = node.params
            loaded = data.load(p["source"], p["split"], p["seed"], self.base, node.origin)
            if p.get("smoke_rows"):
                loaded = _smoke(loaded, p["smoke_rows"], p["split"], p["seed"])
            meta = {"classes": loaded.classes, "examples": len(loaded.labels), "folds": len(loaded.splits)}
            out.append(Artifact(meta, loaded.arrays()))
        return out

    def loaded(self, load_id: str) -> data.Loaded:
        return data.Loaded.from_arrays(self.artifact(load_id).arrays)

    def _view(self, nodes: list[Node]) -> list[Artifact]:
        out = []
        for node in nodes:
            loaded = self.loaded(node.deps[0])
            values = data.field(loaded, node.params["field"], node.origin)
            arrays = {
                f"x.{fold}": transforms.apply_transforms(values, node.params["transforms"], split.train)
                for fold, split in enumerate(loaded.splits)
            }
            out.append(Artifact({"shape": list(arrays["x.0"].shape[1:])}, arrays))
        return out

    def _inputs(self, fit: Node, fold: int) -> tuple[list[np.ndarray], data.Loaded]:
        views = list(fit.deps)
        loaded = self.loaded(self._node(views[0]).deps[0])
        return [self.artifact(v).arrays[f"x.{fold}"] for v in views], loaded

    # -- learners -------------------------------------------------------------

    def _fit(self, nodes: list[Node]) -> list[Artifact]:
        params = with_point(nodes[0].params)
        point = params["point"]
        inputs, loaded = self._inputs(nodes[0], point.get("fold", 0))
        split = loaded.splits[point.get("fold", 0)]
        if params["backend"] == "sklearn":
            return [self._fit_sklearn(node, inputs[0], loaded, split) for node in nodes]
        from . import training

        classes = len(loaded.classes)
        train_data = self._train_data(inputs, loaded, split, classes)
        start = time.perf_counter()
        if is_vectorisable(params):
            seeds = [node.params["point"]["seed"] for node in nodes]
            replicas = training.train_group(
                params, train_data, seeds, point["width"], point["data_fraction"], self.device
            )
        else:
            replicas = [
                training.train_one(
                    params,
                    train_data,
                    n.params["point"]["seed"],
                    point["width"],
                    point["data_fraction"],
                    self.device,
                )
                for n in nodes
            ]
        seconds = (time.perf_counter() - start) / len(nodes)
        return [
            Artifact(
                {
                    "curves": r.curves,
                    "parameters": r.parameters,
                    "epochs": r.epochs,
                    "group": len(nodes),
                    "seconds": seconds,
                },
                {f"state.{k}": v for k, v in r.state.items()},
            )
            for r in replicas
        ]

    def _train_data(self, inputs, loaded, split, classes: int):
        import torch

        from .training import TrainData

        tensors = [torch.as_tensor(x, dtype=torch.float32, device=self.device) for x in inputs]
        return TrainData(
            tensors,
            torch.as_tensor(loaded.labels, device=self.device),
            split.train,
            split.validation,
            classes,
            [tuple(x.shape[1:]) for x in inputs],
        )

    def _fit_sklearn(self, node: Node, x: np.ndarray, loaded: data.Loaded, split: data.Split) -> Artifact:
        point = node.params["point"]
        train = data.subsample(split.train, loaded.labels, point["data_fraction"], point["seed"])
        start = time.perf_counter()
        model = sklearn_learners.fit(
            node.id, node.params["arch"], x[train], loaded.labels[train], point["seed"]
        )
        accuracy = float((model.predict(x[train].reshape(len(train), -1)) == loaded.labels[train]).mean())
        meta = {
            "curves": {"accuracy": [accuracy]},
            "parameters": sklearn_learners.parameter_count(model),
            "epochs": 1,
            "group": 1,
            "seconds": time.perf_counter() - start,
        }
        return Artifact(meta, {})

    def _predict(self, nodes: list[Node]) -> list[Artifact]:
        return [self._predict_one(node) for node in nodes]

    def outputs(self, fit: Node, inputs: list[np.ndarray], loaded: data.Loaded, layers: list[str]):
        """Probabilities and requested layers of a trained learner on `inputs`."""
        params = fit.params
        classes = len(loaded.classes)
        params = with_point(params)
        if params["backend"] == "sklearn":
            point = params["point"]
            split = loaded.splits[point.get("fold", 0)]
            train = data.subsample(split.train, loaded.labels, point["data_fraction"], point["seed"])
            x_train = self._inputs(fit, point.get("fold", 0))[0][0][train]
            model = sklearn_learners.fitted(
                fit.id, params["arch"], x_train, loaded.labels[train], point["seed"]
            )
            probabilities, logits = sklearn_learners.outputs(model, inputs[0], classes, "logits" in layers)
            return probabilities, {"logits": logits} if logits is not None else {}
        import torch

        from . import training

        state = {k[6:]: v for k, v in self.artifact(fit.id).arrays.items() if k.startswith("state.")}
        tensors = [torch.as_tensor(x, dtype=torch.float32, device=self.device) for x in inputs]
        if is_vectorisable(params):
            logits, features = training.replica_outputs(
                params, state, tensors, params["point"]["width"], self.device
            )
        else:
            shapes = [tuple(x.shape[1:]) for x in inputs]
            logits, features = training.network_outputs(
                params, state, shapes, classes, params["point"]["width"], tensors, self.device
            )
        probabilities = torch.softmax(logits.float(), dim=1).cpu().numpy().astype(np.float64)
        found = {"penultimate": features.float().cpu().numpy(), "logits": logits.float().cpu().numpy()}
        return probabilities, {k: v for k, v in found.items() if k in layers}

    def _domain_inputs(self, fit: Node, domain: str, fold: int) -> tuple[list[np.ndarray], np.ndarray]:
        """Every example of another dataset, through transforms fitted on this training split."""
        other = self.loaded(next(n for n in self.graph.of_op("load") if n.name == domain).id)
        inputs = []
        for view_id in fit.deps:
            view = self._node(view_id)
            own = self.loaded(view.deps[0])
            values = np.concatenate(
                [
                    data.field(own, view.params["field"], view.origin),
                    data.field(other, view.params["field"], view.origin),
                ]
            )
            transformed = transforms.apply_transforms(
                values, view.params["transforms"], own.splits[fold].train
            )
            inputs.append(transformed[len(own.labels) :])
        names = [own.classes.index(c) if c in own.classes else -1 for c in other.classes]
        if -1 in names:
            unknown = [c for c in other.classes if c not in own.classes]
            raise errors.RunError(
                errors.DATA_FIELD_MISSING,
                f"dataset '{domain}' has classes the learners never saw: {unknown}",
                "a domain shift needs the same classes",
                self._node(fit.deps[0]).origin,
            )
        return inputs, np.array(names)[other.labels]

    def _predict_one(self, node: Node) -> Artifact:
        fit = self._node(node.deps[0])
        fold = fit.params["point"].get("fold", 0)
        inputs, loaded = self._inputs(fit, fold)
        test = loaded.splits[fold].test
        truth = loaded.labels[test]
        if node.params.get("domain"):
            inputs, truth = self._domain_inputs(fit, node.params["domain"], fold)
            test = np.arange(len(truth))
        shifted = []
        for name, x in zip(fit.params["inputs"], inputs, strict=True):
            x = x[test]
            shift = node.params["shifts"].get(name)
            if shift is not None:
                x = transforms.shift(x, shift, derived_seed(self.seed, node.params["condition"], name, fold))
            shifted.append(x)
        probabilities, layers = self.outputs(fit, shifted, loaded, node.params["representations"])
        arrays = {
            "probabilities": probabilities,
            "labels": probabilities.argmax(axis=1),
            "truth": truth,
        }
        arrays.update({f"layer.{k}": v for k, v in layers.items()})
        return Artifact({"condition": node.params["condition"], "examples": len(test)}, arrays)

    def _late_fuse(self, nodes: list[Node]) -> list[Artifact]:
        out = []
        for node in nodes:
            predictions = [
                self.artifact(d).arrays for d in node.deps if self._node(d).op in ("predict", "late_fuse")
            ]
            stacked = np.stack([p["probabilities"] for p in predictions])
            strategy = node.params["strategy"]["name"]
            meta: dict[str, Any] = {"strategy": strategy}
            if strategy == "vote":
                classes = stacked.shape[2]
                votes = np.stack([np.bincount(row, minlength=classes) for row in stacked.argmax(axis=2).T])
                # Ties go to the class with the highest mean probability, so a vote is never arbitrary.
                probabilities = votes / len(predictions) + 1e-9 * stacked.mean(axis=0)
                probabilities = probabilities / probabilities.sum(axis=1, keepdims=True)
            elif strategy == "weighted":
                weights = self._learned_weights(node)
                meta["weights"] = weights.tolist()
                probabilities = np.tensordot(weights, stacked, axes=1)
            else:
                probabilities = stacked.mean(axis=0)
            arrays = {
                "probabilities": probabilities,
                "labels": probabilities.argmax(axis=1),
                "truth": predictions[0]["truth"],
            }
            out.append(Artifact(meta, arrays))
        return out

    def _learned_weights(self, node: Node) -> np.ndarray:
        """Softmax-normalised weights minimising the log-loss of the mixture on held-out training data."""
        fits = [self._node(d) for d in node.deps if self._node(d).op == "fit"]
        fold = fits[0].params["point"].get("fold", 0)
        mixtures = []
        for fit in fits:
            inputs, loaded = self._inputs(fit, fold)
            split = loaded.splits[fold]
            held_out = split.validation if len(split.validation) else split.train
            probabilities, _ = self.outputs(fit, [x[held_out] for x in inputs], loaded, [])
            mixtures.append(probabilities)
        truth = loaded.labels[held_out]
        stacked = np.stack(mixtures)  # (m, n, classes)
        chosen = stacked[:, np.arange(len(truth)), truth]  # (m, n)
        logits = np.zeros(len(fits))
        for _ in range(500):  # gradient descent on the mean negative log-likelihood
            weights = np.exp(logits - logits.max())
            weights /= weights.sum()
            mixture = np.clip(weights @ chosen, 1e-12, None)
            gradient_w = -(chosen / mixture).mean(axis=1)
            logits -= 0.5 * weights * (gradient_w - weights @ gradient_w)
        weights = np.exp(logits - logits.max())
        return weights / weights.sum()

    # -- results --------------------------------------------------------------

    def _metric(self, nodes: list[Node]) -> list[Artifact]:
        from .evaluate import evaluate_metric

        out = []
        for node in nodes:
            runs = node.params["runs"]
            arrays = {run["node"]: self.artifact(run["node"]).arrays for run in runs}
            result = evaluate_metric(node.params["metric"], runs, arrays, self.seed, self._group_values)
            out.append(Artifact({"result": _finite(result)}, {}))
        return out

    def _group_values(self, reference: str, fold: int) -> np.ndarray:
        dataset, name = reference.split(".")
        load = next(n for n in self.graph.of_op("load") if n.name == dataset)
        loaded = self.loaded(load.id)
        return data.field(loaded, name, load.origin)[loaded.splits[fold].test]

    def _report(self, nodes: list[Node]) -> list[Artifact]:
        out = []
        for node in nodes:
            metrics = {}
            fits = {}
            for dep in node.deps:
                dep_node = self._node(dep)
                if dep_node.op == "metric":
                    metrics[dep_node.name] = self.artifact(dep).meta["result"]
                else:
                    meta = self.artifact(dep).meta
                    fits[dep_node.name] = {k: meta[k] for k in ("curves", "parameters", "epochs", "seconds")}
            results = {
                "experiment": node.params["experiment"],
                "report": node.params["report"],
                "conditions": node.params["conditions"],
                "learners": node.params["learners"],
                "metrics": metrics,
                "fits": fits,
            }
            out.append(Artifact({"results": _finite(results)}, {}))
        return out


def _finite(value: Any) -> Any:
    """JSON has no NaN: an undefined number is written as null (each such metric says why in a note)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, np.ndarray):
        return _finite(value.tolist())
    if isinstance(value, np.generic):
        return _finite(value.item())
    return value


def _smoke(loaded: data.Loaded, rows: int, split: dict[str, Any], seed: int) -> data.Loaded:
    """A stratified sample of at most `rows` examples, split anew: the reduced mode of --smoke."""
    if len(loaded.labels) <= rows:
        return loaded
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(
        np.arange(len(loaded.labels)), train_size=rows, random_state=seed, stratify=loaded.labels
    )
    keep = np.sort(keep)
    labels = loaded.labels[keep]
    fields = {name: values[keep] for name, values in loaded.fields.items()}
    return data.Loaded(fields, labels, loaded.classes, data.make_splits(labels, split, seed))
