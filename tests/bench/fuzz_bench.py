"""Benchmark: fuzzed specs through the whole compiler, each timed and measured.

    python -m tests.bench.fuzz_bench [N]      (N defaults to 30,000)

Cases are built as tests/test_properties.py builds them: byte, character, token
and line mutations of the shipped specs, and valid specs generated from the
language (which compile cleanly, and so reach the last pass and the graph).
Each is compiled in-process by `homog.compiler.compile_text` and timed. Prints
the cases, the internal errors (exceptions escaping `compile_text`; there
should be none), the slowest case in seconds, and the process's peak resident
memory, an upper bound for every case's.
"""

from __future__ import annotations

import random
import re
import resource
import sys
import time
from pathlib import Path

SPECS = sorted(p for p in (Path(__file__).parent.parent.parent / "specs").glob("*.homog") if p.is_file())
_TEXTS = [path.read_text() for path in SPECS]
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[A-Za-z_]\w*|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|\.\.|#[^\n]*|\s+|.')
_SNIPPETS = [
    *'{}[](),="=.. \n#x0.5-9',
    "true",
    "experiment {",
    "..",
    "\\",
    "0..99999",
    "1e999",
    "9" * 30,
    "[" * 80,
    "f(" * 80,
    "zip(seed = [1, 2])",
    "seed = 4294967296",
    "k = 0",
    "early_stopping = patience",
    "validation = 0.2",
]


def byte_mutation(rng: random.Random, text: str) -> bytes:
    """Flip, set, delete or insert raw bytes (which may break UTF-8)."""
    data = bytearray(text.encode("utf-8"))
    for _ in range(rng.randint(1, 6)):
        position = rng.randrange(len(data) + 1)
        action = rng.choice(("flip", "set", "delete", "insert"))
        if action == "flip" and position < len(data):
            data[position] ^= 1 << rng.randrange(8)
        elif action == "set" and position < len(data):
            data[position] = rng.randrange(256)
        elif action == "delete":
            del data[position : position + rng.randint(1, 8)]
        else:
            data[position:position] = bytes([rng.randrange(256)])
    return bytes(data)


def char_mutation(rng: random.Random, text: str) -> str:
    """Delete, insert a snippet, or duplicate a stretch of characters."""
    for _ in range(rng.randint(1, 4)):
        position = rng.randrange(len(text) + 1)
        action = rng.choice(("delete", "insert", "duplicate"))
        if action == "delete":
            text = text[:position] + text[position + rng.randint(1, 8) :]
        elif action == "insert":
            text = text[:position] + rng.choice(_SNIPPETS) + text[position:]
        else:
            text = text[:position] + text[position : position + 20] + text[position:]
    return text


def token_mutation(rng: random.Random, text: str) -> str:
    """Delete, duplicate, swap or replace whole tokens, or copy one from another spec."""
    tokens = _TOKEN.findall(text)
    pool = _TOKEN.findall(rng.choice(_TEXTS))
    for _ in range(rng.randint(1, 5)):
        i = rng.randrange(len(tokens))
        action = rng.choice(("delete", "duplicate", "swap", "replace", "borrow"))
        if action == "delete":
            del tokens[i]
        elif action == "duplicate":
            tokens.insert(i, tokens[i] * rng.choice((1, 1, 2, 10)))
        elif action == "swap":
            j = rng.randrange(len(tokens))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif action == "replace":
            tokens[i] = rng.choice(_SNIPPETS)
        else:
            tokens[i] = rng.choice(pool)
        if not tokens:
            tokens = [""]
    return "".join(tokens)


def line_mutation(rng: random.Random, text: str) -> str:
    """Delete, duplicate, move or swap lines, or copy lines from another spec."""
    lines = text.splitlines(keepends=True) or ["\n"]
    other = rng.choice(_TEXTS).splitlines(keepends=True)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(lines))
        action = rng.choice(("delete", "duplicate", "move", "swap", "borrow"))
        if action == "delete" and len(lines) > 1:
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, lines[i])
        elif action == "move":
            lines.insert(rng.randrange(len(lines) + 1), lines.pop(i))
        elif action == "swap":
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            start = rng.randrange(len(other))
            lines[i:i] = other[start : start + rng.randint(1, 5)]
    return "".join(lines)


# --------------------------------------------------------------------------- valid specs

_DATASETS = {  # source -> (field, type, the transforms that make it a vector)
    "sklearn.digits": [("image", "image", []), ("image", "vector", ["flatten"]), ("features", "vector", [])],
    "sklearn.iris": [("features", "vector", [])],
    "sklearn.wine": [("features", "vector", ["standardize"])],
    "sklearn.breast_cancer": [("features", "vector", ["standardize"])],
}
_ARCHS = {
    "image": ["cnn()", "cnn(channels = [8], kernel = 3)", "mlp(hidden = [32])"],
    "vector": [
        "mlp()",
        "mlp(hidden = [64, 32], dropout = 0.1)",
        "mlp(hidden = [16], activation = tanh)",
        "sklearn.logistic_regression(c = 0.5)",
        "sklearn.random_forest(trees = 20)",
        "sklearn.knn(neighbors = 3)",
        "sklearn.svm(kernel = linear)",
        "sklearn.gradient_boosting(trees = 10)",
    ],
}
_METRICS = [
    "accuracy",
    "macro_f1",
    "f1(average = weighted)",
    "confusion",
    "log_loss",
    "spread(accuracy)",
    "agreement",
    "error_consistency",
    "cohen_kappa",
    "agreement_when_wrong",
    "cka(layer = logits)",
    "systemic_failure",
    "cluster(by = agreement)",
    "cluster(by = agreement, level = learners)",
    "cluster(by = agreement, method = kmeans, k = 2)",
]


def valid_spec(rng: random.Random) -> str:
    """A spec that compiles cleanly: one dataset, one to three modalities, two to five learners,
    maybe a fusion, a training block, a sweep and metrics comparing at least two runs."""
    source = rng.choice(list(_DATASETS))
    kfold = rng.random() < 0.3
    validation = rng.choice([0.0, 0.2])
    part = f", validation = {validation}" if validation else ""
    if kfold:
        split = f"kfold(k = {rng.randint(2, 4)}{part})"
    else:
        split = f"holdout(test = {rng.choice([0.2, 0.25, 0.3])}{part})"
    out = [f'experiment "fuzz" {{\n  seed = {rng.randint(0, 2**32 - 1)}\n  device = cpu\n}}\n']
    out.append(f"dataset data {{\n  source = {source}\n  split  = {split}\n}}\n")
    views = rng.sample(_DATASETS[source], k=rng.randint(1, len(_DATASETS[source])))
    modalities = []
    for index, (field, kind, transforms) in enumerate(views):
        name = f"m{index}"
        modalities.append((name, kind))
        listed = ", ".join(transforms)
        out.append(
            f"modality {name} {{\n  from = data.{field}\n  type = {kind}\n"
            + (f"  transform = [{listed}]\n" if transforms else "")
            + "}\n"
        )
    learners = []
    for index in range(rng.randint(2, 5)):
        modality, kind = rng.choice(modalities)
        # The first two are networks: every comparison (cka of logits too) has distinct runs.
        arch = rng.choice([a for a in _ARCHS[kind] if index > 1 or not a.startswith("sklearn")])
        learners.append(f"l{index}")
        own = ""
        if arch.startswith(("mlp", "cnn")) and rng.random() < 0.3:
            own = f"\n  train {{\n    epochs = {rng.randint(1, 5)}\n  }}\n"
        out.append(f"model l{index} {{\n  input = {modality}\n  arch  = {arch}{own}\n}}\n")
    if len(modalities) > 1 and rng.random() < 0.5:
        strategy = rng.choice(["concat", "sum(dim = 16)", "gated(dim = 8)"])
        inputs = ", ".join(name for name, _ in modalities)
        out.append(f"fusion early {{\n  inputs = [{inputs}]\n  strategy = {strategy}\n}}\n")
    if rng.random() < 0.4:
        out.append(f"fusion late {{\n  inputs = [l0, l1]\n  strategy = {rng.choice(['mean', 'vote'])}\n}}\n")
    train = [f"epochs = {rng.randint(1, 20)}", f"batch_size = {rng.choice([16, 32, 128])}"]
    train.append(rng.choice(["optimizer = adam(lr = 1e-3)", "optimizer = sgd(lr = 0.1)", ""]))
    if validation:
        train.append("early_stopping = patience(epochs = 2)")
    out.append("train {\n" + "".join(f"  {line}\n" for line in train if line) + "}\n")
    seeds = rng.randint(2, 4)
    axes = [f"seed = 0..{seeds - 1}"]
    if rng.random() < 0.4:
        axes.append("width = [0.5, 1]")
    if rng.random() < 0.3:
        axes.append("scale = zip(data_fraction = [0.5, 1], lr = [0.01, 0.001])")
    out.append("sweep {\n" + "".join(f"  {axis}\n" for axis in axes) + "}\n")
    metrics = rng.sample(_METRICS[:-1], k=rng.randint(1, 6))
    if rng.random() < 0.3:
        metrics.append(_METRICS[-1])
    out.append("metrics {\n" + "".join(f"  {metric}\n" for metric in metrics) + "}\n")
    if rng.random() < 0.3:
        out.append('report {\n  title = "fuzz"\n}\n')
    return "\n".join(out)


MUTATIONS = (byte_mutation, char_mutation, token_mutation, line_mutation)


def case(rng: random.Random) -> bytes | str:
    """One fuzz case: a valid spec (one in five), or a mutation of a shipped or a valid spec."""
    if rng.random() < 0.2:
        return valid_spec(rng)
    base = rng.choice(_TEXTS) if rng.random() < 0.7 else valid_spec(rng)
    return rng.choice(MUTATIONS)(rng, base)


def decode(data: bytes | str) -> str | None:
    """What `homogc check` compiles: the text, when it is UTF-8 (None when it is not: E004)."""
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def main(argv: list[str]) -> int:
    from homog.compiler import compile_text

    count = int(argv[0]) if argv else 30_000
    rng = random.Random(14)
    errors: list[tuple[int, str]] = []
    slowest = (0.0, -1)
    clean = 0
    start = time.perf_counter()
    for index in range(count):
        text = decode(case(rng))
        if text is None:
            continue
        began = time.perf_counter()
        try:
            clean += compile_text(text, "fuzz.homog").ok
        except Exception as error:  # an internal error: what `homogc check` exits 3 on
            errors.append((index, f"{type(error).__name__}: {error}"[:200]))
        seconds = time.perf_counter() - began
        slowest = max(slowest, (seconds, index))
    total = time.perf_counter() - start
    print(f"cases            {count:,}")
    print(f"compiled cleanly {clean:,}")
    print(f"internal errors  {len(errors)}")
    for index, message in errors[:10]:
        print(f"  case {index}: {message}")
    print(f"slowest case     {slowest[0]:.3f} s (case {slowest[1]})")
    # The process's peak resident memory bounds every case's (tracing each case would slow it 5x).
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    print(f"peak memory      {rss:.0f} MiB (the whole process, so an upper bound for every case)")
    print(f"total            {total:.1f} s")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
