#!/usr/bin/env bash
# Everything the book measures or trains on a CUDA GPU, in one short run (about 9 minutes on
# an H100 or H200), writing its results into OUTDIR:
#
#   bash benchmarks/gpu_suite.sh OUTDIR [EMOJI_DIR]
#
#   1. the CUDA tests (tests/test_runtime.py, tests/test_throughput.py: bf16/fp16 autocast,
#      fused Adam, CUDA graphs, large data kept off the GPU) -> OUTDIR/gpu_tests.log
#   2. benchmarks/throughput.py at 64x64x3, widths 64 and 128, batches 128 and 512, loops
#      a-e -> OUTDIR/throughput_gpu.json (and the table in OUTDIR/suite.log)
#   3. the book's table trained on emoji (width 128: 4x4x1024 ... 64x64x3; then width 64),
#      each for a fixed wall time, exported as fp16 checkpoints with their records:
#      OUTDIR/dcgan_emoji64_w128.pt, OUTDIR/dcgan_emoji64_w64.pt, OUTDIR/train_*.json
#
# EMOJI_DIR is a folder holding emoji.json and img/twitter/64/ (default: the user cache);
# the machine needs no network. Copy the results into the repository afterwards
# (benchmarks/results/, checkpoints/) and record the checkpoints in the manifest with
# dcgan_lib.checkpoint.manifest_entry and record_in_manifest (see checkpoints/manifest.json).
set -euo pipefail
OUT=${1:?usage: bash benchmarks/gpu_suite.sh OUTDIR [EMOJI_DIR]}
export DCGAN_DATA_DIR=${2:-${DCGAN_DATA_DIR:-$HOME/.cache/dcgan_lib}}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
PY=${PY:-python3}
TRAIN_SECONDS=${TRAIN_SECONDS:-150}
mkdir -p "$OUT" runs
exec > >(tee -a "$OUT/suite.log") 2>&1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
$PY -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"

echo "== 1. CUDA tests"
$PY -m pytest -q -p no:cacheprovider tests/test_runtime.py tests/test_throughput.py \
    2>&1 | tee "$OUT/gpu_tests.log" | tail -5 || true

echo "== 2. throughput"
$PY benchmarks/throughput.py --repeats 1 --json "$OUT/throughput_gpu.json" || true

echo "== 3. the book's table on emoji"
for width in 128 64; do
    run=runs/gpu_emoji64_w$width
    start=$(date +%s)
    $PY -m dcgan_lib train --dataset emoji --image-size 64 --width "$width" --batch-size 128 \
        --steps 100000 --time-limit "$TRAIN_SECONDS" --sample-every 1000 --no-progress \
        --seed 0 --out "$run" --overwrite
    $PY -m dcgan_lib export --checkpoint "$run/checkpoint.pt" \
        --out "$OUT/dcgan_emoji64_w$width.pt" --half
    $PY - "$run/checkpoint.pt" "$OUT/train_w$width.json" "$start" <<'EOF'
import json, sys, time
import torch
state = torch.load(sys.argv[1], map_location="cpu", weights_only=True)
record = {"step": state["step"], "elapsed_s": state["elapsed"], "meta": state.get("meta", {}),
          "train_config": state["train_config"], "wall_s": time.time() - float(sys.argv[3])}
open(sys.argv[2], "w").write(json.dumps(record, indent=1, default=str) + "\n")
print(record["step"], "steps in", round(record["elapsed_s"]), "s")
EOF
done
echo "== done"
