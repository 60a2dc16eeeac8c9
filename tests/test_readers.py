"""Reader copies (dcgan_lib.readers): MyST turned into Markdown Jupyter and Colab render.

A tiny chapter shows each construct's conversion; then every chapter under notebooks/ is
converted with the values its executed notebook glued (conftest.py runs this module
after the notebooks, which store their executed copies in the book's Jupyter cache), and
the copies committed under readers/ must be what the command writes today.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from test_platform import run_setup_in_colab, sync

from conftest import jupyter_cache_path
from dcgan_lib import classroom, readers
from dcgan_lib.myst import format_glue, read_bibliography

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]
COMMITTED = ROOT / "readers"
BIB = read_bibliography(ROOT / "book" / "references.bib")
ORG, REPO = sync.repository(ROOT)["slug"].split("/")
URL = f"https://{ORG}.github.io/{REPO}"  # the published book: GitHub Pages of the repository
LEFT_OVER = re.compile(r"\{[a-z:-]+\}`|^\s*(`{3,}|:{3,})\{|^\s*\([\w:.-]+\)=\s*$", re.M)
GLUE = re.compile(r"\{glue:text\}`([^`:]+):?([^`]*)`")
REGENERATE = "python -m dcgan_lib.readers notebooks/ readers/ --executed _build/.jupyter_cache"


def _md(nb) -> str:
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def _tiny():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    return nbformat.v4.new_notebook(
        cells=[
            code("import sys", metadata={"tags": ["colab-setup", "remove-cell"]}),
            md("[![Open In Colab](badge.svg)](x)", metadata={"tags": ["colab-badge"]}),
            md(
                "# 3. Tiny\n\nFID {glue:text}`fid:.1f`, {glue:text}`n:,d` images, "
                "{glue:text}`gone:.2f` left, {cite:t}`goodfellow2014generative` and "
                "{cite:p}`gulrajani2017improved,dowson1982frechet`; see {doc}`01_gan_game` "
                "and {ref}`the long run <sec-long>`.\n\n(sec-long)=\n## The long run\n\n"
                "$$ a = b $$ (eq-ab)\n\nBy {eq}`eq-ab` and {numref}`fig-x`, {math}`x^2`."
            ),
            md(
                "```{note}\nA *note* with {glue:text}`fid:.0f`.\n```\n\n"
                ":::{admonition} Careful\n:class: dropdown\n\nHidden.\n:::\n\n"
                "```{figure} pic.png\n:name: fig-x\n:alt: a picture\n\nThe caption.\n```\n\n"
                "```{math}\n:label: eq-c\nc = d\n```\n\n```python\n{cite:p}`kept`\n```"
            ),
            md(
                "## Exercises\n\n```{exercise} Double it\n:label: ex-a\n\nWrite it.\n```\n\n"
                "```{solution} ex-a\n:class: dropdown\n\nLike this.\n```\n\n"
                "```{exercise}\n:label: ex-b\n\nWhy?\n```\n\n"
                "```{solution-start} ex-b\n```\nGated answer.\n```{solution-end}\n```\n\n"
                "<!-- BEGIN SOLUTION -->\nA comment answer, after {ref}`ex-a`.\n"
                "<!-- END SOLUTION -->"
            ),
        ]
    )


@pytest.fixture(scope="module")
def tiny():
    book = readers.load_book(ROOT)
    return readers.reader_notebook(_tiny(), "03_tiny", {"fid": "12.345", "n": "5000"}, BIB, book)


def test_tiny_chapter_becomes_plain_markdown(tiny):
    text = _md(tiny)
    assert not LEFT_OVER.search(text.replace("```python\n{cite:p}`kept`", ""))
    assert "FID 12.3, 5,000 images, *gone* left" in text
    assert f"[Goodfellow et al. (2014)]({URL}/book/bibliography.html)" in text
    assert (
        f"([Gulrajani et al., 2017]({URL}/book/bibliography.html), "
        f"[Dowson and Landau, 1982]({URL}/book/bibliography.html))"
    ) in text
    assert f"[1. The GAN game]({URL}/notebooks/01_gan_game.html)" in text
    assert f"[the long run]({URL}/notebooks/03_tiny.html#sec-long)" in text
    assert "$$ a = b \\tag{1} $$" in text and "By (1) and Figure 1, $x^2$." in text
    assert "$$\nc = d\n\\tag{2}\n$$" in text
    assert "> **Note**\n>\n> A *note* with 12." in text
    assert "<details>\n<summary>Careful</summary>\n\nHidden.\n\n</details>" in text
    assert "![a picture](pic.png)\n\n*Figure 1:* The caption." in text
    assert "```python\n{cite:p}`kept`\n```" in text  # code blocks are left alone


def test_tiny_exercises_are_headed_and_solutions_folded(tiny):
    text = _md(tiny)
    assert re.findall(r"^### Exercise .*$", text, re.M) == [
        "### Exercise 3.1: Double it",
        "### Exercise 3.2",
    ]
    assert "<summary>Solution to Exercise 3.1</summary>\n\nLike this.\n\n</details>" in text
    assert "<summary>Solution to Exercise 3.2</summary>\n\nGated answer.\n\n</details>" in text
    assert "<summary>Solution</summary>\n\nA comment answer, after Exercise 3.1." in text
    assert text.count("<details>") == text.count("</details>") == 4


def test_tiny_copy_notes_missing_values_and_keeps_those_it_shows(tiny):
    note = next(c for c in tiny.cells if c.get("id") == readers.NOTE_ID)
    assert tiny.cells.index(note) == 3 and "*gone*" in note.source  # right after the title
    assert tiny.metadata[readers.META]["glue"] == {"fid": "12.345", "n": "5000"}
    assert tiny.cells[0].source == sync.setup_source(ROOT)
    assert sync.colab_url(ROOT / "notebooks" / "03_tiny.ipynb") in tiny.cells[1].source


def test_bibliography_names_and_years():
    assert BIB["goodfellow2014generative"] == (
        ["Goodfellow", "Pouget-Abadie", "Mirza", "Xu", "Warde-Farley", "Ozair", "Courville"]
        + ["Bengio"],
        "2014",
    )
    names = {surnames[0] for surnames, _ in BIB.values()}
    assert {"Kynkäänniemi", "LeCun", "Theis", "Dowson"} <= names
    assert not [k for k, (s, y) in BIB.items() if not s or not re.fullmatch(r"\d{4}", y)]


def test_glue_formats_as_myst_nb():
    assert format_glue("0.012086", ".2f") == "0.01"
    assert format_glue("1234567", ",d") == "1,234,567"
    assert format_glue("2000.0", "d") == "2000"
    assert format_glue("3.3e-05", ".0e") == "3e-05"
    assert format_glue("'digits'", "") == "digits"


def test_book_url_is_github_pages_of_the_repository():
    assert readers.load_book(ROOT).url == URL


# -- every chapter -----------------------------------------------------------------------


def _executed() -> list[Path]:
    cache = jupyter_cache_path(ROOT)
    return [cache] if (cache / "global.db").is_file() else []


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    out = tmp_path_factory.mktemp("readers")
    written = readers.write_readers(ROOT / "notebooks", out, executed=_executed(), keep_from=out)
    return {path.stem: nbformat.read(path, as_version=4) for path, _ in written}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_myst_left(path, copies):
    found = [m.group(0) for m in LEFT_OVER.finditer(_md(copies[path.stem]))]
    assert not found, f"{path.name}: MyST left in the reader copy: {found[:5]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_citations_become_author_year_links(path, copies):
    source, text = _md(nbformat.read(path, as_version=4)), _md(copies[path.stem])
    keys = [k for m in re.findall(r"\{cite:[pt]\}`([^`]*)`", source) for k in m.split(",")]
    links = re.findall(r"\[([^\]]+)\]\(" + re.escape(URL) + r"/book/bibliography\.html\)", text)
    assert len(links) == len(keys)
    assert all(re.fullmatch(r"[^\d()]+(, | \()\d{4}\)?", link) for link in links), links


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_exercises_numbered_and_solutions_folded(path, copies):
    nb, text = nbformat.read(path, as_version=4), _md(copies[path.stem])
    source = _md(nb)
    n = len(re.findall(r"^\s*(`{3,}|:{3,})\{exercise(-start)?\}", source, re.M))
    chapter = int(path.stem[:2])
    assert re.findall(r"^### Exercise (\S+?)(?::|$)", text, re.M) == [
        f"{chapter}.{k}" for k in range(1, n + 1)
    ]
    solutions = [
        body
        for i, cell in enumerate(c for c in nb.cells if c.cell_type == "markdown")
        for kind, body in classroom.markdown_segments(cell.source, f"cell {i}")
        if kind == "solution"
    ]
    folded = re.findall(r"<details>\n<summary>Solution[^<]*</summary>\n(.*?)</details>", text, re.S)
    assert len(folded) == len(solutions) and text.count("<details>") == text.count("</details>")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_glued_numbers_are_the_computed_values(path, copies):
    nb = nbformat.read(path, as_version=4)
    roles = GLUE.findall(_md(nb))
    if not roles:
        pytest.skip("no glued numbers in this chapter")
    values, where = readers.executed_glue(_executed(), path, nb)
    if not where:
        pytest.skip("no executed copy of this chapter in the Jupyter cache (run the notebook)")
    text = _md(copies[path.stem])
    if where == "executed":  # this very notebook ran: every value is there
        assert not [n for n, _ in roles if n not in values], "glued names missing"
        assert not any(c.get("id") == readers.NOTE_ID for c in copies[path.stem].cells)
    for name, spec in roles:
        if name in values:
            assert format_glue(values[name], spec) in text, f"{name}:{spec}"


@pytest.mark.parametrize("path", NOTEBOOKS[:1], ids=IDS[:1])
@pytest.mark.parametrize("fail, why", [("git clone", "could not clone"), ("", "")])
def test_setup_cell_stops_when_clone_or_install_fails(path, copies, monkeypatch, fail, why):
    setup = copies[path.stem].cells[0].source
    assert setup == sync.setup_source(ROOT)
    fail = fail or f"{sys.executable} -m pip"
    with pytest.raises(SystemExit) as stop:
        run_setup_in_colab(setup, monkeypatch, fail=fail)
    message = str(stop.value)
    assert message.startswith(why or "could not install dcgan_lib"), message
    assert "unable to access" in message and "\n" not in message


def test_badge_and_launch_button_open_the_reader_copy(copies):
    spec = importlib.util.spec_from_file_location("book_html", ROOT / "book/_ext/book_html.py")
    book_html = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(book_html)

    class App:  # what the handler reads of Sphinx
        class config:
            html_theme_options = {"launch_buttons": {"colab_url": sync.COLAB}}

    for path in NOTEBOOKS:
        expected = sync.colab_url(path, ROOT)
        assert expected.endswith(f"/blob/{sync.repository(ROOT)['branch']}/readers/{path.name}")
        assert f"({expected})" in copies[path.stem].cells[1].source
        theme = expected.replace(f"readers/{path.name}", f"notebooks/{path.name}")
        context = {"header_buttons": [{"buttons": [{"url": theme}, {"url": "https://x"}]}]}
        book_html.colab_to_reader_copy(App, f"notebooks/{path.stem}", "", context, None)
        assert [b["url"] for b in context["header_buttons"][0]["buttons"]] == [
            expected,
            "https://x",
        ]


# -- the committed copies ----------------------------------------------------------------


def test_committed_copies_are_up_to_date(tmp_path):
    """readers/ holds what the command writes from notebooks/ today (glued values kept)."""
    readers.write_readers(ROOT / "notebooks", tmp_path, keep_from=COMMITTED)
    fresh = {p.name: p.read_text(encoding="utf8") for p in tmp_path.glob("*.ipynb")}
    committed = {p.name: p.read_text(encoding="utf8") for p in COMMITTED.glob("*.ipynb")}
    stale = sorted(n for n in fresh.keys() | committed.keys() if fresh.get(n) != committed.get(n))
    assert not stale, f"reader copies out of date: {stale}; run `{REGENERATE}`"


def test_committed_copies_show_every_value():
    gaps = [
        p.name
        for p in sorted(COMMITTED.glob("*.ipynb"))
        if any(c.get("id") == readers.NOTE_ID for c in nbformat.read(p, as_version=4).cells)
    ]
    assert not gaps, (
        f"reader copies without computed values: {gaps}; run the notebooks, then `{REGENERATE}`"
    )


def test_command_line(tmp_path, capsys):
    result = subprocess.run(
        [sys.executable, "-m", "dcgan_lib.readers", "notebooks", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
    assert readers.main([str(ROOT / "notebooks"), str(ROOT / "notebooks")]) == 1
    assert capsys.readouterr().err.startswith("error: OUT_DIR must differ")
