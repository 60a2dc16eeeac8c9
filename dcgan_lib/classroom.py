"""Student copies of the book's notebooks, for a classroom.

    python -m dcgan_lib.classroom notebooks/ handout/               # student copies
    python -m dcgan_lib.classroom notebooks/ source/ --solutions --per-chapter  # for nbgrader
    python -m dcgan_lib.classroom notebooks/ handout/ --zip handouts.zip  # and zipped

``--per-chapter`` makes one assignment per chapter, as nbgrader lays them out
(OUT/01_gan_game/01_gan_game.ipynb, ...); the zip holds that layout too.

The chapters are solution notebooks. Their conventions (the markers are nbgrader's, so
the same notebooks also work with `nbgrader generate_assignment`):

- code answers sit between ``### BEGIN SOLUTION`` and ``### END SOLUTION``; a student
  copy has ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` in their place (at the
  marker's indentation), the lines before and after the markers kept;
- the code cell right after an answer cell that calls a ``check_*`` function of
  ``dcgan_lib.checks`` is that answer's graded test (1 point; a cell tag ``points-N``
  gives N); lines between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` are
  removed from student copies;
- written answers are sphinx-exercise ``{solution}`` blocks (also the gated
  ``{solution-start}`` ... ``{solution-end}`` form) or markdown between
  ``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->``; each moves into its own
  markdown cell, which a student copy turns into ``YOUR ANSWER HERE``.

- a cell tagged ``handout-omit`` shows an answer outside the markers: a listing of the
  library's version of what an exercise asks for, or code that demonstrates a written
  answer. A student copy replaces it by a one-line note; instructor copies keep it.

Every answer and test cell gets nbgrader cell metadata (schema 3), outputs are
cleared, and the Colab badge cell (which opens the reader copy) is dropped.
The source notebooks are never modified. nbgrader itself is not needed.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
import zipfile
from pathlib import Path

import nbformat

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
MD_BEGIN, MD_END = "<!-- BEGIN SOLUTION -->", "<!-- END SOLUTION -->"
CODE_STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]
TEXT_STUB = "YOUR ANSWER HERE"
ANSWER_TAG = "written-answer"  # marks the markdown cells made from solution blocks
OMIT_TAG = "handout-omit"  # a cell that gives an answer away: left out of student copies
OMIT_NOTE = (
    "*(The book shows a cell here that gives away an answer to one of the exercises; "
    "this student copy leaves it out.)*"
)
CHECK_CALL = re.compile(r"\bcheck_\w+\s*\(")
FENCE = re.compile(r"^(\s*)(`{3,}|:{3,})\{(solution|solution-start|solution-end)\}")


class MarkerError(ValueError):
    """A solution or hidden-test marker without its partner."""


# -- code cells -------------------------------------------------------------------------


def _replace_regions(lines: list[str], begin: str, end: str, stub: list[str] | None, where: str):
    """Replace each begin..end region (markers included) by `stub` lines at the begin
    marker's indentation (or drop it when stub is None). Returns (lines, regions found)."""
    out, inside, found, indent = [], False, 0, ""
    for n, line in enumerate(lines, 1):
        text = line.strip()
        if text.startswith(begin):
            if inside:
                raise MarkerError(f"{where}: line {n}: {begin!r} inside another {begin!r}")
            inside, found = True, found + 1
            indent = line[: len(line) - len(line.lstrip())]
            if stub is not None:
                out += [indent + s for s in stub]
        elif text.startswith(end):
            if not inside:
                raise MarkerError(f"{where}: line {n}: {end!r} without {begin!r}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise MarkerError(f"{where}: {begin!r} without {end!r}")
    return out, found


def strip_code_solution(source: str, where: str = "cell") -> tuple[str, int]:
    """Source with each solution region replaced by the stub; and how many there were."""
    lines, found = _replace_regions(
        source.splitlines(), BEGIN_SOLUTION, END_SOLUTION, CODE_STUB, where
    )
    return "\n".join(lines), found


def strip_hidden_tests(source: str, where: str = "cell") -> str:
    lines, _ = _replace_regions(source.splitlines(), BEGIN_HIDDEN, END_HIDDEN, None, where)
    return "\n".join(lines).rstrip()


def has_code_solution(source: str) -> bool:
    return any(line.strip().startswith(BEGIN_SOLUTION) for line in source.splitlines())


# -- markdown cells ---------------------------------------------------------------------


def markdown_segments(source: str, where: str = "cell") -> list[tuple[str, str]]:
    """Split a markdown cell into ("text", ...) and ("solution", ...) pieces, in order."""
    lines = source.splitlines()
    segments, text, i = [], [], 0

    def flush():
        chunk = re.sub(r"\n{3,}", "\n\n", "\n".join(text)).strip()
        if chunk:
            segments.append(("text", chunk))
        text.clear()

    while i < len(lines):
        line = lines[i]
        m = FENCE.match(line)
        if line.strip() == MD_BEGIN:
            j = next((k for k in range(i + 1, len(lines)) if lines[k].strip() == MD_END), None)
            if j is None:
                raise MarkerError(f"{where}: {MD_BEGIN} without {MD_END}")
            flush()
            segments.append(("solution", "\n".join(lines[i + 1 : j]).strip()))
            i = j + 1
        elif line.strip() == MD_END:
            raise MarkerError(f"{where}: {MD_END} without {MD_BEGIN}")
        elif m:
            j = _directive_end(lines, i, m.group(2), where)
            if m.group(3) == "solution-start":  # gated form: runs to the end of {solution-end}
                k = next(
                    (
                        k
                        for k in range(j + 1, len(lines))
                        if (e := FENCE.match(lines[k])) and e.group(3) == "solution-end"
                    ),
                    None,
                )
                if k is None:
                    raise MarkerError(f"{where}: {{solution-start}} without {{solution-end}}")
                j = _directive_end(lines, k, FENCE.match(lines[k]).group(2), where)
            flush()
            segments.append(("solution", "\n".join(lines[i : j + 1]).strip()))
            i = j + 1
        else:
            text.append(line)
            i += 1
    flush()
    return segments


def split_markdown_solutions(source: str, where: str = "cell") -> tuple[str, list[str]]:
    """Take the solution blocks out of a markdown cell: (what remains, [blocks])."""
    segments = markdown_segments(source, where)
    rest = "\n\n".join(t for kind, t in segments if kind == "text")
    return rest, [t for kind, t in segments if kind == "solution"]


def _directive_end(lines: list[str], start: int, fence: str, where: str) -> int:
    """Index of the line closing the fenced directive opened at `start`."""
    char, size = fence[0], len(fence)
    for k in range(start + 1, len(lines)):
        text = lines[k].strip()
        if text and set(text) == {char} and len(text) >= size:
            return k
    raise MarkerError(f"{where}: the {{solution}} block opened at line {start + 1} is never closed")


# -- notebooks --------------------------------------------------------------------------


def _nbgrader(
    grade_id: str, *, solution: bool, grade: bool, locked: bool, points: int | None = None
) -> dict:
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if grade:
        meta["points"] = points if points is not None else 1
    return meta


def _points(cell) -> int:
    for tag in cell.metadata.get("tags", []):
        if m := re.fullmatch(r"points-(\d+)", tag):
            return int(m.group(1))
    return 1


def classroom_notebook(nb, name: str = "notebook", solutions: bool = False):
    """A classroom copy of `nb` (which is not changed).

    solutions=False: the student copy. solutions=True: solutions kept, every cell
    marked with nbgrader metadata, for nbgrader's source/ folder.
    """
    nb = copy.deepcopy(nb)
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    cells, answers, checks, written = [], 0, 0, 0
    previous_code_was_answer = False
    for index, cell in enumerate(nb.cells):
        where = f"{name}: cell {index}"
        tags = cell.metadata.get("tags", [])
        if "colab-badge" in tags:
            continue
        if OMIT_TAG in tags and not solutions:
            cells.append(nbformat.v4.new_markdown_cell(OMIT_NOTE, metadata={"tags": [OMIT_TAG]}))
            continue
        if cell.cell_type == "markdown":
            segments = markdown_segments(cell.source, where)
            if all(kind == "text" for kind, _ in segments):
                cells.append(cell)
                continue
            for kind, text in segments:  # solution blocks become answer cells, in place
                if kind == "text":
                    cells.append(
                        nbformat.v4.new_markdown_cell(text, metadata=copy.deepcopy(cell.metadata))
                    )
                    continue
                written += 1
                answer = nbformat.v4.new_markdown_cell(text if solutions else TEXT_STUB)
                answer.metadata["tags"] = [ANSWER_TAG]
                answer.metadata["nbgrader"] = _nbgrader(
                    f"{stem}-written-{written}", solution=True, grade=True, locked=False, points=1
                )
                cells.append(answer)
            continue
        if cell.cell_type != "code":
            cells.append(cell)
            continue
        cell.outputs, cell.execution_count = [], None
        if has_code_solution(cell.source):
            answers += 1
            if not solutions:
                cell.source, _ = strip_code_solution(cell.source, where)
            cell.metadata["nbgrader"] = _nbgrader(
                f"{stem}-answer-{answers}", solution=True, grade=False, locked=False
            )
            previous_code_was_answer = True
        else:
            if previous_code_was_answer and CHECK_CALL.search(cell.source):
                checks += 1
                cell.metadata["nbgrader"] = _nbgrader(
                    f"{stem}-check-{checks}",
                    solution=False,
                    grade=True,
                    locked=True,
                    points=_points(cell),
                )
            if not solutions:
                cell.source = strip_hidden_tests(cell.source, where)
            previous_code_was_answer = False
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("widgets", None)
    return nb


def write_copies(
    src_dir, out_dir, solutions: bool = False, per_chapter: bool = False
) -> list[Path]:
    """Write a classroom copy of every notebook in `src_dir` to `out_dir` (with
    per_chapter, each in a folder of its own name: one nbgrader assignment per chapter)."""
    src, out = Path(src_dir).resolve(), Path(out_dir).resolve()
    if not src.is_dir():
        raise FileNotFoundError(f"no such folder: {src}")
    if out == src:
        raise ValueError(
            "OUT_DIR must differ from SRC_DIR: the source notebooks are never modified"
        )
    paths = sorted(p for p in src.glob("*.ipynb") if p.is_file())
    if not paths:
        raise FileNotFoundError(f"no notebooks (*.ipynb) in {src}")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        copy_ = classroom_notebook(nb, path.stem, solutions=solutions)
        nbformat.validate(copy_)
        target = out / path.stem / path.name if per_chapter else out / path.name
        target.parent.mkdir(exist_ok=True)
        nbformat.write(copy_, target)
        written.append(target)
    return written


def zip_copies(folder, zip_path, notebooks=None) -> Path:
    """Zip `notebooks` (default: every notebook under `folder`), paths kept relative to
    `folder`, into `zip_path`, written whole or not at all."""
    folder, zip_path = Path(folder).resolve(), Path(zip_path)
    notebooks = sorted(Path(p).resolve() for p in notebooks or folder.rglob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks (*.ipynb) under {folder}")
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    partial = zip_path.with_name(zip_path.name + ".tmp")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in notebooks:
            info = zipfile.ZipInfo(str(path.relative_to(folder)), date_time=(2026, 1, 1, 0, 0, 0))
            archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    partial.replace(zip_path)
    return zip_path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dcgan_lib.classroom",
        description="Write classroom copies of every notebook in SRC_DIR to OUT_DIR: "
        "solutions replaced by stubs, hidden tests removed, outputs cleared, "
        "nbgrader cell metadata set. SRC_DIR is never modified.",
    )
    parser.add_argument(
        "src_dir", metavar="SRC_DIR", help="folder of solution notebooks, e.g. notebooks/"
    )
    parser.add_argument(
        "out_dir", metavar="OUT_DIR", help="folder to write the copies to (created if missing)"
    )
    parser.add_argument(
        "--solutions",
        action="store_true",
        help="keep the solutions and hidden tests (instructor copies to put in nbgrader's "
        "source/ASSIGNMENT/ folder for `nbgrader generate_assignment`)",
    )
    parser.add_argument(
        "--per-chapter",
        action="store_true",
        help="one folder per chapter (OUT_DIR/01_gan_game/01_gan_game.ipynb): one nbgrader "
        "assignment per chapter",
    )
    parser.add_argument(
        "--zip",
        metavar="ZIP_FILE",
        help="also zip the copies, one folder per chapter, into ZIP_FILE",
    )
    args = parser.parse_args(argv)
    try:
        per_chapter = args.per_chapter or bool(args.zip)
        written = write_copies(
            args.src_dir, args.out_dir, solutions=args.solutions, per_chapter=per_chapter
        )
        if args.zip:
            print(zip_copies(args.out_dir, args.zip, written), file=sys.stderr)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    kind = "instructor" if args.solutions else "student"
    print(f"{len(written)} {kind} notebook(s) written to {Path(args.out_dir)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
