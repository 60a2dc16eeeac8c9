"""The whole book as one PDF, built offline: the single-page HTML build printed by headless
Chromium (the same browser and driver the browser test uses).

    python scripts/build_pdf.py            # -> _build/pdf/dcgan-book.pdf

It runs `jupyter-book build . --builder singlehtml` (the chapters come from the execution
cache that the notebook tests and the HTML build fill, so nothing runs twice), waits in
the browser until every formula is typeset and every image loaded, checks the printed
layout (no code block wider than the page: the print stylesheet in book/_ext/static/book.css
wraps long lines instead of cutting them off) and prints A4 pages. The PDF is written
whole or not at all. Exit status 1 with the reason when a step fails.
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SINGLE = ROOT / "_build" / "singlehtml"
OUT = ROOT / "_build" / "pdf" / "dcgan-book.pdf"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
A4_CM = (21.0, 29.7)
MARGIN_CM = 1.5

# what the printed page holds, measured with print styles on, at the page's width
LAYOUT_JS = r"""
const maths = [...document.querySelectorAll('.math')];
const wide = [...document.querySelectorAll('pre')]
  .filter(p => p.offsetParent !== null && p.scrollWidth > p.clientWidth + 1)
  .map(p => p.innerText.split('\n').find(l => l.length > 0).slice(0, 80));
return {
  chapters: [...document.querySelectorAll('section > h1')]
    .map(h => h.innerText.replace('#', '').trim()),
  maths: maths.length,
  untypeset: maths.filter(m => !m.querySelector('mjx-container')).length,
  broken_images: [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).length,
  images: document.images.length,
  wide_code: wide,
  page_width: document.documentElement.clientWidth,
};
"""


class PdfError(RuntimeError):
    """A step of the PDF build failed; the message says which and why."""


def build_singlehtml(log: Path) -> Path:
    """The single-page HTML build of the book; its index.html."""
    exe = Path(sys.executable).with_name("jupyter-book")
    command = [str(exe) if exe.exists() else "jupyter-book"]
    command += ["build", ".", "--builder", "singlehtml", "-n", "--keep-going"]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf8") as out:
        rc = subprocess.run(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT).returncode
    index = SINGLE / "index.html"
    if rc != 0 or not index.exists():
        raise PdfError(f"`{' '.join(command[1:])}` failed (exit {rc}); see {log}")
    return index


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
    from selenium.webdriver.common.print_page_options import PrintOptions

    # the printable width of an A4 page at 96 px per inch: the width the layout is checked at
    width_px = round((A4_CM[0] - 2 * MARGIN_CM) / 2.54 * 96)
    driver = _browser(width_px)
    try:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        driver.get(index.as_uri())
        layout = _wait_until_ready(driver)
        if layout["wide_code"]:
            raise PdfError(
                f"{len(layout['wide_code'])} code blocks are wider than the printed page, e.g. "
                f"{layout['wide_code'][0]!r}: the print stylesheet should wrap them"
            )
        options = PrintOptions()
        options.page_width, options.page_height = A4_CM
        options.margin_top = options.margin_bottom = MARGIN_CM
        options.margin_left = options.margin_right = MARGIN_CM
        options.background = True
        pdf = base64.b64decode(driver.print_page(options))
    finally:
        driver.quit()
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
        index = SINGLE / "index.html"
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
