"""Build the book and look at every page of it in headless Chromium.

Runs last (conftest.py orders it): by then nbval has stored every notebook it ran in the
book's Jupyter cache, so the build below takes their outputs from the cache instead of
executing them a second time, and test_book_builds checks that it did.

Each page listed in _toc.yml must load, show no error output, have no broken image,
typeset its maths with the MathJax copy in _static/ (no script from a CDN), and, on a
chapter page, offer the Colab launch link for that notebook's reader copy. A screenshot
of every page goes to _build/screenshots/.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from test_platform import toc_files  # pytest puts tests/ on sys.path (no __init__.py there)

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
LOG = ROOT / "_build" / "book-build.log"
BUILD_TIMEOUT_S = 30 * 60  # the whole book's budget
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# console errors that are not the book's: no favicon; the theme's notice on a fresh profile
BENIGN_CONSOLE = ("favicon.ico", "Got invalid theme mode")


def toc_docs() -> list[str]:
    """Every document of _toc.yml, root first, in reading order, without its suffix."""
    return [re.sub(r"\.(ipynb|md)$", "", d) for d in toc_files()]


def repository(root: Path = ROOT) -> dict:
    return yaml.safe_load((root / "_config.yml").read_text(encoding="utf8"))["repository"]


def colab_url(doc: str) -> str:
    """The launch link of a chapter page opens its reader copy (readers/NAME.ipynb, see
    dcgan_lib/readers.py; book/_ext/book_html.py rewrites sphinx-book-theme's link)."""
    repo = repository()
    slug = repo["url"].rstrip("/").removeprefix("https://github.com/")
    book = (repo.get("path_to_book") or "").strip("/")
    reader = f"readers/{doc.removeprefix('notebooks/')}.ipynb"
    path = f"{book}/{reader}" if book else reader
    return (
        f"https://colab.research.google.com/github/{slug}/blob/{repo.get('branch', 'main')}/{path}"
    )


def _jupyter_book() -> list[str]:
    # this interpreter's jupyter-book first (the tests may run as .venv/bin/python, unactivated)
    sibling = Path(sys.executable).with_name("jupyter-book")
    exe = str(sibling) if sibling.exists() else shutil.which("jupyter-book")
    return [exe, "build", ".", "-W", "-n", "--keep-going"]


@pytest.fixture(scope="module")
def build():
    """Run the README's build command once; (return code, log text, seconds)."""
    LOG.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with LOG.open("w", encoding="utf8") as log:
        try:
            rc = subprocess.run(
                _jupyter_book(),
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=BUILD_TIMEOUT_S,
            ).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    return (
        rc,
        ANSI.sub("", LOG.read_text(encoding="utf8", errors="replace")),
        time.perf_counter() - start,
    )


def executed_and_cached(log: str) -> tuple[set[str], set[str]]:
    """Notebook paths the build executed, and those it took from the cache."""
    executed = set(re.findall(r"^(\S+\.ipynb): Executing notebook", log, re.M))
    cached = set(re.findall(r"^(\S+\.ipynb): Using cached notebook", log, re.M))
    return executed, cached


def test_book_builds(build, book_report):
    rc, log, seconds = build
    tail = "\n".join(log.splitlines()[-60:])
    assert rc == 0, f"`jupyter-book build . -W -n --keep-going` failed ({rc}); log: {LOG}\n{tail}"
    executed, cached = executed_and_cached(log)
    book_report["lines"].append(
        f"book build: {seconds:.0f} s; notebooks from the cache: {len(cached)}, "
        f"executed by the build: {len(executed)}; log: {LOG}"
    )
    twice = sorted(str(p) for p in book_report["cached"] if str(p) in executed)
    assert not twice, f"the build executed notebooks that nbval had already run and cached: {twice}"
    missing = sorted(str(p) for p in book_report["cached"] if str(p) not in cached)
    assert not missing, f"the build did not take these notebooks from the cache: {missing}\n{tail}"


# -- the browser ------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(build):
    """Serve _build/html on a free local port (file:// would block fonts and fetches)."""
    if not HTML.is_dir():
        pytest.fail(f"no HTML at {HTML}: the book did not build (see {LOG})")
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(HTML))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for exe in (CHROMIUM, CHROMEDRIVER):
        if not os.access(exe, os.X_OK):
            pytest.fail(
                f"{exe} not found: run `bash scripts/setup.sh` "
                "(installs chromium and chromium-driver)"
            )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-quic",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--window-size=1280,900",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "SEVERE"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _wait(driver, script: str, timeout: float = 20.0):
    """Poll a JS expression until it is truthy; return its last value."""
    end, value = time.monotonic() + timeout, None
    while time.monotonic() < end:
        value = driver.execute_script(f"return ({script});")
        if value:
            return value
        time.sleep(0.2)
    return value


CHECKS_JS = r"""
const origin = window.location.origin;
const inCell = (el, cls) => el.closest('.cell') && el.closest('.cell').classList.contains(cls);
const errors = [...document.querySelectorAll('.output.traceback, .output.error')]
  .filter(el => !inCell(el, 'tag_raises-exception')).map(el => el.innerText.slice(0, 300));
const stderr = [...document.querySelectorAll('.output.stderr')]
  .filter(el => /Traceback|Error:/.test(el.innerText)).map(el => el.innerText.slice(0, 300));
const maths = [...document.querySelectorAll('.math')];
return {
  title: document.title,
  errors: errors.concat(stderr),
  broken_images: [...document.images]
    .filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
  maths: maths.length,
  typeset: document.querySelectorAll('mjx-container').length,
  untypeset: maths.filter(m => !m.querySelector('mjx-container'))
    .map(m => m.innerText.slice(0, 80)),
  external_scripts: [...document.scripts]
    .filter(s => s.src && !s.src.startsWith(origin)).map(s => s.src),
  mathjax_scripts: [...document.scripts].filter(s => /mathjax/i.test(s.src)).map(s => s.src),
  colab: [...document.querySelectorAll('a[href*="colab.research.google.com/github"]')]
    .map(a => a.href),
  // Markdown a cell displayed (tables, headings, lists) left as raw text by the renderer
  raw_markdown: [...document.querySelectorAll('.cell_output p, .output p')]
    .filter(p => /^\|([^|\n]*\|){3,}/.test(p.innerText) || /^#{1,6} /.test(p.innerText))
    .map(p => p.innerText.slice(0, 120)),
  // code the book prints must read without sideways scrolling on a 1280-pixel screen
  // (code cells and the prose's code blocks; a cell's output may be wider and scroll)
  wide_code: [...document.querySelectorAll('div.cell_input pre, div.highlight pre')]
    .filter(p => !p.closest('.cell_output') && p.scrollWidth > p.clientWidth + 1)
    .map(p => p.innerText.split('\n').reduce((a, b) => (b.length > a.length ? b : a), '')
      .slice(0, 120)),
  // a cell's figure is described by its alt text (its titles), not named by its file
  bad_alt: [...document.querySelectorAll('.cell_output img')]
    .filter(i => !i.alt || /^data:|_images\/|jupyter_execute/.test(i.alt)
      || /^[\w.\/-]+\.(png|svg|jpe?g|gif)$/i.test(i.alt))
    .map(i => i.alt || i.src),
  // "Exercise 6.2" in chapter 6: the titles of its exercises, in order
  exercises: [...document.querySelectorAll('.exercise > .admonition-title')]
    .map(t => t.innerText.trim().split(/\s+/).slice(0, 2).join(' ')),
  // maths that shows its TeX: a backslash printed as text, or a MathJax error
  raw_tex: [...document.querySelectorAll('mjx-merror, mjx-mtext')]
    .filter(m => m.tagName.toLowerCase() === 'mjx-merror' || m.textContent.includes('\\'))
    .map(m => m.textContent.slice(0, 80)),
  height: Math.max(document.body.scrollHeight, document.documentElement.scrollHeight),
};
"""


@pytest.mark.parametrize("doc", toc_docs())
def test_page(doc, build, server, browser, book_report, record_property):
    page = HTML / f"{doc}.html"
    assert page.is_file(), f"{doc} is in _toc.yml but the build wrote no {page}"
    browser.set_window_size(1280, 900)
    browser.get(f"{server}/{doc}.html")
    _wait(browser, "document.readyState === 'complete'")
    _wait(browser, "[...document.images].every(i => i.complete)")
    if browser.execute_script("return document.querySelectorAll('.math').length"):
        _wait(
            browser,
            "window.MathJax && MathJax.startup && MathJax.startup.document && "
            "[...document.querySelectorAll('.math')].every(m => m.querySelector('mjx-container'))",
        )
    found = browser.execute_script(CHECKS_JS)

    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / (doc.replace("/", "__") + ".png")
    browser.set_window_size(1280, min(int(found["height"]) + 100, 12000))
    time.sleep(0.3)  # let the layout settle at the new size
    browser.save_screenshot(str(shot))
    record_property("screenshot", str(shot))
    book_report["screenshots"].append(str(shot))

    console = [
        e["message"]
        for e in browser.get_log("browser")
        if e.get("level") == "SEVERE" and not any(b in e["message"] for b in BENIGN_CONSOLE)
    ]
    problems = []
    if not found["title"] or found["title"].startswith("404"):
        problems.append(f"page title {found['title']!r}")
    problems += [f"error output: {e}" for e in found["errors"]]
    problems += [f"broken image: {src}" for src in found["broken_images"]]
    problems += [f"script from outside the book: {src}" for src in found["external_scripts"]]
    problems += [f"browser console: {m}" for m in console]
    problems += [f"Markdown output not rendered: {text!r}" for text in found["raw_markdown"]]
    problems += [f"code scrolls sideways at 1280 px: {line!r}" for line in found["wide_code"]]
    if found["maths"]:
        if not found["mathjax_scripts"] or any(
            "/_static/mathjax/" not in s for s in found["mathjax_scripts"]
        ):
            problems.append(f"MathJax not loaded from _static/mathjax/: {found['mathjax_scripts']}")
        if not found["typeset"] or found["untypeset"]:
            problems.append(
                f"{len(found['untypeset'])} of {found['maths']} maths not typeset by MathJax, "
                f"e.g. {found['untypeset'][:3]}"
            )
    problems += [f"figure without a description (alt text): {alt!r}" for alt in found["bad_alt"]]
    problems += [f"maths shows its TeX: {text!r}" for text in found["raw_tex"]]
    chapter = re.match(r"notebooks/(\d+)_", doc)
    if chapter and found["exercises"]:
        n = int(chapter.group(1))
        expected = [f"Exercise {n}.{k}" for k in range(1, len(found["exercises"]) + 1)]
        if found["exercises"] != expected:
            problems.append(f"exercises not numbered per chapter: {found['exercises']}")
    if doc.startswith("notebooks/"):
        expected = colab_url(doc)
        if expected not in found["colab"]:
            problems.append(f"no Colab launch link {expected} (found {found['colab']})")
        problems += [
            f"Colab link to another notebook: {href}" for href in found["colab"] if href != expected
        ]
    assert not problems, f"{doc}: " + "\n".join(problems) + f"\nscreenshot: {shot}"
