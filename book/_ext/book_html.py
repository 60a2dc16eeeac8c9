"""Small fixes to the book's HTML pages (a local Sphinx extension, see _config.yml).

- Each script is included once. With Jupyter Book 1.0.4, sphinx-thebe 0.3.1 and
  sphinx-togglebutton, two inline scripts land twice in every page (once with filename
  None, once with ""), and the second `const THEBE_JS_URL = ...` throws "Identifier
  'THEBE_JS_URL' has already been declared" in the reader's browser.
- A small stylesheet (static/book.css): a wider page and slightly smaller code type, so
  that code cells show whole on wide screens instead of scrolling sideways.
- The Colab launch button opens the chapter's reader copy, readers/NAME.ipynb (plain
  Markdown that Colab renders; dcgan_lib/readers.py), not the MyST source in notebooks/.
  sphinx-book-theme builds the button from _config.yml; this rewrites its address.
"""

from pathlib import Path

STATIC = Path(__file__).parent / "static"
CHAPTERS, READERS = "notebooks/", "readers/"  # as in scripts/sync_notebooks.py's colab_url


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        # the copies differ only in filename None vs "": compare what ends up in the page
        key = (
            str(getattr(script, "filename", script) or ""),
            tuple(sorted(getattr(script, "attributes", {}).items())),
        )
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def colab_to_reader_copy(app, pagename, templatename, context, doctree):
    """Point the page's Colab launch link at the reader copy of the chapter."""
    if not pagename.startswith(CHAPTERS):
        return
    source = f"{pagename}.ipynb"
    reader = READERS + source.removeprefix(CHAPTERS)
    colab = app.config.html_theme_options.get("launch_buttons", {}).get("colab_url")
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []):
            url = button.get("url", "")
            if colab and url.startswith(colab.rstrip("/")) and url.endswith(source):
                button["url"] = url.removesuffix(source) + reader


def _add_static(app):
    app.config.html_static_path.append(str(STATIC))


def setup(app):
    app.connect("builder-inited", _add_static)
    app.add_css_file("book.css")
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    # after sphinx-book-theme's add_launch_buttons (priority 501)
    app.connect("html-page-context", colab_to_reader_copy, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
