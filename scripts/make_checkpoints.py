"""Make the trained checkpoints the book ships, with the project's own commands.

Each entry below is a list of shell commands (``python -m dcgan_lib train`` runs, then
``export`` to a small file in checkpoints/). The script runs them, then records in
checkpoints/manifest.json: the commands, seed, data, steps, hardware, wall time (from
the checkpoint's own record), size and sha256. Run it from the repository root:

    python scripts/make_checkpoints.py              # every entry
    python scripts/make_checkpoints.py dcgan_fashion32.pt mlp_fashion32.pt
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from dcgan_lib.checkpoint import load_checkpoint, manifest_entry, record_in_manifest  # noqa: E402

FM = "--dataset fashion-mnist --image-size 32 --no-progress"
LONG_STEPS = 2000
COMPARE_STEPS = 1000
MLP = "--model mlp --hidden 256 256"


# Wall times are what the run took on the machine named in "hardware"; when that machine
# was shared with other work they are upper bounds, not speeds (benchmarks/ measures those).
NOTE = "wall time measured on a shared machine: an upper bound, not a speed measurement"


ENTRIES: dict[str, list[str]] = {
    # the DCGAN of Part II: 300 steps (the "early" checkpoint), then resumed to LONG_STEPS
    "dcgan_fashion32_early.pt": [
        f"python -m dcgan_lib train {FM} --steps 300 --seed 0 --sample-every 500 "
        "--out runs/dcgan_fashion32",
        "python -m dcgan_lib export --checkpoint runs/dcgan_fashion32/checkpoint.pt "
        "--out checkpoints/dcgan_fashion32_early.pt --generator-only --half",
    ],
    "dcgan_fashion32.pt": [
        f"python -m dcgan_lib train {FM} --steps 300 --seed 0 --sample-every 500 "
        "--out runs/dcgan_fashion32",
        f"python -m dcgan_lib train {FM} --steps {LONG_STEPS} --seed 0 --sample-every 500 "
        "--out runs/dcgan_fashion32 --resume",
        "python -m dcgan_lib export --checkpoint runs/dcgan_fashion32/checkpoint.pt "
        "--out checkpoints/dcgan_fashion32.pt --half",
    ],
    # the fully connected GAN of Part I, same data, steps and seed
    "mlp_fashion32.pt": [
        f"python -m dcgan_lib train {FM} {MLP} --steps {LONG_STEPS} --seed 0 --sample-every 500 "
        "--out runs/mlp_fashion32",
        "python -m dcgan_lib export --checkpoint runs/mlp_fashion32/checkpoint.pt "
        "--out checkpoints/mlp_fashion32.pt --half",
    ],
}
# GAN versus DCGAN: three seeds each, same steps; the MLP also at the DCGAN's wall time
for seed in (1, 2, 3):
    for model, flags in (("dcgan", ""), ("mlp", MLP)):
        name = f"compare/{model}_s{seed}.pt"
        ENTRIES[name] = [
            f"python -m dcgan_lib train {FM} {flags} --steps {COMPARE_STEPS} --seed {seed} "
            f"--out runs/compare_{model}_s{seed}".replace("  ", " "),
            f"python -m dcgan_lib export --checkpoint runs/compare_{model}_s{seed}/checkpoint.pt "
            f"--out checkpoints/{name} --generator-only --half",
        ]
# the style chapter's feed-forward networks, trained on scikit-learn's photographs
ENTRIES["style_petals64.pt"] = [
    "python -m dcgan_lib train-style --style petals --content china-wide --size 64 "
    "--features random --style-weight 20 --steps 800 --seed 0 --out checkpoints/style_petals64.pt",
]
ENTRIES["texture_petals.pt"] = [
    "python -m dcgan_lib train-texture --texture petals --size 128 --crop 32 --batch-size 16 "
    "--steps 2000 --seed 0 --out checkpoints/texture_petals.pt",
]


def up_to_date(cmd: str) -> bool:
    """A train command whose checkpoint already holds exactly its steps need not run again
    (training is deterministic on the CPU, and resumes exactly)."""
    args = shlex.split(cmd)
    if "train" not in args or "--out" not in args or "--steps" not in args:
        return False
    ckpt = ROOT / args[args.index("--out") + 1] / "checkpoint.pt"
    try:
        return ckpt.exists() and load_checkpoint(ckpt)["step"] == int(
            args[args.index("--steps") + 1]
        )
    except Exception:
        return False


def main(names: list[str]) -> None:
    folder = ROOT / "checkpoints"
    for name in names or list(ENTRIES):
        for cmd in ENTRIES[name]:
            if up_to_date(cmd):
                print("up to date:", cmd, flush=True)
                continue
            print("+", cmd, flush=True)
            subprocess.run(shlex.split(cmd), cwd=ROOT, check=True)
        entry = manifest_entry(folder / name, ENTRIES[name], note=NOTE)
        record_in_manifest(folder / name, entry, folder)
        print(f"recorded {name}", flush=True)


if __name__ == "__main__":
    torch.set_num_threads(torch.get_num_threads())
    main(sys.argv[1:])
