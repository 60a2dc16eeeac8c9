"""pytest plugin for the DCGAN Book: notebooks run once, time budgets, ordering.

The test command runs every notebook under notebooks/ with nbval (one kernel per
notebook, each code cell a test), then builds the book and looks at it in a browser
(tests/test_browser.py). To run each notebook only once in all of that, this plugin
records the outputs of every cell while nbval runs it and, when the whole notebook has
passed, stores the executed notebook in the Jupyter cache that the book build reads
(`_build/.jupyter_cache`, what `execute_notebooks: cache` in _config.yml uses). The
build then takes those outputs from the cache instead of executing the notebook again.

It also
- fails the last cell of a notebook that took longer than its time budget
  (NOTEBOOK_BUDGET_S, overridable with the environment variable DCGAN_NOTEBOOK_BUDGET_S)
  and prints a table of every notebook's time at the end;
- orders the tests: unit tests, then the notebooks, then tests/test_classroom.py (it
  runs student copies) and tests/test_readers.py (it fills reader copies with the values
  the notebooks glued), then tests/test_browser.py (it builds the book from the cache).
  With pytest-xdist (`-n`) the order across workers is not kept: a notebook not yet in
  the cache is then executed by the build itself, which is slower but still correct;
- sets the environment the kernels inherit: DCGAN_BOOK_TEST=1, a headless matplotlib
  backend, and OpenMP threads that wait passively.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
NOTEBOOK_BUDGET_S = 180.0  # wall time per notebook under nbval, kernel start included
BUDGET_S = float(os.environ.get("DCGAN_NOTEBOOK_BUDGET_S", NOTEBOOK_BUDGET_S))

# Environment for this process and every kernel started from it. The inline backend is
# headless (it renders with Agg) and, unlike plain Agg, still puts figures in the cell
# outputs, which is what the book shows.
os.environ["DCGAN_BOOK_TEST"] = "1"
os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # no debugger warning at kernel start
# OpenMP threads that spin while waiting make PyTorch on a busy CPU many times slower
# (seen: 110 s instead of 7 s for the same training); passive waiting costs nothing here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:  # nbval is a test requirement; without it the notebooks are simply not collected
    from nbval.plugin import IPyNbCell
except ImportError:  # pragma: no cover
    IPyNbCell = ()


def jupyter_cache_path(root: Path = ROOT) -> Path:
    """Where `jupyter-book build` keeps executed notebooks (execute.cache in _config.yml)."""
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf8")) or {}
    path = (config.get("execute") or {}).get("cache") or ""
    return (root / path).resolve() if path else root / "_build" / ".jupyter_cache"


@dataclass
class NotebookRun:
    """What happened to one notebook under nbval."""

    path: Path
    last_nodeid: str = ""
    start: float | None = None
    seconds: float | None = None
    outputs: dict = field(default_factory=dict)  # code-cell index -> outputs
    failed: int = 0
    skipped: int = 0
    cached: str = "-"  # why it was or was not stored in the cache


REPORT = pytest.StashKey[dict]()


def _report(config) -> dict:
    if REPORT not in config.stash:
        config.stash[REPORT] = {"notebooks": {}, "screenshots": [], "lines": [], "cached": []}
    return config.stash[REPORT]


@pytest.fixture
def book_report(request) -> dict:
    """Shared record of this run: notebooks (nodeid -> NotebookRun), notebook paths stored
    in the cache (`cached`), screenshots, and extra lines for the terminal summary."""
    return _report(request.config)


# -- ordering ---------------------------------------------------------------------------


def _rank(item) -> int:
    if isinstance(item, IPyNbCell):
        return 1
    name = Path(str(item.fspath)).name
    ranks = {"test_classroom.py": 2, "test_readers.py": 2, "test_browser.py": 3, "test_pdf.py": 4}
    return ranks.get(name, 0)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    items[:] = sorted(items, key=_rank)  # stable: keeps each notebook's cells in order


def pytest_collection_finish(session):
    runs = _report(session.config)["notebooks"]
    for item in session.items:
        if isinstance(item, IPyNbCell):
            run = runs.setdefault(item.parent.nodeid, NotebookRun(Path(str(item.parent.fspath))))
            run.last_nodeid = item.nodeid


def _run(item) -> NotebookRun | None:
    if not isinstance(item, IPyNbCell):
        return None
    return _report(item.config)["notebooks"].get(item.parent.nodeid)


# -- recording the outputs nbval produces ------------------------------------------------


class _Tap:
    """Sends nbval's cells to the kernel and keeps the iopub messages that answer the
    latest one.

    Cells are sent with store_history=True, as Jupyter and nbclient send them (nbval
    sends False): IPython numbers the executions and reads the history to decide that
    a trailing `;` hides a cell's result, so the outputs match those of a build.
    """

    def __init__(self, kernel):
        self.msg_id, self.messages = None, []
        original_get = kernel.get_message

        def execute_cell_input(source, allow_stdin=None):
            self.messages = []
            self.msg_id = kernel.kc.execute(
                source, store_history=True, allow_stdin=allow_stdin, stop_on_error=False
            )
            return self.msg_id

        def get_message(stream, timeout=None):
            msg = original_get(stream, timeout=timeout)
            if stream == "iopub" and msg["parent_header"].get("msg_id") == self.msg_id:
                self.messages.append(msg)
            return msg

        kernel.execute_cell_input, kernel.get_message = execute_cell_input, get_message


def outputs_from_messages(messages, execution_count: int) -> list:
    """Cell outputs as nbclient would store them: clear_output and update_display_data
    applied, consecutive writes to one stream merged."""
    import nbformat

    outs, displays, clear_pending = [], {}, False
    for msg in messages:
        kind, content = msg["msg_type"], msg["content"]
        if kind == "clear_output":
            if content.get("wait"):
                clear_pending = True
            else:
                outs, displays = [], {}
            continue
        if kind == "update_display_data":
            for i in displays.get(content.get("transient", {}).get("display_id"), []):
                outs[i]["data"], outs[i]["metadata"] = content["data"], content["metadata"]
            continue
        if kind not in ("stream", "display_data", "execute_result", "error"):
            continue
        if clear_pending:
            outs, displays, clear_pending = [], {}, False
        out = nbformat.v4.output_from_msg(msg)
        if kind == "execute_result":
            out["execution_count"] = execution_count
        if kind == "display_data" and content.get("transient", {}).get("display_id"):
            displays.setdefault(content["transient"]["display_id"], []).append(len(outs))
        if (
            kind == "stream"
            and outs
            and outs[-1]["output_type"] == "stream"
            and outs[-1]["name"] == out["name"]
        ):
            outs[-1]["text"] += out["text"]
            continue
        outs.append(out)
    return outs


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    run = _run(item)
    if run is not None and run.start is None:
        run.start = time.perf_counter()  # the kernel starts in the first cell's setup
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    run = _run(item)
    if run is None:
        yield
        return
    kernel = item.parent.kernel
    tap = getattr(kernel, "_book_tap", None)
    if tap is None:
        tap = kernel._book_tap = _Tap(kernel)
    outcome = yield
    if outcome.excinfo is None:
        run.outputs[item.cell_num] = outputs_from_messages(tap.messages, item.cell_num + 1)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    run = _run(item)
    if run is None:
        return
    report = outcome.get_result()
    if report.failed:
        run.failed += 1
    elif report.skipped:
        run.skipped += 1
    if call.when != "call" or item.nodeid != run.last_nodeid:
        return
    run.seconds = time.perf_counter() - (run.start or time.perf_counter())
    run.cached = _store_in_cache(item.config, run)
    if run.seconds > BUDGET_S and report.passed:
        report.outcome = "failed"
        report.longrepr = (
            f"{run.path.name} took {run.seconds:.0f} s under nbval, "
            f"over its budget of {BUDGET_S:.0f} s (DCGAN_NOTEBOOK_BUDGET_S). "
            "Lower the defaults in its parameters cell, or load a "
            "checkpoint made by the project's commands instead of training live."
        )
        run.failed += 1


def _store_in_cache(config, run: NotebookRun) -> str:
    """Put the executed notebook in the book's Jupyter cache; say what happened."""
    import nbformat

    nb = nbformat.read(run.path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if run.failed:
        return "no (a cell failed)"
    if len(run.outputs) != len(code):
        return f"no ({len(code) - len(run.outputs)} cells not run)"
    for i, cell in enumerate(code):
        cell.outputs, cell.execution_count = run.outputs[i], i + 1
    nb.metadata["language_info"] = {
        "name": "python",
        "version": sys.version.split()[0],
        "mimetype": "text/x-python",
        "codemirror_mode": {"name": "ipython", "version": 3},
        "pygments_lexer": "ipython3",
        "nbconvert_exporter": "python",
        "file_extension": ".py",
    }
    try:
        from jupyter_cache import get_cache
        from jupyter_cache.base import CacheBundleIn

        cache = get_cache(str(jupyter_cache_path()))
        cache.cache_notebook_bundle(
            CacheBundleIn(nb, str(run.path), data={"execution_seconds": run.seconds}),
            check_validity=False,
            overwrite=True,
        )
    except Exception as err:  # the tests still count; the build will execute it instead
        return f"no ({type(err).__name__}: {err})"
    _report(config)["cached"].append(run.path)
    return "yes"


# -- summary ----------------------------------------------------------------------------


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    report = _report(config)
    runs = [r for r in report["notebooks"].values() if r.start is not None]
    write = terminalreporter.write_line
    if runs:
        terminalreporter.section("notebook times (nbval)")
        width = max(len(r.path.name) for r in runs)
        write(
            f"{'notebook':<{width}}  {'seconds':>8}  {'budget':>6}  {'result':<12}  "
            "stored in book cache"
        )
        for r in runs:
            secs = "-" if r.seconds is None else f"{r.seconds:.1f}"
            over = r.seconds is not None and r.seconds > BUDGET_S
            result = "OVER BUDGET" if over else ("failed" if r.failed else "ok")
            write(f"{r.path.name:<{width}}  {secs:>8}  {BUDGET_S:>6.0f}  {result:<12}  {r.cached}")
        write(f"cache: {jupyter_cache_path()}")
    if report["screenshots"] or report["lines"]:
        terminalreporter.section("book")
        for line in report["lines"]:
            write(line)
        if report["screenshots"]:
            folder = Path(report["screenshots"][0]).parent
            write(f"screenshots: {len(report['screenshots'])} pages in {folder}/")
