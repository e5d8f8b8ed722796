#!/usr/bin/env bash
# The device check of the torch backend, in one run (about 6 minutes on an H100 machine).
# Writes its logs under $OUT (default: ./gpu-out). Needs python3 with torch (CUDA),
# numpy, pytest, hypothesis and scikit-learn; regionscope is taken from src/.
set -o pipefail
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export PYTHONPATH=src PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/env.txt"
python3 -c "import torch, numpy; print('torch', torch.__version__, 'numpy', numpy.__version__)" \
    | tee -a "$OUT/env.txt"
# 1. the torch backend's equality tests, on the GPU
REGIONSCOPE_TEST_DEVICE=cuda timeout 150 python3 -m pytest -q -x -p no:cacheprovider \
    tests/geometry/test_tensor.py 2>&1 | tail -4 | tee "$OUT/tests.txt"
# 2. one layer [2, 8192] on the GPU, checked against NumPy, and the suite
timeout 240 python3 bench/gpu.py --device cuda --width 8192 --check-width 8192 \
    --partition-width 4096 --repeat 1 --json "$OUT/gpu.json" 2>&1 | tee "$OUT/gpu.txt"
# 3. the CIFAR-shaped CNN on windows of the shifted-patch plane: host backend, then the GPU
timeout 150 python3 bench/cnn_windows.py 0.1 0.2 --device cuda 2>&1 | tee "$OUT/cnn.txt"
