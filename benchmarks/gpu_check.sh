#!/usr/bin/env bash
# The GPU check, on a machine with a CUDA GPU and sciml installed: the GPU tests (tests/test_gpu.py,
# DDP included), then the runs this 2-core CPU cannot afford, side by side on the one GPU, each capped
# in wall time: Darcy 64x64 FNO and MgNO, Burgers FNO (issue 4 targets), the 32^3 DCDM study
# trained on 6,400 samples and the multigrid DCDM network's spec (issue 6). Results (metrics, logs,
# residual CSVs, the DCDM checkpoints) are packed into OUT_DIR/results.tar.gz; a summary is printed last.
# Runs still going after DEADLINE seconds are interrupted (they stay resumable) and packed as they are.
#   benchmarks/gpu_check.sh OUT_DIR [TRAIN_MINUTES] [DEADLINE]
set -u
out=${1:?usage: benchmarks/gpu_check.sh OUT_DIR [TRAIN_MINUTES] [DEADLINE]}
minutes=${2:-4}
deadline=${3:-470}
cap="00:00:$(printf %02d "$minutes"):00"
mkdir -p "$out/logs" runs/gpu
export WANDB_MODE=disabled PYTHONUNBUFFERED=1 SCIML_RUNS=runs/gpu
start=$(date +%s)
stamp() { echo "[$(( $(date +%s) - start )) s] $*"; }

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/logs/gpu.txt"
OMP_NUM_THREADS=2 pytest -m gpu tests/test_gpu.py -q -p no:cacheprovider >"$out/logs/tests.log" 2>&1 &
tests=$!

# Darcy's dataset is shared by the FNO and MgNO runs: generate it once before both start.
(OMP_NUM_THREADS=1 sciml generate specs/darcy-fno-bench.yaml generate.workers=6 >"$out/logs/darcy-data.log" 2>&1
 stamp "darcy data ready"
 OMP_NUM_THREADS=2 sciml run specs/darcy-fno-bench.yaml trainer.max_time="$cap" --run-dir runs/gpu/darcy-fno >"$out/logs/darcy-fno.log" 2>&1 &
 OMP_NUM_THREADS=2 sciml run specs/darcy-mgno-bench.yaml train.max_epochs=120 trainer.max_time="$cap" --run-dir runs/gpu/darcy-mgno >"$out/logs/darcy-mgno.log" 2>&1 &
 wait) &
runs=($!)
OMP_NUM_THREADS=2 sciml run specs/burgers-fno-bench.yaml trainer.max_time="$cap" --run-dir runs/gpu/burgers-fno >"$out/logs/burgers-fno.log" 2>&1 &
runs+=($!)
OMP_NUM_THREADS=6 sciml run specs/dcdm-poisson3d-32.yaml \
  data.lanczos_steps=2000 data.theta=100 data.train=6400 train.batch_size=16 train.max_epochs=20 \
  trainer.limit_train_batches=1.0 trainer.max_time="00:00:$(printf %02d $((minutes - 1))):00" \
  "evaluate.0.solvers=[dcdm,cg]" evaluate.0.generalize.1.rhs=2 \
  --run-dir runs/gpu/dcdm32 >"$out/logs/dcdm32.log" 2>&1 &
runs+=($!)
OMP_NUM_THREADS=4 sciml run specs/dcdm-multigrid-poisson3d.yaml trainer.max_time="$cap" "evaluate.0.solvers=[dcdm,cg]" \
  --run-dir runs/gpu/dcdm-mg32 >"$out/logs/dcdm-mg32.log" 2>&1 &
runs+=($!)

(sleep "$deadline"; stamp "deadline: interrupting what is left"; pkill -INT -f "sciml run") &
watchdog=$!
wait $tests
stamp "gpu tests: $(tail -1 "$out/logs/tests.log")"
wait "${runs[@]}"
kill "$watchdog" 2>/dev/null
stamp "all runs ended"

tar czf "$out/results.tar.gz" --exclude='*/wandb' --exclude='darcy-*/checkpoints' --exclude='burgers-*/checkpoints' \
  -C runs gpu -C "$out" logs
python3 - <<'EOF'
import json, pathlib
for run in sorted(pathlib.Path("runs/gpu").iterdir()):
    state = json.loads((run / "run.json").read_text()).get("status")
    metrics = json.loads((run / "metrics.json").read_text()) if (run / "metrics.json").exists() else {}
    train = metrics.get("train", {})
    keys = [k for k in ("test/rel_l2", "test_128/rel_l2") if k in metrics.get("operator_metrics", {})]
    krylov = {k: v for k, v in metrics.get("krylov", {}).items() if "iters_" in k and ("dcdm" in k or "/cg/" in k)}
    print(run.name, state, {k: train.get(k) for k in ("epochs", "steps", "seconds")},
          {k: metrics["operator_metrics"][k] for k in keys}, krylov)
EOF
