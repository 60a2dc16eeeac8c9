"""The whole book as one PDF, built offline: the single-page HTML build printed by headless
Chromium (the same browser and driver the browser test uses).

    python scripts/build_pdf.py            # -> _build/pdf/dcgan-book.pdf

It runs `jupyter-book build . --builder singlehtml -W -n` (the chapters come from the execution
cache that the notebook tests and the HTML build fill, so nothing runs twice), waits in
the browser until every formula is typeset and every image loaded, checks the printed
layout (no code block wider than the page: the print stylesheet in book/_ext/static/book.css
wraps long lines instead of cutting them off) and prints A4 pages. The PDF is written
whole or not at all. Exit status 1 with the reason when a step fails.
"""

from __future__ import annotations

import argparse
import base64
import functools
import http.server
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SINGLE = ROOT / "_build" / "singlehtml"
OUT = ROOT / "_build" / "pdf" / "dcgan-book.pdf"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
A4_CM = (21.0, 29.7)
MARGIN_CM = 1.5
SIDES = ("Top", "Bottom", "Left", "Right")

# what the printed page holds, measured with print styles on, at the page's width
LAYOUT_JS = r"""
const maths = [...document.querySelectorAll('.math')];
const wide = [...document.querySelectorAll('pre')]
  .filter(p => p.offsetParent !== null && p.scrollWidth > p.clientWidth + 1)
  .map(p => (p.innerText.split('\n').find(l => l.length > 0) || '').slice(0, 80));
return {
  // each document of the book: the single-page build marks where it begins
  chapters: [...document.querySelectorAll('span[id^="document-"] + section')]
    .map(s => s.querySelector('h1, h2').innerText.replace('#', '').trim()),
  maths: maths.length,
  untypeset: maths.filter(m => !m.querySelector('mjx-container')).length,
  broken_images: [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).length,
  images: document.images.length,
  wide_code: wide,
  page_width: document.documentElement.clientWidth,
};
"""


# images the theme loads lazily (when scrolled to) are fetched now, for the printed pages
EAGER_JS = "document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; });"


# page numbers at the foot of each page
FOOTER = (
    '<div style="font-size: 8px; width: 100%; text-align: center;">'
    '<span class="title"></span> · <span class="pageNumber"></span> / '
    '<span class="totalPages"></span></div>'
)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class PdfError(RuntimeError):
    """A step of the PDF build failed; the message says which and why."""


def build_singlehtml(log: Path) -> Path:
    """The single-page HTML build of the book; its index.html."""
    exe = Path(sys.executable).with_name("jupyter-book")
    command = [str(exe) if exe.exists() else "jupyter-book"]
    command += ["build", ".", "--builder", "singlehtml", "-W", "-n", "--keep-going"]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf8") as out:
        rc = subprocess.run(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT).returncode
    written = SINGLE / f"{_root_doc()}.html"
    if rc != 0 or not written.exists():
        raise PdfError(f"`{' '.join(command[1:])}` failed (exit {rc}); see {log}")
    # Sphinx names the page after the root document (book/preface.html) but writes its
    # links as if it sat beside _static/ and _images/ (index.html only redirects to it):
    # a copy there is the page as meant
    single_page().write_bytes(written.read_bytes())
    return single_page()


def _root_doc() -> str:
    import yaml

    return yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf8"))["root"]


def single_page() -> Path:
    """The whole book on one page, beside the build's _static/ and _images/."""
    return SINGLE / "dcgan-book.html"


def _browser(width_px: int):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for exe in (CHROMIUM, CHROMEDRIVER):
        if not os.access(exe, os.X_OK):
            raise PdfError(f"{exe} not found: run `bash scripts/setup.sh` (installs chromium)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="dcgan-pdf-")
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-component-update",
        f"--window-size={width_px},1200",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(120)
    driver.set_script_timeout(120)
    return driver


def _wait_until_ready(driver, timeout: float = 120.0) -> dict:
    """Poll the layout until every formula is typeset and every image is loaded."""
    end, layout = time.monotonic() + timeout, {}
    while time.monotonic() < end:
        layout = driver.execute_script(LAYOUT_JS)
        if layout["untypeset"] == 0 and layout["broken_images"] == 0:
            return layout
        time.sleep(0.5)
    raise PdfError(
        f"after {timeout:.0f} s, {layout.get('untypeset')} formulas are not typeset and "
        f"{layout.get('broken_images')} images not loaded"
    )


def print_pdf(index: Path, out: Path) -> dict:
    """Print `index` to `out`; returns the printed layout (chapters, maths, images, pages)."""
    # the printable width of an A4 page at 96 px per inch: the width the layout is checked at
    width_px = round((A4_CM[0] - 2 * MARGIN_CM) / 2.54 * 96)
    driver = _browser(width_px)
    # served over http: MathJax fetches its fonts and components, which file:// blocks
    handler = functools.partial(_QuietHandler, directory=str(SINGLE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        page = index.relative_to(SINGLE).as_posix()
        driver.get(f"http://127.0.0.1:{httpd.server_address[1]}/{page}")
        driver.execute_script(EAGER_JS)
        layout = _wait_until_ready(driver)
        if layout["wide_code"]:
            raise PdfError(
                f"{len(layout['wide_code'])} code blocks are wider than the printed page, e.g. "
                f"{layout['wide_code'][0]!r}: the print stylesheet should wrap them"
            )
        inch = 2.54
        # Chrome's own print command (DevTools): WebDriver's print_page gives the renderer
        # 10 s, too little for a book of a thousand formulas
        printed = driver.execute_cdp_cmd(
            "Page.printToPDF",
            {
                "paperWidth": A4_CM[0] / inch,
                "paperHeight": A4_CM[1] / inch,
                **{f"margin{side}": MARGIN_CM / inch for side in SIDES},
                "printBackground": True,
                "displayHeaderFooter": True,
                "headerTemplate": "<span></span>",
                "footerTemplate": FOOTER,
            },
        )
        pdf = base64.b64decode(printed["data"])
    finally:
        driver.quit()
        httpd.shutdown()
        httpd.server_close()
    if not pdf.startswith(b"%PDF"):
        raise PdfError("Chromium returned something that is not a PDF")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".tmp")
    partial.write_bytes(pdf)
    partial.replace(out)
    layout["pages"] = count_pages(pdf)
    layout["bytes"] = len(pdf)
    return layout


def count_pages(pdf: bytes) -> int:
    """Pages of a PDF, from its page tree (the /Count of the root /Pages node)."""
    import re

    counts = [int(n) for n in re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", pdf)]
    counts += [int(n) for n in re.findall(rb"/Count\s+(\d+)[^>]*?/Type\s*/Pages\b", pdf)]
    return max(counts, default=0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"the PDF to write ({OUT})")
    parser.add_argument(
        "--no-build", action="store_true", help="print the existing _build/singlehtml as it is"
    )
    args = parser.parse_args(argv)
    try:
        index = single_page()
        if not args.no_build:
            index = build_singlehtml(ROOT / "_build" / "pdf" / "singlehtml.log")
        elif not index.exists():
            raise PdfError(f"no {index}: run without --no-build")
        layout = print_pdf(index, args.out)
    except PdfError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(
        f"{args.out}: {layout['pages']} pages, {layout['bytes'] / 1e6:.1f} MB; "
        f"{len(layout['chapters'])} chapters, {layout['maths']} formulas, "
        f"{layout['images']} images"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
