"""Student copies: the classroom tool on a tiny notebook, then the round trip on every chapter.

The round trip writes the student copy of every notebook under notebooks/ and runs it
with nbclient: every blank answer must be caught (the answer cell raises
NotImplementedError, or its check cell fails), and every cell before the first answer
must still run. conftest.py runs this module after the notebooks themselves.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from dcgan_lib import classroom

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 300


def _tiny_notebook():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    return nbformat.v4.new_notebook(
        cells=[
            code("import sys", metadata={"tags": ["colab-setup", "remove-cell"]}),
            md(
                "[![Open In Colab](badge.svg)](https://colab.example/x.ipynb)",
                metadata={"tags": ["colab-badge"]},
            ),
            md("# Tiny\n\n## Exercises\n\n```{exercise}\n:label: ex1\n\nDouble it.\n```"),
            code(
                'def double(x):\n    """Twice x."""\n'
                "    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n"
                "\nprint('defined')"
            ),
            code(
                "from dcgan_lib import checks\nchecks.check_double(double)\n"
                "### BEGIN HIDDEN TESTS\nassert double(-1) == -2\n"
                "### END HIDDEN TESTS",
                metadata={"tags": ["points-3"]},
            ),
            md(
                "```{exercise}\n:label: ex2\n\nWhy?\n```\n\n"
                "```{solution} ex2\n:class: dropdown\n\nBecause.\n```\n\n"
                "Between.\n\n<!-- BEGIN SOLUTION -->\nA hidden answer.\n<!-- END SOLUTION -->"
            ),
            code(
                "### BEGIN SOLUTION\ny = double(3)\n### END SOLUTION\nprint(y)",
                outputs=[nbformat.v4.new_output("stream", name="stdout", text="6\n")],
                execution_count=4,
            ),
            code("checks.check_something(y)"),
            code("print(answer_listing)", metadata={"tags": ["handout-omit", "hide-input"]}),
        ]
    )


@pytest.fixture
def student():
    return classroom.classroom_notebook(_tiny_notebook(), "tiny")


def test_code_solution_replaced_by_stub_keeping_lines_around_it(student):
    answer = student.cells[2].source
    assert "return 2 * x" not in answer and "BEGIN SOLUTION" not in answer
    assert answer.splitlines() == [
        "def double(x):",
        '    """Twice x."""',
        "    # YOUR CODE HERE",
        "    raise NotImplementedError()",
        "",
        "print('defined')",
    ]
    top_level = next(c for c in student.cells if "y = double" in c.source or "print(y)" in c.source)
    assert top_level.source == "# YOUR CODE HERE\nraise NotImplementedError()\nprint(y)"


def test_hidden_tests_removed(student):
    check = student.cells[3].source
    assert "double(-1)" not in check and "HIDDEN" not in check
    assert "checks.check_double(double)" in check


def test_markdown_solutions_become_answer_cells_in_place(student):
    texts = [c.source for c in student.cells if c.cell_type == "markdown"]
    assert not any("Because." in t or "A hidden answer." in t or "{solution}" in t for t in texts)
    i = texts.index(next(t for t in texts if ":label: ex2" in t))
    assert texts[i + 1] == classroom.TEXT_STUB  # the {solution} block's place
    assert texts[i + 2] == "Between."
    assert texts[i + 3] == classroom.TEXT_STUB  # the <!-- BEGIN SOLUTION --> block's place


def test_nbgrader_metadata(student):
    meta = [c.metadata.get("nbgrader") for c in student.cells]
    answers = [m for m in meta if m and m["solution"]]
    graded = [m for m in meta if m and m["grade"] and not m["solution"]]
    code_answers = [
        m for m, c in zip(meta, student.cells) if m and m["solution"] and c.cell_type == "code"
    ]
    assert [m["grade_id"] for m in code_answers] == ["tiny-answer-1", "tiny-answer-2"]
    assert all(
        m["schema_version"] == 3 and m["locked"] is False and m["grade"] is False
        for m in code_answers
    )
    assert [(m["grade_id"], m["points"], m["locked"]) for m in graded] == [
        ("tiny-check-1", 3, True),
        ("tiny-check-2", 1, True),
    ]
    assert (
        len({m["grade_id"] for m in meta if m})
        == len([m for m in meta if m])
        == len(answers) + len(graded)
    )


def test_outputs_cleared_badge_dropped_setup_kept(student):
    assert not any("colab-badge" in c.metadata.get("tags", []) for c in student.cells)
    assert "colab-setup" in student.cells[0].metadata["tags"]
    assert all(
        c.outputs == [] and c.execution_count is None
        for c in student.cells
        if c.cell_type == "code"
    )
    nbformat.validate(student)


def test_solutions_mode_keeps_answers_and_marks_cells():
    nb = classroom.classroom_notebook(_tiny_notebook(), "tiny", solutions=True)
    text = "\n".join(c.source for c in nb.cells)
    assert "return 2 * x" in text and "double(-1)" in text and "Because." in text
    assert sum(1 for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")) == 4


def test_cells_that_give_an_answer_away_are_left_out_of_student_copies(student):
    omitted = [c for c in student.cells if "handout-omit" in c.metadata.get("tags", [])]
    assert len(omitted) == 1 and omitted[0].cell_type == "markdown"
    assert "leaves it out" in omitted[0].source
    assert not any("answer_listing" in c.source for c in student.cells)
    instructor = classroom.classroom_notebook(_tiny_notebook(), "tiny", solutions=True)
    assert any("print(answer_listing)" in c.source for c in instructor.cells)


def test_no_chapter_shows_an_answer_in_its_student_copy():
    """A cell that prints the library's version of what an exercise asks for is tagged."""
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        answers = [
            c.source
            for c in nb.cells
            if c.cell_type == "code" and classroom.has_code_solution(c.source)
        ]
        names = {
            line.split("def ", 1)[1].split("(")[0].removeprefix("my_")
            for src in answers
            for line in src.splitlines()
            if line.startswith("def ")
        }
        student = classroom.classroom_notebook(nb, path.stem)
        for cell in student.cells:
            if cell.cell_type != "code":
                continue
            for name in names:
                assert f"getsource({name})" not in cell.source.replace("dcgan_lib.", ""), (
                    f"{path.name}: a cell prints the library's {name}, the answer to an exercise; "
                    "tag it handout-omit"
                )


def test_gated_solution_and_unbalanced_markers():
    rest, blocks = classroom.split_markdown_solutions(
        "Q\n\n```{solution-start} ex\n```\nA\n```{solution-end}\n```\n\nAfter"
    )
    assert rest == "Q\n\nAfter" and blocks[0].startswith("```{solution-start}")
    with pytest.raises(classroom.MarkerError):
        classroom.strip_code_solution("### BEGIN SOLUTION\nx = 1")
    with pytest.raises(classroom.MarkerError):
        classroom.strip_code_solution("x = 1\n### END SOLUTION")
    with pytest.raises(classroom.MarkerError):
        classroom.split_markdown_solutions("<!-- BEGIN SOLUTION -->\nA")


def test_cli_writes_copies_and_never_touches_the_source(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    nbformat.write(_tiny_notebook(), src / "tiny.ipynb")
    before = (src / "tiny.ipynb").read_bytes()
    run = subprocess.run(
        [sys.executable, "-m", "dcgan_lib.classroom", str(src), str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    assert (src / "tiny.ipynb").read_bytes() == before
    assert "raise NotImplementedError()" in (out / "tiny.ipynb").read_text()
    same = subprocess.run(
        [sys.executable, "-m", "dcgan_lib.classroom", str(src), str(src)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert same.returncode == 1 and "never modified" in same.stderr
    helped = subprocess.run(
        [sys.executable, "-m", "dcgan_lib.classroom", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert helped.returncode == 0 and "SRC_DIR" in helped.stdout and "--solutions" in helped.stdout


def test_one_assignment_per_chapter_and_the_zip(tmp_path):
    import zipfile

    src = tmp_path / "src"
    src.mkdir()
    nbformat.write(_tiny_notebook(), src / "01_tiny.ipynb")
    nbformat.write(_tiny_notebook(), src / "02_other.ipynb")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "dcgan_lib.classroom",
            str(src),
            str(tmp_path / "out"),
            "--zip",
            str(tmp_path / "handouts.zip"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "out" / "01_tiny" / "01_tiny.ipynb").exists()
    with zipfile.ZipFile(tmp_path / "handouts.zip") as archive:
        assert sorted(archive.namelist()) == ["01_tiny/01_tiny.ipynb", "02_other/02_other.ipynb"]
        student = nbformat.reads(archive.read("01_tiny/01_tiny.ipynb").decode(), as_version=4)
    assert not any("### BEGIN SOLUTION" in c.source for c in student.cells)
    assert not (tmp_path / "handouts.zip.tmp").exists()


# -- the round trip on every chapter ----------------------------------------------------


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory):
    """Student copies in TMP/notebooks; TMP's other entries link to the repository's, so
    relative paths in a chapter (../checkpoints/...) resolve as they do in notebooks/."""
    top = tmp_path_factory.mktemp("classroom")
    for entry in ROOT.iterdir():
        if entry.name not in ("notebooks", "_build", ".git"):
            (top / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    classroom.write_copies(ROOT / "notebooks", top / "notebooks")
    return top / "notebooks"


def _error(cell):
    return next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)


def _caught(error) -> bool:
    """The blank answer was noticed: NotImplementedError itself, or a check that failed."""
    return error is not None and (
        error["ename"] in ("NotImplementedError", "CheckFailed")
        or "NotImplementedError" in error.get("evalue", "")
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_student_copy_round_trip(notebook, student_dir):
    from nbclient import NotebookClient

    path = student_dir / notebook.name
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    answers = [i for i, c in enumerate(code) if c.metadata.get("nbgrader", {}).get("solution")]
    assert answers, (
        f"{notebook.name} has no code answer between ### BEGIN SOLUTION and ### END SOLUTION"
    )

    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        allow_errors=True,
        kernel_name="python3",
        resources={"metadata": {"path": str(student_dir)}},
    )
    client.execute()

    early = [(i, _error(c)) for i, c in enumerate(code[: answers[0]]) if _error(c)]
    assert not early, (
        f"{notebook.name}: the student copy fails before its first exercise, in code cell "
        f"{early[0][0]}: {early[0][1]['ename']}: {early[0][1]['evalue']}"
    )
    for i in answers:
        after = code[i + 1] if i + 1 < len(code) else None
        caught = _caught(_error(code[i])) or (after is not None and _caught(_error(after)))
        assert caught, (
            f"{notebook.name}: the blank answer in code cell {i} is not caught: it should raise "
            f"NotImplementedError, or the check in the next cell should fail\n{code[i].source}"
        )
