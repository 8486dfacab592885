"""Benchmark: seed sweeps in homogc against a lean plain PyTorch script, whole processes.

    python -m tests.bench.replicas_bench [--rows mlp,cnn,...] [--seeds 10] [--scaling] [--device cpu]

Each row trains one learner over 10 seeds on scikit-learn's digits (holdout 0.25,
stratified; 20 epochs, batch 128, Adam lr 1e-3, no early stopping) twice, each in its
own process, in this run: `homogc run` of a spec (compile, load, train the replicas as
one group, predict, score, report; cold cache) and a plain script doing the same work
the way a user would write it (sklearn's split, standardisation, torch.nn modules,
`torch.optim.Adam`, direct tensor indexing with `torch.randperm` batches, no
DataLoader, one seed after another). Printed: wall seconds, CPU seconds, peak memory
(RSS) and mean test accuracy of each, and the ratio homogc / plain; then the plain
script's wall seconds with one torch thread (`torch.set_num_threads(1)`, which homogc's
CPU groups use) and homogc's ratio to that, the harder baseline on a busy machine.

`--scaling` adds the MLP at 5 / 10 / 20 / 50 seeds and on 50,000 / 200,000 generated
examples (64 features, 10 classes, 3 epochs, batch 512): the cost exponents
d log(time) / d log(seeds or examples), and peak memory against the plain script.
`--profile ROW` prints the top torch operations (torch.profiler) of homogc's group
for one row, in process.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

EPOCHS, BATCH, LR = 20, 128, 1e-3
ONE_THREAD_ONLY = False  # --one-thread-baseline: skip the plain script at torch's default threads

DIGITS = """
dataset digits {
  source = sklearn.digits
  split  = holdout(test = 0.25)
}

modality flat {
  from      = digits.image
  type      = vector
  transform = [flatten, standardize]
}

modality pixels {
  from      = digits.image
  type      = image
  transform = [standardize]
}

modality rows {
  from      = digits.image
  type      = sequence
  transform = [standardize]
}

modality left {
  from      = digits.image
  type      = vector
  transform = [crop(columns = [0, 4]), flatten, standardize]
}

modality right {
  from      = digits.image
  type      = vector
  transform = [crop(columns = [4, 8]), flatten, standardize]
}
"""

SPEC = """
experiment "bench" {
  seed   = 0
  device = DEVICE
}
DATA
LEARNER

train {
  epochs     = EPOCHS
  batch_size = BATCH
  optimizer  = adam(lr = LR)
}

sweep {
  seed = 0..LAST
}

metrics {
  accuracy
}
"""

# The plain script: data as a user prepares it, then one seed after another.
PLAIN_DIGITS = """
import sys, numpy as np, torch
from torch import nn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

device = torch.device(sys.argv[1])
if len(sys.argv) > 2:
    torch.set_num_threads(int(sys.argv[2]))  # the second baseline: a user who tunes threads
digits = load_digits()
images = digits.images.astype(np.float32)
train, test = train_test_split(np.arange(len(images)), test_size=0.25, random_state=0, stratify=digits.target)
y = torch.tensor(digits.target, device=device)

def standardize(x):
    mean, std = x[train].mean(0), x[train].std(0)
    return torch.tensor((x - mean) / np.where(std > 0, std, 1), device=device)

flat, pixels, rows = standardize(images.reshape(len(images), -1)), standardize(images), standardize(images)
left = standardize(images[:, :, 0:4].reshape(len(images), -1))
right = standardize(images[:, :, 4:8].reshape(len(images), -1))
classes = 10
"""

PLAIN_GENERATED = """
import sys, numpy as np, torch
from torch import nn
from sklearn.model_selection import train_test_split

device = torch.device(sys.argv[1])
if len(sys.argv) > 2:
    torch.set_num_threads(int(sys.argv[2]))
with np.load("data.npz") as data:
    x, target = data["x"], data["y"]
train, test = train_test_split(np.arange(len(x)), test_size=0.25, random_state=0, stratify=target)
mean, std = x[train].mean(0), x[train].std(0)
flat = torch.tensor((x - mean) / np.where(std > 0, std, 1), device=device)
y = torch.tensor(target, device=device)
classes = 10
"""

PLAIN_LOOP = """
train_t, test_t = torch.tensor(train, device=device), torch.tensor(test, device=device)
accuracies = []
for seed in range(SEEDS):
    torch.manual_seed(seed)
    model = make_model().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    for epoch in range(EPOCHS):
        model.train()
        order = train_t[torch.randperm(len(train_t), device=device)]
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            loss = nn.functional.cross_entropy(model(*(x[batch] for x in INPUTS)), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        predicted = model(*(x[test_t] for x in INPUTS)).argmax(1)
    accuracies.append((predicted == y[test_t]).float().mean().item())
print("accuracy", sum(accuracies) / len(accuracies))
"""

MLP_ENCODER = "encoder  = mlp(hidden = [64])\n  head     = mlp(hidden = [64])"

# Plain modules, as a user writes them: torch.nn's own layers wherever torch has one.
PLAIN_MODELS = {
    "mlp": """
def make_model():
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, classes))
""",
    "cnn": """
class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.out = nn.Linear(32 * 2 * 2, classes)
    def forward(self, x):
        return self.out(self.body(x.unsqueeze(1)).flatten(1))
make_model = CNN
""",
    "gru": """
class GRU(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn, self.out = nn.GRU(8, 64, batch_first=True), nn.Linear(64, classes)
    def forward(self, x):
        return self.out(self.rnn(x)[0][:, -1])
make_model = GRU
""",
    "transformer": """
class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(8, 32)
        layer = nn.TransformerEncoderLayer(32, 4, 64, 0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.out = nn.Linear(32, classes)
    def forward(self, x):
        return self.out(self.encoder(self.embed(x)).mean(1))
make_model = Transformer
""",
}

PLAIN_FUSION = """
class Fusion(nn.Module):
    def __init__(self):
        super().__init__()
        self.left = nn.Sequential(nn.Linear(32, 64), nn.ReLU())
        self.right = nn.Sequential(nn.Linear(32, 64), nn.ReLU())
        FUSE
        self.head = nn.Sequential(nn.Linear(WIDTH, 64), nn.ReLU(), nn.Linear(64, classes))
    def forward(self, a, b):
        a, b = self.left(a), self.right(b)
        return self.head(FUSED)
make_model = Fusion
"""

# strategy -> (homogc parameters, plain __init__ lines, plain fused expression, fused width)
FUSIONS = {
    "concat": ("", "", "torch.cat([a, b], 1)", "128"),
    "sum": (
        "(dim = 32)",
        "self.pa, self.pb = nn.Linear(64, 32), nn.Linear(64, 32)",
        "self.pa(a) + self.pb(b)",
        "32",
    ),
    "product": (
        "(dim = 32)",
        "self.pa, self.pb = nn.Linear(64, 32), nn.Linear(64, 32)",
        "self.pa(a) * self.pb(b)",
        "32",
    ),
    "gated": (
        "(dim = 32)",
        "self.ha, self.hb = nn.Linear(64, 32, bias=False), nn.Linear(64, 32, bias=False)\n"
        "        self.gate = nn.Linear(128, 64, bias=False)",
        "(torch.softmax(self.gate(torch.cat([a, b], 1)).view(-1, 2, 32), 1)"
        " * torch.stack([torch.tanh(self.ha(a)), torch.tanh(self.hb(b))], 1)).sum(1)",
        "32",
    ),
    "attention": (
        "(dim = 32, heads = 4)",
        "self.pa, self.pb = nn.Linear(64, 32), nn.Linear(64, 32)\n"
        "        self.attention = nn.MultiheadAttention(32, 4, batch_first=True)",
        "self.attention(*[torch.stack([self.pa(a), self.pb(b)], 1)] * 3, need_weights=False)[0].mean(1)",
        "32",
    ),
    "tensor": (
        "(dim = 8)",
        "self.pa, self.pb = nn.Linear(64, 8), nn.Linear(64, 8)",
        "torch.einsum('ni,nj->nij', nn.functional.pad(self.pa(a), (1, 0), value=1.0),"
        " nn.functional.pad(self.pb(b), (1, 0), value=1.0)).flatten(1)",
        "81",
    ),
    "low_rank_tensor": (
        "(rank = 4, dim = 32)",
        "self.fa = nn.Parameter(nn.init.xavier_normal_(torch.empty(4, 65, 32)))\n"
        "        self.fb = nn.Parameter(nn.init.xavier_normal_(torch.empty(4, 65, 32)))\n"
        "        self.w = nn.Parameter(nn.init.xavier_normal_(torch.empty(1, 4)))\n"
        "        self.bias = nn.Parameter(torch.zeros(1, 32))",
        "torch.einsum('r,rno->no', self.w[0],"
        " torch.einsum('ni,rio->rno', nn.functional.pad(a, (1, 0), value=1.0), self.fa)"
        " * torch.einsum('ni,rio->rno', nn.functional.pad(b, (1, 0), value=1.0), self.fb)) + self.bias",
        "32",
    ),
    "film": (
        "(dim = 32)",
        "self.features, self.condition = nn.Linear(64, 32), nn.Linear(64, 64)",
        "(lambda gb: gb[0] * self.features(a) + gb[1])(self.condition(b).chunk(2, 1))",
        "32",
    ),
}


@dataclass
class Row:
    name: str
    learner: str  # the spec's learner declaration
    plain: str  # the plain script's model definition
    inputs: str  # the plain script's inputs, in order


def _model(arch: str, modality: str) -> str:
    return f"model m {{\n  input = {modality}\n  arch  = {arch}\n}}"


def rows() -> dict[str, Row]:
    transformer = "transformer(dim = 32, heads = 4, layers = 2, dropout = 0.1)"
    found = {
        "mlp": Row("mlp", _model("mlp(hidden = [64, 64])", "flat"), PLAIN_MODELS["mlp"], "flat"),
        "cnn": Row(
            "cnn", _model("cnn(channels = [16, 32], dropout = 0.0)", "pixels"), PLAIN_MODELS["cnn"], "pixels"
        ),
        "gru": Row("gru", _model("gru(hidden = 64)", "rows"), PLAIN_MODELS["gru"], "rows"),
        "transformer": Row("transformer", _model(transformer, "rows"), PLAIN_MODELS["transformer"], "rows"),
    }
    for strategy, (params, init, fused, width) in FUSIONS.items():
        encoder = "mlp(hidden = [64])"
        head = "mlp(hidden = [64])"
        learner = (
            f"fusion m {{\n  inputs   = [left, right]\n  strategy = {strategy}{params}\n"
            f"  encoder  = {encoder}\n  head     = {head}\n}}"
        )
        plain = PLAIN_FUSION.replace("FUSED", fused).replace("FUSE", init or "pass").replace("WIDTH", width)
        found[f"fusion {strategy}"] = Row(f"fusion {strategy}", learner, plain, "left, right")
    return found


@dataclass
class Measured:
    wall: float
    cpu: float
    peak_mib: float
    accuracy: float
    single_thread: float = math.nan  # the plain script's wall seconds with one torch thread


def _run(command: list[str], cwd: Path) -> tuple[Measured, str]:
    """Wall and CPU seconds and peak RSS of one whole process, measured by a wrapper process of
    which it is the only child (so RUSAGE_CHILDREN is its own)."""
    wrapper = (
        "import os, resource, subprocess, sys, time\n"
        "start = time.perf_counter()\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "wall = time.perf_counter() - start\n"
        "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "sys.stdout.write(done.stdout)\n"
        "sys.stderr.write(done.stderr)\n"
        "print('MEASURED', wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)\n"
        "sys.exit(done.returncode)\n"
    )
    done = subprocess.run([sys.executable, "-c", wrapper, *command], cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{command} failed:\n{done.stderr[-3000:]}")
    *out, last = done.stdout.strip().splitlines()
    _, wall, cpu, peak = last.split()
    return Measured(float(wall), float(cpu), float(peak), math.nan), "\n".join(out)


def _homogc_accuracy(folder: Path) -> float:
    import csv

    (run,) = sorted((folder / "runs").iterdir())
    with (run / "scores.csv").open() as file:
        values = [float(r["value"]) for r in csv.DictReader(file) if r["metric"] == "accuracy"]
    return sum(values) / len(values)


def compare(
    row: Row, seeds: int, device: str, folder: Path, data: str = DIGITS, plain_data: str = PLAIN_DIGITS,
    epochs: int = EPOCHS, batch: int = BATCH,
) -> tuple[Measured, Measured]:  # fmt: skip
    """(homogc, plain) for one row, each a whole process, the homogc run from a cold cache."""
    write(row, seeds, device, folder, data, plain_data, epochs, batch)
    single, out = _run([sys.executable, "plain.py", device, "1"], folder)
    single.accuracy = float(out.split()[-1])
    if ONE_THREAD_ONLY:
        plain = single
    else:
        plain, _ = _run([sys.executable, "plain.py", device], folder)
        plain.accuracy = single.accuracy
    plain.single_thread = single.wall
    ours, _ = _run([sys.executable, "-m", "homog.runtime", "run", "--quiet", "bench.homog"], folder)
    ours.accuracy = _homogc_accuracy(folder)
    return ours, plain


def write(
    row: Row, seeds: int, device: str, folder: Path, data: str = DIGITS, plain_data: str = PLAIN_DIGITS,
    epochs: int = EPOCHS, batch: int = BATCH,
) -> None:  # fmt: skip
    """The row's spec (bench.homog) and plain script (plain.py) in `folder`, with an empty cache."""
    shutil.rmtree(folder / ".homog", ignore_errors=True)
    shutil.rmtree(folder / "runs", ignore_errors=True)
    spec = (
        SPEC.replace("DATA", data)
        .replace("LEARNER", row.learner)
        .replace("DEVICE", device)
        .replace("EPOCHS", str(epochs))
        .replace("BATCH", str(batch))
        .replace("LR", f"{LR:g}")
        .replace("LAST", str(seeds - 1))
    )
    (folder / "bench.homog").write_text(spec)
    script = (
        plain_data
        + row.plain
        + PLAIN_LOOP.replace("SEEDS", str(seeds))
        .replace("EPOCHS", str(epochs))
        .replace("BATCH", str(batch))
        .replace("LR", repr(LR))
        .replace("INPUTS", f"({row.inputs},)")
    )
    (folder / "plain.py").write_text(script)


def _print(name: str, ours: Measured, plain: Measured) -> None:
    print(
        f"{name:<24} {plain.wall:8.2f} {ours.wall:8.2f} {ours.wall / plain.wall:6.2f}  "
        f"{plain.cpu:8.2f} {ours.cpu:8.2f} {ours.cpu / plain.cpu:6.2f}  "
        f"{plain.peak_mib:7.0f} {ours.peak_mib:7.0f} {ours.peak_mib / plain.peak_mib:5.2f}  "
        f"{plain.accuracy:.3f} {ours.accuracy:.3f}  "
        f"{plain.single_thread:8.2f} {ours.wall / plain.single_thread:6.2f}",
        flush=True,
    )


HEADER = (
    f"{'row':<24} {'plain s':>8} {'homogc':>8} {'ratio':>6}  {'plain cpu':>8} {'homogc':>8} {'ratio':>6}  "
    f"{'plainMiB':>7} {'homogc':>7} {'ratio':>5}  acc plain/homogc  {'plain 1t':>8} {'ratio':>6}"
)


def scaling(device: str, folder: Path) -> None:
    import numpy as np

    mlp = rows()["mlp"]
    print("\nseeds (MLP on digits, 20 epochs):")
    print(HEADER)
    times = {}
    for seeds in (5, 10, 20, 50):
        ours, plain = compare(mlp, seeds, device, folder)
        times[seeds] = (ours, plain)
        _print(f"mlp x{seeds} seeds", ours, plain)
    for a, b in ((5, 50), (10, 50)):
        exponent = math.log(times[b][0].wall / times[a][0].wall) / math.log(b / a)
        plain_exponent = math.log(times[b][1].wall / times[a][1].wall) / math.log(b / a)
        print(f"cost exponent in seeds {a}->{b}: homogc {exponent:.2f}, plain {plain_exponent:.2f}")
        cpu = math.log(times[b][0].cpu / times[a][0].cpu) / math.log(b / a)
        plain_cpu = math.log(times[b][1].cpu / times[a][1].cpu) / math.log(b / a)
        print(f"  in CPU seconds (less noisy on a shared machine): homogc {cpu:.2f}, plain {plain_cpu:.2f}")
    peaks = [times[s][0].peak_mib for s in times]
    print(f"homogc peak memory over 5..50 seeds: {min(peaks):.0f}..{max(peaks):.0f} MiB (flat = same)")
    print("\nexamples (MLP, 64 generated features, 10 seeds, 3 epochs, batch 512):")
    print(HEADER)
    data = (
        '\ndataset digits {\n  source = npz("data.npz", label = "y")\n  split  = holdout(test = 0.25)\n}\n\n'
    )
    data += "modality flat {\n  from      = digits.x\n  type      = vector\n  transform = [standardize]\n}\n"
    sized = {}
    for n in (50_000, 200_000):
        rng = np.random.default_rng(0)
        centres = rng.standard_normal((10, 64)).astype(np.float32)
        y = rng.integers(0, 10, n)
        x = centres[y] + 2 * rng.standard_normal((n, 64)).astype(np.float32)
        np.savez(folder / "data.npz", x=x, y=y)
        ours, plain = compare(mlp, 10, device, folder, data, PLAIN_GENERATED, epochs=3, batch=512)
        sized[n] = (ours, plain)
        _print(f"mlp {n:,} examples", ours, plain)
    exponent = math.log(sized[200_000][0].wall / sized[50_000][0].wall) / math.log(4)
    plain_exponent = math.log(sized[200_000][1].wall / sized[50_000][1].wall) / math.log(4)
    cpu = math.log(sized[200_000][0].cpu / sized[50_000][0].cpu) / math.log(4)
    print(f"  in CPU seconds: homogc {cpu:.2f}")
    print(
        f"cost exponent in examples 50,000->200,000: homogc {exponent:.2f} (goal <= 1.05), "
        f"plain {plain_exponent:.2f}"
    )


def profile(name: str, device: str, folder: Path) -> None:
    """The top torch operations of a whole `homogc run` of one row (10 seeds, 2 epochs), in process."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    from homog.runtime.cli import main as homogc

    write(rows()[name], 10, device, folder, epochs=2)
    shutil.rmtree(folder / ".homog", ignore_errors=True)
    os.chdir(folder)
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        homogc(["run", "--quiet", "bench.homog"])
    print(f"\nprofile of homogc run, {name}, 10 seeds, 2 epochs (torch operations, self CPU time):")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--rows", default="", help="comma-separated row names (default: all)")
    parser.add_argument("--scaling", action="store_true")
    parser.add_argument("--profile", default="", help="comma-separated rows to profile")
    parser.add_argument(
        "--one-thread-baseline",
        action="store_true",
        help="only the plain script with one torch thread (at the default threads, a busy machine's "
        "plain script can take many times longer)",
    )
    args = parser.parse_args()
    global ONE_THREAD_ONLY
    ONE_THREAD_ONLY = args.one_thread_baseline
    import torch

    folder = Path(tempfile.mkdtemp(prefix="homogc-replicas-"))
    chosen = [r.strip() for r in args.rows.split(",") if r.strip()] or list(rows())
    print(
        f"device {args.device}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads;"
    )
    print(f"{args.seeds} seeds, {EPOCHS} epochs, batch {BATCH}, Adam {LR:g}; whole processes, this run")
    print(HEADER)
    try:
        for name in chosen:
            ours, plain = compare(rows()[name], args.seeds, args.device, folder)
            _print(name, ours, plain)
        if args.scaling:
            scaling(args.device, folder)
        for name in [r.strip() for r in args.profile.split(",") if r.strip()]:
            profile(name, args.device, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
