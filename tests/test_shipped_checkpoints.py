"""The checkpoints the book ships: the manifest matches the files, and each one loads."""

import json
from pathlib import Path

import pytest
import torch

from dcgan_lib import load_checkpoint, load_generator
from dcgan_lib.checkpoint import sha256

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "checkpoints"
MANIFEST = (
    json.loads((FOLDER / "manifest.json").read_text())["checkpoints"]
    if (FOLDER / "manifest.json").exists()
    else {}
)
REQUIRED_FIELDS = ("seed", "data", "hardware", "wall_time_s", "sha256")


def test_folder_is_small_and_every_file_is_in_the_manifest():
    files = {p.relative_to(FOLDER).as_posix() for p in FOLDER.rglob("*.pt")}
    assert files == set(MANIFEST), (
        f"files without a manifest entry or entries without a file: {files ^ set(MANIFEST)}"
    )
    total = sum(p.stat().st_size for p in FOLDER.rglob("*") if p.is_file())
    assert total < 40e6, f"checkpoints/ holds {total / 1e6:.1f} MB; the budget is 40 MB"


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_manifest_entry_matches_file_and_loads(name):
    entry = MANIFEST[name]
    for field in REQUIRED_FIELDS:
        assert entry.get(field) not in (None, ""), f"{name}: manifest lacks {field}"
    commands = entry.get("commands") or [entry.get("command")]
    made_by = ("python -m dcgan_lib", "python benchmarks/")  # the CLI, or a benchmark script
    assert any(c and c.startswith(made_by) for c in commands), (
        f"{name}: no dcgan_lib or benchmarks/ command recorded"
    )
    path = FOLDER / name
    assert sha256(path) == entry["sha256"], f"{name}: sha256 differs from the manifest"
    state = load_checkpoint(path)
    if "generator" in state:
        G = load_generator(path)
        with torch.no_grad():
            x = G(torch.randn(4, G.latent_dim))
        assert torch.isfinite(x).all()
        if G.config["kwargs"].get("tanh", True):  # chapter 09's "no Tanh" rows are linear
            assert x.abs().max() <= 1
        assert state["step"] == entry["steps"]


def test_evaluate_scores_every_shipped_generator(tmp_path):
    """`python -m dcgan_lib evaluate` runs on every shipped checkpoint, and the book's DCGAN
    scores clearly better than its fully connected GAN on FID and recall."""
    from dcgan_lib.cli import main

    files = sorted(str(FOLDER / name) for name in MANIFEST)
    out = tmp_path / "scores.json"
    assert (
        main(
            [
                "evaluate",
                "--checkpoint",
                *files,
                "--n",
                "200",
                "--n_train",
                "200",
                "--device",
                "cpu",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    scores = {
        Path(k).resolve().relative_to(FOLDER).as_posix(): v
        for k, v in json.loads(out.read_text()).items()
    }
    generators = {name for name in MANIFEST if "generator" in load_checkpoint(FOLDER / name)}
    assert set(scores) == generators, "evaluate skipped a generator or scored a non-generator"
    for s in scores.values():
        assert s["n_fake"] == 200 and all(
            torch.isfinite(torch.tensor(s[m])) for m in ("fid", "precision", "recall")
        )
    dcgan, mlp = scores["dcgan_fashion32.pt"], scores["mlp_fashion32.pt"]
    assert dcgan["fid"] < 0.25 * mlp["fid"] and dcgan["recall"] > mlp["recall"] + 0.3
