#!/usr/bin/env bash
# One prepared run for a lent GPU machine: the CUDA tests, then the GPU benchmarks; everything it
# produces goes under $OUT (the device tool brings that folder back). Uses the machine's own python3
# (which holds torch) with this checkout on PYTHONPATH; nothing is installed.
#   device run: bash scripts/gpu_check.sh      (about 5 minutes on an H100)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-_build/gpu-check}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MLFLOW_ALLOW_FILE_STORE=true
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))"
} > "$OUT/machine.txt" 2>&1
python3 -m pytest -m cuda tests/test_cuda.py -p no:cacheprovider -q 2>&1 | tee "$OUT/cuda_tests.log"
tests_rc=${PIPESTATUS[0]}
python3 -m benchmarks.bench_cnn --device cuda --steps 10 2>&1 | tee "$OUT/bench_cnn.log"
cp benchmarks/results/cnn_stage1_cuda.json "$OUT/" 2>/dev/null || echo "no CUDA benchmark result written" | tee -a "$OUT/bench_cnn.log"
python3 -m benchmarks.bench_ptb --device cuda --repeats 5 2>&1 | tee "$OUT/bench_ptb.log"
cp benchmarks/results/ptb_stage1_cuda.json "$OUT/" 2>/dev/null || echo "no CUDA benchmark result written" | tee -a "$OUT/bench_ptb.log"
exit "$tests_rc"
