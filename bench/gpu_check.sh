#!/usr/bin/env bash
# The device check of the torch backend, in one run: about 6 minutes on the H100 machine
# (16 cores), at most 8 (each step has its own timeout: 70 + 60 + 200 + 150 s).
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
# 2. the torch backend's equality tests, every cut on the GPU (host_below=0), and the
#    max-pooling layer's tables of values on the GPU against the host's steps
REGIONSCOPE_TEST_DEVICE=cuda timeout 60 python3 -m pytest -q -x -p no:cacheprovider \
    tests/geometry/test_tensor.py tests/compute/test_tables.py 2>&1 | tail -4 \
    | tee "$OUT/tests.txt"
# 3. the CIFAR-shaped CNN on windows of the shifted-patch plane: the host run with the
#    default backend (numba, as on the 2-core machine), then the torch backend (its large
#    cuts on the GPU, the pool's tables of values there too, the rest on the host's compiled
#    kernels); a small window first compiles numba's kernels (about 80 s on one core),
#    outside the timings
timeout 200 python3 bench/cnn_windows.py 0.1 0.3 --device cuda 2>&1 | tee "$OUT/cnn.txt"
# 4. a 2 x 2 window of the plane (432 k regions) in 4 x 4 tiles on 8 Dask workers: the
#    default backend on 8 cores, then the torch backend with the 8 workers sharing the GPU
#    (the 2-core machine: 19.8 s wall with 2 workers, bench/RESULTS.md)
if python3 -c "import distributed" 2>/dev/null; then
    timeout 150 python3 bench/cnn_windows.py 1.0 --tiles 4 --workers 8 --device cuda 2>&1 \
        | tee "$OUT/tiles.txt"
else
    echo "no dask.distributed on this machine: the tiles are not timed" | tee "$OUT/tiles.txt"
fi
