"""Keep every chapter notebook in the book's standard shape.

    python scripts/sync_notebooks.py          # rewrite notebooks that are out of date
    python scripts/sync_notebooks.py --check  # only report them; exit 1 if any

For each notebook under notebooks/ this

- writes the Colab setup cell (first cell, tags `colab-setup` and `remove-cell`):
  in Colab it clones the repository, installs `dcgan_lib` from it and moves into its
  notebooks/ folder, so relative paths such as ../checkpoints work as they do locally,
  and stops with the reason (SystemExit) when the clone or the install fails; anywhere
  else it does nothing. The reader copies (dcgan_lib/readers.py) use the same cell;
- writes the Colab badge cell (second cell, tags `colab-badge` and `remove-cell`; the
  HTML book has its own launch button, so the badge only shows in Jupyter and on GitHub);
  like the launch button, it opens the chapter's reader copy, readers/NAME.ipynb;
- normalises the file: outputs and execution counts stripped, kernelspec python3,
  a cell id on every cell, per-run metadata (timings, widget state) removed.

The repository URL and branch come from _config.yml (`repository:`), the one place
they are written down. Running the script twice changes nothing the second time.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
SETUP_TAG, BADGE_TAG, HIDE_TAG = "colab-setup", "colab-badge", "remove-cell"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}
DROP_NB_METADATA = ("widgets", "colab", "accelerator", "vscode", "toc", "varInspector")
DROP_CELL_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled", "outputId", "colab")
COLAB = "https://colab.research.google.com"
READERS = "readers"  # the reader copies, beside notebooks/ (dcgan_lib/readers.py)


def repository(root: Path = ROOT) -> dict:
    """`url`, `branch`, `path_to_book` and the `org/name` slug, from _config.yml."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf8"))
    repo = config["repository"]
    url = repo["url"].rstrip("/")
    return {
        "url": url,
        "branch": repo.get("branch", "main"),
        "path_to_book": (repo.get("path_to_book") or "").strip("/"),
        "slug": url.removeprefix("https://github.com/"),
    }


def repo_path(notebook: Path, root: Path = ROOT) -> str:
    """The notebook's path inside the repository, e.g. notebooks/01_gan_game.ipynb."""
    rel = notebook.resolve().relative_to(root.resolve()).as_posix()
    book = repository(root)["path_to_book"]
    return f"{book}/{rel}" if book else rel


def colab_url(notebook: Path, root: Path = ROOT) -> str:
    """Colab's address of the chapter's reader copy (readers/NAME.ipynb, which
    `python -m dcgan_lib.readers notebooks/ readers/` writes): Colab shows it as written."""
    repo = repository(root)
    reader = repo_path(root / READERS / Path(notebook).name, root)
    return f"{COLAB}/github/{repo['slug']}/blob/{repo['branch']}/{reader}"


def setup_source(root: Path = ROOT) -> str:
    repo = repository(root)
    subdir = f"/{repo['path_to_book']}" if repo["path_to_book"] else ""
    url, branch = repo["url"], repo["branch"]
    return (
        "# Setup for Google Colab: fetches the book's repository and installs its library\n"
        "# (dcgan_lib) there, or stops with the reason. Elsewhere it only checks that\n"
        "# dcgan_lib is installed, and says how to get it when it is not.\n"
        "import os\n"
        "import subprocess\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        '    book = "/content/dcgan-book"\n'
        f'    url = "{url}"\n'
        '    pip = [sys.executable, "-m", "pip", "install", "-q", book]\n'
        '    steps = [("install dcgan_lib", pip)]\n'
        "    if not os.path.isdir(book):\n"
        '        clone = ["git", "clone", "-q", "--depth", "1", "--branch", '
        f'"{branch}", url, book]\n'
        '        steps.insert(0, (f"clone {url}", clone))\n'
        "    for what, step in steps:\n"
        "        done = subprocess.run(step, capture_output=True, text=True)\n"
        "        if done.returncode:  # stop here, not at an ImportError further down\n"
        '            why = (done.stderr or done.stdout or "no output").strip().splitlines()[-1]\n'
        "            raise SystemExit(\n"
        '                f"could not {what}: {why}. Check the connection, then Runtime > "\n'
        '                "Disconnect and delete runtime, and run all again; or install it "\n'
        '                f"yourself: !pip install git+{url}"\n'
        "            )\n"
        f'    os.chdir(book + "{subdir}/notebooks")\n'
        "else:\n"
        "    try:\n"
        "        import dcgan_lib  # noqa: F401\n"
        "    except ImportError:\n"
        "        raise SystemExit(\n"
        '            "this notebook needs dcgan_lib, the book\'s library: run "\n'
        f'            "`pip install git+{url}`, or clone it and run "\n'
        '            "`bash scripts/setup.sh` in the clone (README.md)"\n'
        "        ) from None"
    )


def badge_source(notebook: Path, root: Path = ROOT) -> str:
    return f"[![Open In Colab]({COLAB}/assets/colab-badge.svg)]({colab_url(notebook, root)})"


def notebooks(root: Path = ROOT) -> list[Path]:
    return sorted(
        p for p in (root / "notebooks").glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
    )


def _tagged(nb, tag: str):
    return [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]


def _put(nb, index: int, tag: str, cell_type: str, source: str):
    """Ensure the cell tagged `tag` sits at `index` with `source`."""
    found = _tagged(nb, tag)
    for cell in found[1:]:  # keep only one
        nb.cells.remove(cell)
    if found:
        nb.cells.remove(found[0])
    if found and found[0].cell_type == cell_type:
        cell = found[0]
    else:  # missing, or of the wrong type: make a new one
        make = nbformat.v4.new_code_cell if cell_type == "code" else nbformat.v4.new_markdown_cell
        cell = make()
    cell.source = source
    cell.metadata["tags"] = [tag, HIDE_TAG] + [
        t for t in cell.metadata.get("tags", []) if t not in (tag, HIDE_TAG)
    ]
    nb.cells.insert(index, cell)


def normalise(nb, notebook: Path, root: Path = ROOT):
    """Return a normalised copy of `nb` (see the module docstring)."""
    nb = copy.deepcopy(nb)
    _put(nb, 0, SETUP_TAG, "code", setup_source(root))
    _put(nb, 1, BADGE_TAG, "markdown", badge_source(notebook, root))
    nb.nbformat, nb.nbformat_minor = 4, max(nb.get("nbformat_minor", 5), 5)
    for key in DROP_NB_METADATA:
        nb.metadata.pop(key, None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = dict(LANGUAGE_INFO)
    used = set()
    for cell in nb.cells:
        for key in DROP_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if not cell.get("id") or cell["id"] in used:
            cell["id"] = nbformat.corpus.words.generate_corpus_id()
            while cell["id"] in used:
                cell["id"] = nbformat.corpus.words.generate_corpus_id()
        used.add(cell["id"])
    nbformat.validate(nb)
    return nb


def dumps(nb) -> str:
    return nbformat.writes(nb, version=4) + "\n"


def sync(path: Path, check: bool = False, root: Path = ROOT) -> bool:
    """Normalise one notebook; return True if it was (or, with check, would be) changed."""
    text = path.read_text(encoding="utf8")
    new = dumps(normalise(nbformat.reads(text, as_version=4), path, root))
    if new == text:
        return False
    if not check:
        path.write_text(new, encoding="utf8")
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "notebooks",
        nargs="*",
        type=Path,
        help="notebooks to process (default: every notebooks/*.ipynb)",
    )
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if any notebook is out of date"
    )
    args = parser.parse_args(argv)
    changed = [p for p in (args.notebooks or notebooks()) if sync(p, check=args.check)]
    for p in changed:
        print(
            f"{'out of date' if args.check else 'updated'}: "
            f"{p.relative_to(ROOT) if p.is_absolute() else p}"
        )
    if args.check and changed:
        print("run `python scripts/sync_notebooks.py` to fix", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
