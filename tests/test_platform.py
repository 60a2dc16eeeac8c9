"""The book's platform rules for every notebook: Colab set-up, parameters, the table of
contents, and the exercises that end each chapter."""

from __future__ import annotations

import importlib.util
import re
import sys
import types
from pathlib import Path

import nbformat
import pytest
import yaml

# imported once here: the setup cell outside Colab imports dcgan_lib, and a first import of
# torch runs `ldconfig -p`, which the setup-cell tests would count as a process it started
import dcgan_lib  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]


def _load_sync():
    spec = importlib.util.spec_from_file_location(
        "sync_notebooks", ROOT / "scripts" / "sync_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sync = _load_sync()
REPO = sync.repository(ROOT)


def _read(path):
    return nbformat.read(path, as_version=4)


def _tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf8"))
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return files


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks under notebooks/"


def test_every_notebook_is_in_sync():
    """Setup cell, badge and normal form as scripts/sync_notebooks.py writes them."""
    stale = [p.name for p in NOTEBOOKS if sync.sync(p, check=True, root=ROOT)]
    assert not stale, f"out of date: {stale}; run `python scripts/sync_notebooks.py`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_setup_cell_and_badge_name_the_repository(path):
    nb = _read(path)
    setup, badge = nb.cells[0], nb.cells[1]
    assert setup.cell_type == "code" and {"colab-setup", "remove-cell"} <= set(_tags(setup))
    assert REPO["url"] in setup.source and f'"--branch", "{REPO["branch"]}"' in setup.source
    assert badge.cell_type == "markdown" and {"colab-badge", "remove-cell"} <= set(_tags(badge))
    reader = f"readers/{path.name}"  # the badge opens the reader copy (dcgan_lib/readers.py)
    expected = (
        f"https://colab.research.google.com/github/{REPO['slug']}/blob/{REPO['branch']}/{reader}"
    )
    assert f"({expected})" in badge.source


class _FakeIPython:
    def __init__(self):
        self.calls = []

    def system(self, cmd):
        self.calls.append(("system", cmd))

    def run_line_magic(self, name, line, *args):
        self.calls.append((name, line))


def _run_setup(source: str, monkeypatch, in_colab: bool) -> list:
    from IPython.core.inputtransformer2 import TransformerManager

    shell = _FakeIPython()
    import os
    import subprocess

    def forbidden(*args, **kwargs):
        raise AssertionError(f"the setup cell started a process: {args}")

    for module, name in (
        (subprocess, "run"),
        (subprocess, "Popen"),
        (subprocess, "check_call"),
        (os, "system"),
    ):
        monkeypatch.setattr(module, name, forbidden)
    if in_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
        monkeypatch.setattr(os.path, "isdir", lambda p: False)
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    code = TransformerManager().transform_cell(source)
    exec(compile(code, "<setup cell>", "exec"), {"get_ipython": lambda: shell})
    return shell.calls


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_setup_cell_does_nothing_outside_colab(path, monkeypatch):
    assert _run_setup(_read(path).cells[0].source, monkeypatch, in_colab=False) == []


def run_setup_in_colab(source: str, monkeypatch, fail: str = "") -> list:
    """Run a setup cell as in Colab, with the processes it starts faked (the one whose
    command starts with `fail` fails); return the commands and the folder it moved to."""
    import os
    import subprocess

    calls = []

    def run(command, **kwargs):
        calls.append(("run", command))
        failed = bool(fail) and " ".join(command).startswith(fail)
        return subprocess.CompletedProcess(
            command, 1 if failed else 0, "", "fatal: unable to access the repository\n"
        )

    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.setattr(os, "chdir", lambda path: calls.append(("chdir", path)))
    monkeypatch.setattr(os.path, "isdir", lambda p: False)
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    exec(compile(source, "<setup cell>", "exec"), {"get_ipython": _FakeIPython})
    return calls


def test_setup_cell_in_colab_clones_installs_and_enters_notebooks(monkeypatch):
    calls = run_setup_in_colab(sync.setup_source(ROOT), monkeypatch)
    assert [c[0] for c in calls] == ["run", "run", "chdir"]
    clone, install = calls[0][1], calls[1][1]
    assert clone[:2] == ["git", "clone"] and REPO["url"] in clone
    assert clone[clone.index("--branch") + 1] == REPO["branch"]
    assert install[1:4] == ["-m", "pip", "install"] and "torch" not in install
    assert calls[2][1].endswith("/notebooks")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_parameters_cell_picks_the_device(path):
    params = [c for c in _read(path).cells if "parameters" in _tags(c)]
    assert len(params) == 1, (
        f"{path.name} needs exactly one cell tagged `parameters`, has {len(params)}"
    )
    source = params[0].source
    assert (
        re.search(r"""^device\s*=\s*["']auto["']""", source, re.M) or "resolve_device(" in source
    ), (
        f'{path.name}: the parameters cell should set device = "auto" '
        "(dcgan_lib picks CUDA, MPS or CPU)"
    )


def test_toc_lists_existing_files_and_every_notebook():
    listed = toc_files()
    missing = [
        f
        for f in listed
        if not any((ROOT / f"{f}{ext}").is_file() for ext in ("", ".md", ".ipynb"))
    ]
    assert not missing, f"_toc.yml lists files that do not exist: {missing}"
    names = {re.sub(r"\.ipynb$", "", f) for f in listed}
    absent = [
        p.relative_to(ROOT).as_posix()
        for p in NOTEBOOKS
        if p.relative_to(ROOT).with_suffix("").as_posix() not in names
    ]
    assert not absent, f"add these notebooks to _toc.yml: {absent}"


def _heading(line: str):
    m = re.match(r"^(#{1,6})\s+(.*)$", line)
    return (len(m.group(1)), m.group(2).strip()) if m else None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_chapter_ends_with_exercises(path):
    """An "Exercises" section last, with at least 3 exercises and a graded code exercise."""
    cells = _read(path).cells
    headings = [
        (i, h[1])
        for i, c in enumerate(cells)
        if c.cell_type == "markdown"
        for h in map(_heading, c.source.splitlines())
        if h and h[0] <= 2
    ]
    start = next((i for i, title in reversed(headings) if title.lower() == "exercises"), None)
    if start is not None:
        later = [title for i, title in headings if i > start]
        assert not later, f"{path.name}: sections after Exercises: {later}"
    if path.stem.startswith("00_") and start is None:
        pytest.skip("the quickstart may go without exercises")
    assert start is not None, f"{path.name} has no '## Exercises' section"
    section = cells[start:]
    n_exercises = sum(
        len(re.findall(r"^\s*(`{3,}|:{3,})\{exercise(-start)?\}", c.source, re.M))
        for c in section
        if c.cell_type == "markdown"
    )
    assert n_exercises >= 3, (
        f"{path.name}: {n_exercises} exercises ({{exercise}} blocks), at least 3 expected"
    )
    code = [c for c in section if c.cell_type == "code"]
    graded = [
        i
        for i, c in enumerate(code[:-1])
        if "### BEGIN SOLUTION" in c.source
        and "### END SOLUTION" in c.source
        and re.search(r"\bchecks\.check_\w+\s*\(|\bcheck_\w+\s*\(", code[i + 1].source)
    ]
    assert graded, (
        f"{path.name}: at least one code exercise needs its answer between ### BEGIN SOLUTION and "
        "### END SOLUTION and a dcgan_lib.checks call in the next code cell"
    )
