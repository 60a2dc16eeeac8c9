"""Small fixes to the book's HTML pages (a local Sphinx extension, see _config.yml).

- Each script is included once. With Jupyter Book 1.0.4, sphinx-thebe 0.3.1 and
  sphinx-togglebutton, two inline scripts land twice in every page (once with filename
  None, once with ""), and the second `const THEBE_JS_URL = ...` throws "Identifier
  'THEBE_JS_URL' has already been declared" in the reader's browser.
- A small stylesheet (static/book.css): a wider page and slightly smaller code type, so
  that code cells show whole on wide screens instead of scrolling sideways.
"""

from pathlib import Path

STATIC = Path(__file__).parent / "static"


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        # the copies differ only in filename None vs "": compare what ends up in the page
        key = (str(getattr(script, "filename", script) or ""), tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def _add_static(app):
    app.config.html_static_path.append(str(STATIC))


def setup(app):
    app.connect("builder-inited", _add_static)
    app.add_css_file("book.css")
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
