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
- The single-page build (`--builder singlehtml`, which the PDF is printed from) knows how
  to write every node the HTML build does: an extension that registers handlers for
  "singlehtml" hides the "html" ones from it (Sphinx looks up the builder's name first),
  and myst-nb's hidden-input cells then fail with "unknown node type: HideCodeCellNode".
- A figure's alt text is its description (dcgan_lib.notebook.describe_figure: its titles,
  else its axis labels), taken from the plain-text form that the cell's output carries
  beside the PNG; myst-nb otherwise leaves the image's file name as its alt text.
- The bibliography is labelled by author and year ("Goodfellow et al., 2014"), as the text
  cites (bibtex_reference_style author_year), instead of pybtex's numbers: the formatting
  style "authoryear" (_config.yml's bibtex_default_style) is pybtex's plain style with the
  label style below.
- Exercises are numbered per chapter, "Exercise 6.2", as in the reader copies
  (dcgan_lib/myst.py): sphinx-exercise numbers them through the whole book otherwise.
- The student copies of every chapter, one folder (one assignment) per chapter, zipped
  into _static/dcgan-book-handouts.zip for the instructor page to link
  (dcgan_lib.classroom, as `python -m dcgan_lib.classroom notebooks/ OUT --zip ZIP` does).
"""

import re
from pathlib import Path

from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx.transforms.post_transforms import SphinxPostTransform

from dcgan_lib import classroom
from dcgan_lib.notebook import FIGURE_PREFIX

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


class AuthorYearLabels(BaseLabelStyle):
    """ "Ioffe and Szegedy, 2015", "Goodfellow et al., 2014"; a, b, ... after the year when
    two entries would share a label."""

    def format_labels(self, sorted_entries):
        labels = [self._label(entry) for entry in sorted_entries]
        for label in labels:
            same = [i for i, other in enumerate(labels) if other == label]
            if len(same) > 1:
                for letter, i in zip("abcdefghij", same):
                    labels[i] = label + letter
        return iter(labels)

    @staticmethod
    def _label(entry) -> str:
        persons = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [Text.from_latex(" ".join(p.last_names)).render_as("text") for p in persons]
        who = (
            names[0]
            if len(names) == 1
            else f"{names[0]} and {names[1]}"
            if len(names) == 2
            else f"{names[0]} et al."
            if names
            else entry.fields.get("title", entry.key)
        )
        return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearStyle(PlainStyle):
    default_label_style = "authoryear"


register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabels)
register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)


class FigureAltText(SphinxPostTransform):
    """Alt text for each output image from the text/plain of the same output (before
    myst-nb's SelectMimeType, priority 4, drops the other forms)."""

    default_priority = 3

    def run(self, **kwargs):
        for bundle in list(self.document.findall(nodes.container)):
            if bundle.get("nb_element") != "mime_bundle":
                continue
            forms = {child.get("mime_type"): child for child in bundle.children}
            plain = forms.get("text/plain")
            if plain is None:
                continue
            text = plain.astext().strip()
            if not text.startswith(FIGURE_PREFIX):
                continue
            for mime, child in forms.items():
                if mime and mime.startswith("image/"):
                    for image in child.findall(nodes.image):
                        image["alt"] = text


HANDOUTS = "dcgan-book-handouts"
CHAPTER = re.compile(r"notebooks/(\d+)_")


def number_exercises_per_chapter(app, env):
    """Renumber each chapter's exercises N.1, N.2, ... (N from its file name, 06_... -> 6),
    after Sphinx has numbered them through the book (env-get-updated, priority 500)."""
    for docname, numbers in env.toc_fignumbers.items():
        chapter = CHAPTER.match(docname)
        exercises = numbers.get("exercise")
        if chapter and exercises:
            in_order = sorted(exercises, key=exercises.get)
            numbers["exercise"] = {
                ids: (int(chapter.group(1)), k) for k, ids in enumerate(in_order, 1)
            }
    return []


def _html_handlers_for_singlehtml(app):
    handlers = app.registry.translation_handlers
    if app.builder.name != "html" and app.builder.name in handlers:
        for node, pair in handlers.get("html", {}).items():
            handlers[app.builder.name].setdefault(node, pair)


def _add_static(app):
    _html_handlers_for_singlehtml(app)
    app.config.html_static_path.append(str(STATIC))
    if app.builder.format != "html":
        return
    work = Path(app.outdir).parent / "handouts"  # _build/handouts beside _build/html
    copies = classroom.write_copies(
        Path(app.srcdir) / "notebooks", work / HANDOUTS, per_chapter=True
    )
    classroom.zip_copies(work / HANDOUTS, work / "static" / f"{HANDOUTS}.zip", copies)
    app.config.html_static_path.append(str(work / "static"))


def setup(app):
    app.connect("builder-inited", _add_static)
    app.add_css_file("book.css")
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.connect("env-get-updated", number_exercises_per_chapter, priority=900)
    app.add_post_transform(FigureAltText)
    # after sphinx-book-theme's add_launch_buttons (priority 501)
    app.connect("html-page-context", colab_to_reader_copy, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
