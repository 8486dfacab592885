#!/usr/bin/env bash
# The GPU checks, for a session that has a CUDA device: the `gpu`-marked tests, then the replica
# benchmark on the device (every row at 10 seeds, then the seed and data scaling), under 10 minutes
# on one H200-class GPU. Run from the repository root:  bash tests/bench/gpu_check.sh [python]
# Writes gpu_check.log (and, where $OUT is set, a copy there).
set -uo pipefail
PYTHON="${1:-python}"
LOG="${OUT:-.}/gpu_check.log"
{
  echo "== $(date -u +%FT%TZ) $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null)"
  "$PYTHON" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.__version__)" || exit 1
  echo "== gpu-marked tests"
  timeout 240 "$PYTHON" -m pytest -q -m gpu -p no:cacheprovider tests/ 2>&1 | tail -15
  echo "== replica benchmark, cuda, 10 seeds"
  timeout 240 "$PYTHON" -m tests.bench.replicas_bench --device cuda --seeds 10 \
    --rows "mlp,fusion concat,cnn,gru,transformer,fusion gated,fusion attention,fusion low_rank_tensor"
  echo "== scaling, cuda"
  timeout 150 "$PYTHON" -m tests.bench.replicas_bench --device cuda --rows mlp --seeds 10 --scaling
} 2>&1 | tee "$LOG"
