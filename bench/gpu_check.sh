#!/usr/bin/env bash
# The device check of the torch backend, in one run: about 5 minutes on the H100 machine
# (16 cores), at most 6 (each step has its own timeout: 70 + 45 + 240 s).
# Writes its logs under $OUT (default: ./gpu-out). Needs python3 with torch (CUDA),
# numpy, pytest, hypothesis and scikit-learn; regionscope is taken from src/.
set -o pipefail
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export PYTHONPATH=src PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/env.txt"
python3 -c "import torch, numpy; print('torch', torch.__version__, 'numpy', numpy.__version__)" \
    | tee -a "$OUT/env.txt"
# 1. one layer [2, 8192] cut on the GPU (regions/s, then its steps, synchronised), the same
#    cut at 2048 lines checked against NumPy, and the suite: NumPy against torch/cuda (cuts
#    below the library's host_below on the host), partitions checked identical
timeout 70 python3 bench/gpu.py --device cuda --width 8192 --check-width 2048 --stages \
    --repeat 1 --json "$OUT/gpu.json" 2>&1 | tee "$OUT/gpu.txt"
# 2. the torch backend's equality tests, every cut on the GPU (host_below=0)
REGIONSCOPE_TEST_DEVICE=cuda timeout 45 python3 -m pytest -q -x -p no:cacheprovider \
    tests/geometry/test_tensor.py 2>&1 | tail -4 | tee "$OUT/tests.txt"
# 3. the CIFAR-shaped CNN on windows of the shifted-patch plane: the host run with the
#    default backend (numba, as on the 2-core machine), then the torch backend (its large
#    cuts on the GPU, the rest on the host's compiled kernels); a small window first
#    compiles numba's kernels (about 80 s on one core), outside the timings
timeout 240 python3 bench/cnn_windows.py 0.1 0.2 0.3 --device cuda 2>&1 | tee "$OUT/cnn.txt"
