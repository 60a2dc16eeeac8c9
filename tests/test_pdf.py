"""The whole book as one PDF (scripts/build_pdf.py): built offline from the single-page HTML
build, printed by headless Chromium. Runs after the HTML build (conftest.py orders it last),
so the chapters come from the execution cache and nothing runs twice.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "build_pdf.py"


def _script():
    spec = importlib.util.spec_from_file_location("build_pdf", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _chapter_titles() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf8"))
    titles = []
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            path = ROOT / chapter["file"]
            if path.with_suffix(".ipynb").exists():
                nb = nbformat.read(path.with_suffix(".ipynb"), as_version=4)
                text = next(
                    c.source
                    for c in nb.cells
                    if c.cell_type == "markdown" and re.search(r"^# ", c.source, re.M)
                )
            else:
                text = path.with_suffix(".md").read_text(encoding="utf8")
            titles.append(re.search(r"^# (.+)$", text, re.M).group(1).strip())
    return titles


@pytest.fixture(scope="module")
def pdf(tmp_path_factory):
    build_pdf = _script()
    out = ROOT / "_build" / "pdf" / "dcgan-book.pdf"
    index = build_pdf.build_singlehtml(ROOT / "_build" / "pdf" / "singlehtml.log")
    layout = build_pdf.print_pdf(index, out)
    return out, layout


def test_the_pdf_holds_every_chapter_typeset(pdf, book_report):
    out, layout = pdf
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and b"%%EOF" in data[-1024:], f"{out} is not a whole PDF"
    missing = [t for t in _chapter_titles() if t not in layout["chapters"]]
    assert not missing, f"chapters missing from the printed book: {missing}"
    assert layout["maths"] > 500 and layout["images"] > 40, layout
    assert layout["pages"] >= 3 * len(layout["chapters"]), f"only {layout['pages']} pages"
    assert not layout["wide_code"]  # print_pdf refuses to print a page that cuts code off
    book_report["lines"].append(
        f"PDF: {out} ({layout['pages']} pages, {layout['bytes'] / 1e6:.1f} MB, "
        f"{len(layout['chapters'])} chapters, {layout['maths']} formulas)"
    )


def test_page_count_reads_the_page_tree():
    build_pdf = _script()
    tree = b"1 0 obj << /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >> endobj"
    assert build_pdf.count_pages(tree) == 2
    assert build_pdf.count_pages(b"<< /Count 7 /Type /Pages >>") == 7
    assert build_pdf.count_pages(b"not a pdf") == 0
