#!/usr/bin/env bash
# The GPU check of the backends issue, as one script: portability tests on the GPU, then
# the backends benchmark (quick, then mlp at 25M, dense vs lazy Adam, 100M ratings).
# Run from the repository root on a machine with an NVIDIA GPU and JAX / PyTorch CUDA
# builds; TensorFlow may be absent (its rows are then skipped). Results go to $OUT (or
# benchmarks/results). Keras and its small pure-Python dependencies may be given as
# wheels in .whl/ (installed into /tmp/site).
set -uo pipefail
OUT="${OUT:-benchmarks/results}"
mkdir -p "$OUT"
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH="/tmp/site:$PWD"
else
  export PYTHONPATH="$PWD"
fi
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import jax, torch, keras; print('jax', jax.__version__, jax.devices(), '| torch', torch.__version__, torch.cuda.is_available(), '| keras', keras.__version__)"
start=$SECONDS
step() { echo "## $* (at $((SECONDS - start)) s)"; }
left() { echo $(( ${BUDGET:-540} - (SECONDS - start) )); }
step "benchmark --quick"
timeout 220 python3 benchmarks/backends.py --quick --backends jax,torch --work /tmp/bench \
  --out "$OUT/backends-gpu-quick" 2>&1 | tee -a "$OUT/log.txt" | grep -v '^{'
step "where the first JAX epoch goes at 25M"
timeout 60 python3 benchmarks/jax_first_epoch.py /tmp/bench/synth-25000095.npz 65536 2>&1 \
  | grep -v -i warn | tee -a "$OUT/log.txt"
step "portability tests (jax, torch on the GPU)"
timeout $(( $(left) > 30 ? $(left) : 30 )) python3 -m pytest -q -p no:cacheprovider \
  tests/backends/test_conformance.py -k "not data_parallel" 2>&1 | tail -15 | tee -a "$OUT/log.txt"
if [ "$(left)" -gt 100 ]; then
  step "mlp at 25M"
  timeout $(( $(left) - 10 )) python3 benchmarks/backends.py --sizes 25m --models mlp \
    --epochs 3 --backends jax,torch --work /tmp/bench --out "$OUT/backends-gpu-mlp" 2>&1 \
    | tee -a "$OUT/log.txt" | grep -v '^{'
fi
step "done"
