"""Reader copies of the book's notebooks: the chapters as Jupyter and Colab show them.

    python -m dcgan_lib.readers notebooks/ readers/ --executed _build/.jupyter_cache

The chapters are written for the book build (MyST: roles, directives, glued numbers).
Jupyter and Colab show that markup raw, so each chapter gets a reader copy in plain
Markdown that they render:

- {glue:text}`name:.2f` becomes the number the build computed, formatted as the role
  says; the values come from executed notebooks (`--executed`: the Jupyter cache the
  build and the tests fill, or a folder such as _build/jupyter_execute), else from the
  reader copy being replaced. A value found nowhere becomes *name* in italics, with a
  note at the top of the copy;
- {cite:t}`key` becomes "Goodfellow et al. (2014)", {cite:p}`a,b` "(Gulrajani et al.,
  2017, Mescheder et al., 2018)", each linked to the bibliography page of the published
  book (GitHub Pages of _config.yml's repository, PAGES_URL); {doc} and {ref} become
  links to the pages and sections there, {eq} and {numref} the numbers, {math} $...$;
- an {exercise} becomes a heading, "### Exercise 3.2" (numbered per chapter), and a
  {solution} (also the gated solution-start/solution-end form, and markdown between
  <!-- BEGIN SOLUTION --> and <!-- END SOLUTION -->) a folded <details> block;
- admonitions become a blockquote with a bold title (a dropdown a <details> block),
  figures a Markdown image with its caption, {math} blocks $$...$$; `(label)=` targets
  are dropped and a labelled equation gets its number as \\tag{n};
- the first cell is the Colab setup cell of scripts/sync_notebooks.py, which stops with
  the reason when the clone or install fails, and the badge opens the reader copy.

Where they live: committed under readers/, beside notebooks/, so that Colab opens them
straight from the repository (github/ORG/REPO/blob/BRANCH/readers/NAME.ipynb: the badge
that scripts/sync_notebooks.py writes, and the book's launch button, which
book/_ext/book_html.py points there). Nothing has to be published for it, and relative
paths (../checkpoints) work from readers/ as from notebooks/. Each copy keeps the glued
values it shows in its metadata, so regenerating without an executed notebook changes
nothing but what notebooks/ changed; tests/test_readers.py fails when a copy is stale.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import posixpath
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

from . import classroom
from .myst import LABEL_LINE, Chapter, convert, read_bibliography

PAGES_URL = "https://{org}.github.io/{repo}"  # the published book, from _config.yml
META = "dcgan_reader"  # notebook metadata: the source and the glued values shown
NOTE_ID = "reader-note"  # the cell that says computed values are missing


# -- glued values ---------------------------------------------------------------------


def glue_outputs(nb) -> dict[str, str]:
    """name -> text/plain of every value an executed notebook glued (myst-nb's scrapbook
    outputs: display_data with metadata {"scrapbook": {"name": ...}})."""
    values = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            book = out.get("metadata", {}).get("scrapbook")
            if book and "name" in book:
                prefix = book.get("mime_prefix", "")
                text = out.get("data", {}).get(prefix + "text/plain")
                if text is not None:
                    values[book["name"]] = "".join(text)
    return values


def _code(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]


def executed_glue(sources, notebook: Path, nb) -> tuple[dict[str, str], str]:
    """The glued values of `notebook` from the first of `sources` that has it executed (a
    jupyter-cache folder or a folder of executed notebooks), and where they came from:
    "executed" (this very notebook), "earlier" (an earlier version of it) or ""."""
    found = ({}, "")
    for source in map(Path, sources):
        if (source / "global.db").is_file():
            from jupyter_cache import get_cache  # the build's dependency, not the package's

            cache = get_cache(str(source))
            try:
                return glue_outputs(
                    cache.get_cache_bundle(cache.match_cache_notebook(nb).pk).nb
                ), "executed"
            except KeyError:
                same = [r for r in cache.list_cache_records() if Path(r.uri).name == notebook.name]
                if same and not found[1]:
                    latest = max(same, key=lambda r: r.created)
                    found = (glue_outputs(cache.get_cache_bundle(latest.pk).nb), "earlier")
        elif not found[1]:
            for path in sorted(source.rglob(notebook.name))[:1]:
                run = nbformat.read(path, as_version=4)
                same = _code(run) == _code(nb)
                if same:
                    return glue_outputs(run), "executed"
                found = (glue_outputs(run), "earlier")
    return found


# -- the book around a chapter ----------------------------------------------------------


@dataclass
class Book:
    """What a chapter's links need: the published book, page titles, section labels, and
    the Colab cells of scripts/sync_notebooks.py (None: cells kept as they are)."""

    url: str = ""
    folder: str = "notebooks"  # the chapters' folder, relative to the book's root
    root: Path | None = None
    labels: dict = field(default_factory=dict)  # section label -> (docname, title)
    setup: str | None = None
    badge: object = None  # function: notebook path -> badge cell source

    def title(self, doc: str) -> str:
        for ext in (".ipynb", ".md"):
            path = self.root / f"{doc}{ext}" if self.root else None
            if path and path.is_file():
                return _title(path)
        return posixpath.basename(doc)


def _title(path: Path) -> str:
    text = path.read_text(encoding="utf8")
    if path.suffix == ".ipynb":
        nb = nbformat.reads(text, as_version=4)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    m = re.search(r"^# (.+)$", text, re.M)
    return m.group(1).strip() if m else path.stem


def _section_labels(nb, doc: str) -> dict:
    labels = {}
    for cell in (c for c in nb.cells if c.cell_type == "markdown"):
        lines = cell.source.splitlines()
        for i, line in enumerate(lines):
            if m := LABEL_LINE.match(line):
                heading = next((h for h in lines[i + 1 :] if h.strip()), "")
                labels[m.group(1)] = (doc, heading.lstrip("#").strip() or m.group(1))
    return labels


def load_book(root, folder: str = "notebooks") -> Book:
    """The Book of the repository at `root` (its _config.yml, scripts/sync_notebooks.py)."""
    root = Path(root).resolve()
    spec = importlib.util.spec_from_file_location(
        "sync_notebooks", root / "scripts/sync_notebooks.py"
    )
    sync = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync)
    org, _, repo = sync.repository(root)["slug"].partition("/")
    book = Book(PAGES_URL.format(org=org, repo=repo), folder, root, setup=sync.setup_source(root))
    book.badge = lambda path: sync.badge_source(path, root)
    for path in sorted((root / folder).glob("*.ipynb")):
        book.labels.update(
            _section_labels(nbformat.read(path, as_version=4), f"{folder}/{path.stem}")
        )
    return book


# -- notebooks --------------------------------------------------------------------------


def reader_notebook(nb, name: str, glue_values: dict, bibliography: dict, book: Book | None = None):
    """The reader copy of chapter `name` (e.g. "03_fc_gan_images"); `nb` is not changed.

    glue_values: name -> the text/plain value the build glued (see glue_outputs);
    bibliography: key -> (surnames, year), see read_bibliography; book: see load_book.
    """
    nb, book = copy.deepcopy(nb), book or load_book(Path(__file__).resolve().parents[1])
    book = copy.copy(book)
    book.labels = {**book.labels, **_section_labels(nb, f"{book.folder}/{name}")}
    ch = Chapter(name, book, dict(glue_values), bibliography)
    markdown = [c for c in nb.cells if c.cell_type == "markdown"]
    for index, cell in enumerate(markdown):
        classroom.markdown_segments(cell.source, f"{name}: markdown cell {index}")  # checks
    for _ in range(2):  # a dry pass numbers exercises and equations for the references
        ch.counts, ch.missing = {}, set()
        sources = [convert(cell.source, ch) for cell in markdown]
        ch.dry = False
    for cell, source in zip(markdown, sources):
        cell.source = source
    path = (book.root or Path(".")) / book.folder / f"{name}.ipynb"
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "colab-setup" in tags and book.setup is not None:
            cell.source = book.setup
        elif "colab-badge" in tags and book.badge is not None:
            cell.source = book.badge(path)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    if ch.missing:
        note = nbformat.v4.new_markdown_cell(
            "> **Note**\n>\n> Made without the book's computed values: a name in italics, such "
            f"as *{min(ch.missing)}*, stands for a number this chapter computes when it runs; "
            f"the [published book]({ch.page(f'{book.folder}/{name}')}) shows them."
        )
        note["id"] = NOTE_ID
        title = next(
            (
                i
                for i, c in enumerate(nb.cells)
                if c.cell_type == "markdown"
                and "colab-badge" not in c.get("metadata", {}).get("tags", [])
            ),
            0,
        )
        nb.cells.insert(title + 1, note)
    shown = {k: v for k, v in sorted(glue_values.items()) if k in ch.used}
    nb.metadata[META] = {"source": f"{book.folder}/{name}.ipynb", "glue": shown}
    nb.metadata.pop("widgets", None)
    return nb


def _root(src: Path) -> Path:
    for folder in (src, *src.parents):
        if (folder / "_config.yml").is_file():
            return folder
    raise FileNotFoundError(f"no _config.yml in {src} or above it: not the book's repository")


def write_readers(src_dir, out_dir, executed=(), keep_from=None) -> list[tuple[Path, str]]:
    """Write the reader copy of every notebook in `src_dir` to `out_dir`; return (path, where
    its glued values came from) for each. Values: from `executed` (see executed_glue), else
    those of the copy in `keep_from` (default: `out_dir`) being replaced."""
    src, out = Path(src_dir).resolve(), Path(out_dir).resolve()
    if not src.is_dir():
        raise FileNotFoundError(f"no such folder: {src}")
    if out == src:
        raise ValueError("OUT_DIR must differ from SRC_DIR: the notebooks are never modified")
    paths = sorted(p for p in src.glob("*.ipynb") if p.is_file())
    if not paths:
        raise FileNotFoundError(f"no notebooks (*.ipynb) in {src}")
    root = _root(src)
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf8"))
    bibliography = read_bibliography(*(root / f for f in config.get("bibtex_bibfiles", [])))
    book = load_book(root, src.relative_to(root).as_posix())
    keep = Path(keep_from) if keep_from is not None else out
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        values, where = executed_glue(executed, path, nb)
        old = keep / path.name
        if old.is_file():
            kept = nbformat.read(old, as_version=4).metadata.get(META, {}).get("glue", {})
            values, where = {**kept, **values}, where or "kept"
        copy_ = reader_notebook(nb, path.stem, values, bibliography, book)
        nbformat.validate(copy_)
        target = out / path.name
        target.write_text(nbformat.writes(copy_) + "\n", encoding="utf8")
        missing = any(c.get("id") == NOTE_ID for c in copy_.cells)
        written.append((target, "values missing" if missing else where or "no values"))
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dcgan_lib.readers",
        description="Write the reader copy of every notebook in SRC_DIR to OUT_DIR: MyST "
        "markup turned into Markdown that Jupyter and Colab render, glued numbers filled "
        "in, solutions folded. SRC_DIR is never modified.",
    )
    parser.add_argument("src_dir", metavar="SRC_DIR", help="the chapters, e.g. notebooks/")
    parser.add_argument("out_dir", metavar="OUT_DIR", help="where to write them, e.g. readers/")
    parser.add_argument(
        "--executed",
        action="append",
        default=[],
        metavar="PATH",
        help="executed notebooks to take glued values from: the Jupyter cache "
        "(_build/.jupyter_cache) or a folder of them (_build/jupyter_execute); repeatable. "
        "Without it, the values of the copies in OUT_DIR are kept",
    )
    args = parser.parse_args(argv)
    try:
        written = write_readers(args.src_dir, args.out_dir, executed=args.executed)
    except (OSError, ValueError, KeyError, classroom.MarkerError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for path, where in written:
        print(f"{path}  ({where})")
    gaps = [p.name for p, where in written if where == "values missing"]
    print(f"{len(written)} reader copies written to {Path(args.out_dir)}", file=sys.stderr)
    if gaps:
        print(
            f"warning: no computed values for {', '.join(gaps)}: run the notebooks "
            "(python -m pytest notebooks/) and pass --executed _build/.jupyter_cache",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
