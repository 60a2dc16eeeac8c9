"""Checks of GAN versus DCGAN, measured (notebooks/08_gan_vs_dcgan)."""

from __future__ import annotations

import statistics

import torch
from torch import nn

from ..models import Discriminator, Generator, MLPGenerator
from ..tracing import trace_layers
from ._common import CheckFailed, _call, _close, _expect, _passed


def _winner_hint(got: str, winner: str) -> str:
    if winner == "tie":
        return (
            "the means differ by less than std_a + std_b, which is too little to call: that is "
            "a 'tie'"
        )
    if got == "tie":
        return "the means differ by more than std_a + std_b, so the better one wins"
    return (
        "that is the worse model: with higher_is_better=False (FID) the lower mean wins, "
        "with True (recall) the higher"
    )


def check_compare_runs(compare_runs) -> bool:
    """`compare_runs(scores_a, scores_b, higher_is_better)` -> {"mean_a", "std_a", "mean_b",
    "std_b", "winner"}: means and sample standard deviations (n - 1) of two models' per-seed
    scores, and "a" or "b" when the better mean wins by more than std_a + std_b, else "tie"."""
    cases = [  # (scores_a, scores_b, higher_is_better, winner): FID-like, then recall-like
        ([30.0, 32.0, 34.0], [60.0, 50.0, 70.0], False, "a"),  # gap 28 > 2 + 10
        ([30.0, 32.0, 34.0], [60.0, 50.0, 70.0], True, "b"),  # the same numbers, higher is better
        ([0.5, 0.6, 0.7], [0.42, 0.45, 0.48], True, "a"),  # gap 0.15 > 0.1 + 0.03
        ([0.5, 0.6, 0.7], [0.45, 0.55, 0.65], True, "tie"),  # gap 0.05 < 0.1 + 0.1
        ([41.0, 45.0, 43.0, 47.0], [44.0, 40.0, 42.0, 46.0], False, "tie"),
        ([0.2, 0.2, 0.2], [0.25, 0.25, 0.25], True, "b"),  # no spread: any gap decides
    ]
    for a, b, higher, winner in cases:
        what = f"compare_runs({a}, {b}, higher_is_better={higher})"
        got = _call(compare_runs, list(a), list(b), higher, what="compare_runs")
        _expect(isinstance(got, dict), f"{what} should return a dict, got {type(got).__name__}")
        missing = [k for k in ("mean_a", "std_a", "mean_b", "std_b", "winner") if k not in got]
        _expect(not missing, f"{what} is missing the key(s) {', '.join(missing)}")
        for side, values in (("a", a), ("b", b)):
            _close(float(got[f"mean_{side}"]), statistics.mean(values), f"{what}['mean_{side}']")
            std = float(got[f"std_{side}"])
            population = statistics.pstdev(values)
            _expect(
                not (population > 0 and abs(std - population) < 1e-9),
                f"{what}['std_{side}'] = {std:.4g} is the population standard deviation "
                "(dividing by n); use the sample standard deviation, dividing by n - 1 "
                "(statistics.stdev, torch.std, or numpy.std(..., ddof=1))",
            )
            _close(std, statistics.stdev(values), f"{what}['std_{side}']")
        _expect(
            got["winner"] in ("a", "b", "tie"),
            f"{what}['winner'] should be 'a', 'b' or 'tie', got {got['winner']!r}",
        )
        if got["winner"] != winner:
            raise CheckFailed(
                f"{what}['winner'] should be {winner!r}, got {got['winner']!r}: "
                f"{_winner_hint(got['winner'], winner)}"
            )
    return _passed("compare_runs")


def _parameters_by_layer_type(model: nn.Module, x: torch.Tensor) -> dict[str, int]:
    """{layer class: parameters} from the library's trace of one forward pass, each layer
    counted once (a layer the pass runs twice has two rows)."""
    layers = {row.name: row for row in trace_layers(model, x)}
    counts = {}
    for row in layers.values():
        if row.parameters:
            counts[row.layer] = counts.get(row.layer, 0) + row.parameters
    return counts


def check_parameters_by_layer_type(parameters_by_layer_type) -> bool:
    """`parameters_by_layer_type(model)` -> {layer class name: parameters held by layers of that
    type}, each layer's own parameters counted once, types holding none left out."""
    torch.manual_seed(0)
    models = {  # name: (model, an input for tracing it)
        "nn.Sequential(Linear(3, 4), ReLU(), Linear(4, 2))": (
            nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)),
            torch.zeros(1, 3),
        ),
        "MLPGenerator(8, (1, 16, 16), hidden=(32,))": (
            MLPGenerator(8, (1, 16, 16), hidden=(32,)),
            torch.zeros(1, 8),
        ),
        "Generator(8, image_size=16, channels=1, width=4)": (
            Generator(8, 16, 1, 4),
            torch.zeros(1, 8),
        ),
        "Discriminator(image_size=16, channels=3, width=4)": (
            Discriminator(16, 3, 4),
            torch.zeros(1, 3, 16, 16),
        ),
    }
    for name, (model, x) in models.items():
        got = _call(parameters_by_layer_type, model, what="parameters_by_layer_type")
        what = f"parameters_by_layer_type({name})"
        _expect(isinstance(got, dict), f"{what} should return a dict, got {type(got).__name__}")
        got = {str(k): int(v) for k, v in got.items() if int(v) != 0}
        want = _parameters_by_layer_type(model, x)
        containers = [
            k
            for k in got
            if k in ("Sequential", "ModuleList", "ModuleDict", type(model).__name__)
            and k not in want
        ]
        _expect(
            not containers,
            f"{what} has entries for {', '.join(containers)}, which hold no parameters of their "
            "own: count each leaf layer's own parameters, e.g. sum(p.numel() for p in "
            "module.parameters(recurse=False)) for module in model.modules()",
        )
        total = sum(p.numel() for p in model.parameters())
        _expect(
            sum(got.values()) == total,
            f"{what}: the counts add up to {sum(got.values()):,} but the model has {total:,} "
            "parameters; count every parameter exactly once",
        )
        _expect(
            set(got) == set(want),
            f"{what} should have the keys {sorted(want)}, got {sorted(got)} "
            "(use type(module).__name__)",
        )
        for k in want:
            _expect(got[k] == want[k], f"{what}[{k!r}] should be {want[k]:,}, got {got[k]:,}")
    return _passed("parameters_by_layer_type")
