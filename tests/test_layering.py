"""The package's import order, read from its source: each module imports only modules of
a lower layer, or earlier ones of its own layer, and only at the top of the file (except
optional heavy dependencies, which are not the package's own modules).

    top          cli, checks, classroom, myst, readers  (the command line, graded checks,
                 student copies, reader copies for Jupyter and Colab)
    scoring      features, probe, evaluation, latent, latent_maps, latent_view, style, textures
                 (feature extractors; the discriminator's features; scoring generators,
                 tables; the latent space, its feature maps and pictures; style transfer and
                 textures)
    middle       metrics, checkpoint, runtime, train
    leaves       device, imagefiles, emoji, toys, data, models, authors, ablations, contracts,
                 tracing, losses, stabilisers, history, batches, viz, timeline, notebook

A new module gets a line in LAYERS; an import against the order fails with the file, the
line and the rule it breaks. Imports under `if TYPE_CHECKING:` never run and are not
counted (a callback's annotation may name the trainer that calls it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "dcgan_lib"

# lowest layer first; within a layer, a module may import the ones listed before it
LAYERS = [
    [
        "device",
        "imagefiles",
        "emoji",
        "toys",
        "data",
        "models",
        "authors",
        "ablations",
        "conditional_models",
        "contracts",
        "tracing",
        "losses",
        "stabilisers",
        "history",
        "batches",
        "viz",
        "timeline",
        "notebook",
    ],
    ["metrics", "checkpoint", "runtime", "train"],
    [
        "features",
        "probe",
        "conditional",
        "evaluation",
        "latent",
        "latent_maps",
        "latent_view",
        "conditional_view",
        "style",
        "textures",
    ],
    ["checks", "classroom", "myst", "readers", "cli"],
]
RANK = {name: (layer, i) for layer, names in enumerate(LAYERS) for i, name in enumerate(names)}
MAX_LINES = 400


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        yield path, parts  # () for the package's own __init__


def _own_imports(path: Path, parts: tuple):
    """(line, imported top-level module of dcgan_lib, at top level?) for each import."""
    tree = ast.parse(path.read_text(encoding="utf8"))
    package = ("dcgan_lib", *parts) if path.name == "__init__.py" else ("dcgan_lib", *parts[:-1])
    top = {id(node) for node in tree.body}
    typing_only = set()  # `if TYPE_CHECKING:` blocks never run: annotations only
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only |= {id(n) for n in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = [*base[1:], *(node.module.split(".") if node.module else [])]
                names = [target] if node.module else [[*base[1:], a.name] for a in node.names]
            elif (node.module or "").split(".")[0] == "dcgan_lib":
                names = [node.module.split(".")[1:]]
            else:
                continue
        elif isinstance(node, ast.Import):
            names = [
                a.name.split(".")[1:] for a in node.names if a.name.split(".")[0] == "dcgan_lib"
            ]
        else:
            continue
        for target in names:
            if target:
                yield node.lineno, target[0], id(node) in top


def test_every_module_has_a_layer():
    missing = {parts[0] for _, parts in _modules() if parts and parts[0] not in RANK}
    missing.discard("__main__")
    assert not missing, f"add {sorted(missing)} to LAYERS in tests/test_layering.py"


@pytest.mark.parametrize("path, parts", list(_modules()), ids=lambda v: str(v))
def test_imports_follow_the_layers(path, parts):
    if not parts or parts[0] == "__main__":
        return  # the package's __init__ re-exports everything; __main__ calls cli
    me = parts[0]
    for line, target, at_top in _own_imports(path, parts):
        where = f"{path.relative_to(PACKAGE.parent)}:{line}"
        assert at_top, (
            f"{where}: import of dcgan_lib.{target} inside a function; move it to the top"
        )
        if target == me:
            continue  # inside a subpackage (checks, cli)
        assert target in RANK, f"{where}: dcgan_lib.{target} has no layer in LAYERS"
        assert RANK[target] < RANK[me], (
            f"{where}: {me} (layer {RANK[me][0]}) imports {target} (layer {RANK[target][0]}), "
            "against the order: move the shared code down, or the importer up"
        )


def test_metrics_imports_nothing_of_the_package():
    path = PACKAGE / "metrics.py"
    assert not list(_own_imports(path, ("metrics",)))


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_modules_stay_small(path):
    n = len(path.read_text(encoding="utf8").splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(PACKAGE.parent)} has {n} lines; split it by job"
