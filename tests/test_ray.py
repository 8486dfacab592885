"""The Ray executor passes the shared executor contract, on a local Ray instance the tests start and stop."""

from __future__ import annotations

import pytest

from .executor_contract import ExecutorContract

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'homogc[ray]'")


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


class TestRayExecutor(ExecutorContract):
    def executor(self):
        from homog.runtime.ray_executor import RayExecutor

        return RayExecutor(start=False)


def test_a_spec_runs_on_ray_with_the_same_predictions(tmp_path):
    import json
    import subprocess
    import sys

    import numpy as np

    from .test_run import SPEC

    spec = tmp_path / "small.homog"
    spec.write_text(SPEC)

    def run(*extra):
        command = [sys.executable, "-m", "homog.runtime", "run", "--quiet", *extra, spec.name]
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr
        return tmp_path / result.stdout.strip()

    local = run("--cache", "local")
    on_ray = run("--cache", "ray", "--executor", "ray")
    assert json.loads((on_ray / "status.json").read_text())["status"] == "complete"
    with np.load(local / "predictions.npz") as a, np.load(on_ray / "predictions.npz") as b:
        assert a.files == b.files
        for key in a.files:
            # Ray gives each task one thread; convolutions sum in another order than with two: ~1e-7 apart.
            np.testing.assert_allclose(a[key], b[key], atol=1e-5, rtol=0)
        labels = [key for key in a.files if key.endswith(".labels")]
        assert all(np.array_equal(a[key], b[key]) for key in labels)
