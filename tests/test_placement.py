"""Placing torch groups on devices: sizing, assignment, sharing a GPU, and `homogc run --plan`."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from homog.runtime.placement import Device, DeviceSlots, Group, assign, memory_estimate

from .conftest import run_cli
from .test_data import SPEC

GiB = 1 << 30


def _groups(*sizes: int) -> list[Group]:
    return [Group(f"g{i}", [f"fit{i}"], 1, 1, size * GiB) for i, size in enumerate(sizes)]


def test_groups_go_largest_first_to_the_least_loaded_device():
    groups = _groups(2, 8, 4, 6)
    assign(groups, [Device("cuda:0", 16 * GiB), Device("cuda:1", 16 * GiB)])
    where = {g.label: g.device for g in groups}
    # 8 -> cuda:0; 6 -> cuda:1; 4 -> cuda:1 (10 left vs 8); 2 -> cuda:0 (8 left vs 6): 10 GiB each.
    assert where == {"g1": "cuda:0", "g3": "cuda:1", "g2": "cuda:1", "g0": "cuda:0"}


def test_work_spreads_while_it_fits_and_the_rest_goes_where_memory_is():
    groups = _groups(4, 4, 4, 4, 4)
    assign(groups, [Device("cuda:0", 8 * GiB), Device("cuda:1", 24 * GiB)])
    # Alternating while both fit; cuda:0 is full after two, so the fifth goes to cuda:1.
    assert sorted(g.device for g in groups) == ["cuda:0", "cuda:0", "cuda:1", "cuda:1", "cuda:1"]
    too_big = _groups(30)
    assign(too_big, [Device("cuda:0", 8 * GiB), Device("cuda:1", 24 * GiB)])
    assert too_big[0].device == "cuda:1"


def test_one_device_takes_every_group():
    groups = _groups(1, 2)
    assign(groups, [Device("cpu", None)])
    assert {g.device for g in groups} == {"cpu"}


def _concurrency(slots: DeviceSlots, jobs: list[tuple[str, int]]) -> int:
    """The most jobs that held a slot at once."""
    active, peak, lock = [0], [0], threading.Lock()

    def job(device: str, memory: int) -> None:
        slots.acquire(device, memory)
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        slots.release(device, memory)

    threads = [threading.Thread(target=job, args=spec) for spec in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return peak[0]


def test_small_jobs_share_a_gpu_and_big_ones_wait():
    gpu = [Device("cuda:0", 10 * GiB)]
    assert _concurrency(DeviceSlots(gpu), [("cuda:0", 2 * GiB)] * 4) == 4
    assert _concurrency(DeviceSlots(gpu), [("cuda:0", 6 * GiB)] * 3) == 1
    assert _concurrency(DeviceSlots(gpu), [("cuda:0", 20 * GiB)] * 2) == 1  # too big: alone, never stuck


def test_the_cpu_runs_torch_jobs_one_at_a_time():
    assert _concurrency(DeviceSlots([Device("cpu", None)]), [("cpu", 1)] * 3) == 1


def test_plan_prints_each_group_with_its_memory_estimate_and_trains_nothing(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((80, 3)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=(x[:, 0] > 0).astype(int))
    spec = tmp_path / "data.homog"
    spec.write_text(SPEC.format(source='npz("d.npz", label = "y")', field="x").replace(
        "train {{\n  epochs = 2\n}}".replace("{{", "{").replace("}}", "}"),
        "train {\n  epochs     = 2\n  batch_size = 16\n}\n\nsweep {\n  seed = 0..2\n}",
    ))  # fmt: skip
    cache = tmp_path / "c"
    result = run_cli("run", "--plan", "--cache", str(cache), "--runs", str(tmp_path / "r"), str(spec))
    assert result.status == 0, result.stderr
    # mlp(hidden = [8]) on 3 features, 2 classes: 3*8 + 8 + 8*2 + 2 = 50 parameters; a forward
    # stores Linear 8, ReLU 8, Dropout 8 and the output 2 = 26 numbers per example; Adam keeps 2.
    expected = memory_estimate(50, 26, batch=16, replicas=3, optimizer="adam", data=80 * 3)
    assert expected == 50 * 3 * 4 * 4 + 26 * 16 * 3 * 4 * 2 + 80 * 3 * 4
    line = next(line for line in result.stdout.splitlines() if line.startswith("mlp"))
    assert line.split() == ["mlp", "x3", "seeds", "3", "50", f"{expected / 1024:.1f}", "KiB", "cpu"]
    assert "linear" not in result.stdout  # scikit-learn fits are not placed
    fits = [p for p in (cache / "names").iterdir()] if (cache / "names").exists() else []
    assert not (tmp_path / "r").exists() and len(fits) == 0  # no run directory, no fit remembered


@pytest.mark.gpu
def test_a_cuda_run_places_its_groups_and_agrees_with_the_cpu(tmp_path):
    import json

    rng = np.random.default_rng(0)
    x = rng.standard_normal((80, 3)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=(x[:, 0] > 0).astype(int))
    spec = tmp_path / "data.homog"
    spec.write_text(SPEC.format(source='npz("d.npz", label = "y")', field="x"))
    plan = run_cli("run", "--plan", "--device", "cuda", "--cache", str(tmp_path / "c"), str(spec))
    assert plan.status == 0 and "cuda:0" in plan.stdout, plan.stderr
    runs = {}
    for device in ("cpu", "cuda"):
        result = run_cli("run", "--quiet", "--device", device, "--cache", str(tmp_path / device),
                         "--runs", str(tmp_path / f"r-{device}"), str(spec))  # fmt: skip
        assert result.status == 0, result.stderr
        runs[device] = json.loads((tmp_path / f"r-{device}").glob("*/results.json").__next__().read_text())
    cpu, cuda = (runs[d]["metrics"]["accuracy"]["summary"] for d in ("cpu", "cuda"))
    assert [row["mean"] for row in cpu] == pytest.approx([row["mean"] for row in cuda], abs=0.05)
