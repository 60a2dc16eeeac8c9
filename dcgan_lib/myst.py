"""MyST markup to the Markdown that Jupyter and Colab render (for dcgan_lib.readers).

`convert(text, chapter)` turns one markdown text of a chapter into plain Markdown:
roles ({glue:text}, {cite:p}/{cite:t}, {doc}, {ref}, {eq}, {numref}, {math}, ...) into
text and links, directives (```{exercise}, ```{solution}, admonitions, figures, {math},
code blocks) into headings, folded <details> blocks, blockquotes and images; `(label)=`
targets are dropped. `Chapter` holds what that needs (the glued values, the bibliography
that `read_bibliography` reads, the book's URL and labels) and numbers exercises,
equations and figures as it goes. readers.py calls it twice per chapter: a dry pass
that numbers, and the pass that resolves references against those numbers.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from ast import literal_eval
from dataclasses import dataclass, field
from pathlib import Path

from . import classroom

BIBLIOGRAPHY_DOC = "book/bibliography"  # the page that holds {bibliography}
HEADER = re.compile(r"^(\s*)(`{3,}|:{3,})\{([\w:-]+)\}[ \t]*(.*)$")
CODE_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})")
ROLE = re.compile(r"\{([A-Za-z][\w:-]*)\}`([^`]*)`")
TARGET = re.compile(r"^(.*?)\s*<([^<>]+)>$", re.S)
LABEL_LINE = re.compile(r"^\s*\(([\w:.-]+)\)=\s*$")
EQ_LABEL = re.compile(r"\$\$[ \t]*\(([\w:.-]+)\)[ \t]*$")
ADMONITIONS = {"seealso": "See also"}
TITLED = {"admonition", "dropdown", "sidebar", "topic", "margin", "card", "tab-item"}
DROPPED = {"bibliography", "toctree", "tableofcontents", "contents", "exercise-end"}
CODE_ROLES = {"code", "samp", "file", "command", "program", "kbd", "envvar", "option"}
ACCENTS = {'"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303",
           "=": "\u0304", ".": "\u0307", "c": "\u0327", "v": "\u030c", "u": "\u0306",
           "H": "\u030b"}  # fmt: skip


# -- bibliography -----------------------------------------------------------------------


def _delatex(text: str) -> str:
    text = re.sub(
        r"\\([\"'`^~=.]|[cvuH](?=[\s{]))\s*\{?\s*([A-Za-z])\}?",
        lambda m: m.group(2) + ACCENTS[m.group(1)],
        text,
    )
    for tex, char in (("\\ss", "ß"), ("\\o", "ø"), ("\\O", "Ø"), ("\\aa", "å"), ("\\l", "ł")):
        text = re.sub(re.escape(tex) + r"\b\s*", char, text)
    return unicodedata.normalize("NFC", re.sub(r"\s+", " ", text.replace("{", "").replace("}", "")))


def _field(entry: str, name: str) -> str:
    m = re.search(rf"\b{name}\s*=\s*", entry, re.I)
    if not m:
        return ""
    rest, depth = entry[m.end() :], 0
    if rest[:1] == '"':
        return rest[1:].split('"', 1)[0]
    if rest[:1] != "{":
        return re.match(r"[\w-]*", rest).group(0)
    for i, char in enumerate(rest):
        depth += (char == "{") - (char == "}")
        if depth == 0:
            return rest[1:i]
    return rest[1:]


def _surnames(authors: str) -> list[str]:
    names, depth, start = [], 0, 0
    for m in re.finditer(r"[{}]|\s+and\s+", authors):
        if m.group(0) in "{}":
            depth += 1 if m.group(0) == "{" else -1
        elif depth == 0:
            names.append(authors[start : m.start()])
            start = m.end()
    names.append(authors[start:])
    out = []
    for name in (n.strip() for n in names if n.strip()):
        surname = name.split(",")[0] if "," in name else name.split()[-1]
        out.append("others" if name == "others" else _delatex(surname).strip())
    return out


def read_bibliography(*paths) -> dict[str, tuple[list[str], str]]:
    """key -> (author surnames, year) for every entry of the .bib files."""
    entries = {}
    for path in paths:
        text = Path(path).read_text(encoding="utf8")
        for m in re.finditer(r"^@(\w+)\s*\{\s*([^,\s]+)\s*,", text, re.M):
            if m.group(1).lower() in ("comment", "string", "preamble"):
                continue
            entry = text[m.end() :].split("\n@", 1)[0]
            people = _field(entry, "author") or _field(entry, "editor")
            entries[m.group(2)] = (_surnames(people), _delatex(_field(entry, "year")))
    return entries


def _authors(surnames: list[str], full: bool) -> str:
    et_al = surnames[-1:] == ["others"]
    names = [n for n in surnames if n != "others"] or ["Anonymous"]
    if not full and (len(names) > 2 or et_al):
        return f"{names[0]} et al."
    if len(names) == 1:
        return names[0] + (" et al." if et_al else "")
    joined = ", ".join(names[:-1]) + ("," if len(names) > 2 else "") + " and " + names[-1]
    return joined + (" et al." if et_al else "")


def cite(role: str, keys: str, bibliography: dict, url: str) -> str:
    """The author-year text of {cite:p}, {cite:t}, ... for comma-separated keys."""
    kind, parts = role.partition(":")[2] or "p", []
    for key in (k.strip() for k in keys.split(",") if k.strip()):
        if key not in bibliography:
            raise KeyError(f"no entry {key!r} in the bibliography")
        surnames, year = bibliography[key]
        who = _authors(surnames, full=kind.endswith("s"))
        text = {"t": f"{who} ({year})", "author": who, "year": year}.get(kind.rstrip("s"))
        parts.append(f"[{text or f'{who}, {year}'}]({url})")
    joined = ", ".join(parts)
    return f"({joined})" if kind.rstrip("s") in ("p", "yearpar", "authorpar") else joined


# -- glued values ---------------------------------------------------------------------


def format_glue(text: str, spec: str) -> str:
    """Format a glued text/plain value as myst-nb's {glue:text}`name:spec` does."""
    try:
        value = literal_eval(text)
    except (SyntaxError, ValueError):
        value = text
    if not spec:
        return str(value)
    kind = {"s": str, **dict.fromkeys("bcdoxX", int), **dict.fromkeys("eEfFgGn%", float)}
    return format(kind.get(spec[-1], lambda v: v)(value), spec)


# -- MyST to Markdown -------------------------------------------------------------------


@dataclass
class Chapter:
    """One chapter being converted: its name (e.g. "03_fc_gan_images"), the book (url,
    folder, labels, title(doc)), glued values (name -> text/plain), the bibliography."""

    name: str
    book: object  # readers.Book
    glue: dict
    bibliography: dict
    exercises: dict = field(default_factory=dict)  # label -> "3.2"
    numbers: dict = field(default_factory=dict)  # equation/figure label -> its number
    counts: dict = field(default_factory=dict)  # "exercise", "equation", "figure" -> seen
    missing: set = field(default_factory=set)
    used: set = field(default_factory=set)  # the glued names the chapter shows
    dry: bool = True  # the first pass only numbers; the second resolves references

    def count(self, kind: str, label: str = "") -> int:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if label:
            self.numbers[label] = self.counts[kind]
        return self.counts[kind]

    def page(self, doc: str, anchor: str = "") -> str:
        return f"{self.book.url}/{doc}.html" + (f"#{anchor}" if anchor else "")


def _close(lines: list[str], start: int, fence: str) -> int:
    for k in range(start + 1, len(lines)):
        text = lines[k].strip()
        if text and set(text) == {fence[0]} and len(text) >= len(fence):
            return k
    return len(lines)


def _options(body: list[str]) -> tuple[dict, list[str]]:
    options, i = {}, 0
    if body and body[0].strip() == "---":  # the YAML form
        end = next((k for k in range(1, len(body)) if body[k].strip() == "---"), 0)
        for line in body[1:end]:
            key, _, value = line.partition(":")
            options[key.strip()] = value.strip()
        i = end + 1
    while i < len(body) and (m := re.match(r"^:([\w-]+):\s*(.*)$", body[i].strip())):
        options[m.group(1)] = m.group(2)
        i += 1
    return options, body[i:]


def _folded(summary: str, body: str) -> str:
    return f"<details>\n<summary>{summary}</summary>\n\n{body}\n\n</details>"


def _directive(name: str, arg: str, options: dict, body: str, ch: Chapter) -> str:
    if name in DROPPED:
        return ""
    if name in ("code-block", "code", "sourcecode", "code-cell"):
        return f"```{arg}\n{body}\n```"
    if name == "math":
        tag = f"\n\\tag{{{ch.count('equation', options['label'])}}}" if "label" in options else ""
        return f"$$\n{body.strip()}{tag}\n$$"
    inner = convert(body, ch) if body.strip() else ""
    if name == "glue:figure":  # the figure itself is the output of a code cell above
        return f"*(Figure {arg.strip()}: the output of the code above.)* {inner}".strip()
    if name in ("exercise", "exercise-start"):
        k, chapter = ch.count("exercise"), re.match(r"\d+", ch.name)
        number = f"{int(chapter.group(0))}.{k}" if chapter else str(k)
        number = "" if "nonumber" in options else number
        ch.exercises[options.get("label", f"#{k}")] = number
        title = f"### Exercise {number}".rstrip() + (f": {_inline(arg, ch)}" if arg else "")
        return title + (f"\n\n{inner}" if inner else "")
    if name in ("solution", "solution-start"):
        number = ch.exercises.get(arg.strip())
        summary = f"Solution to Exercise {number}" if number else "Solution"
        folded = _folded(summary, inner)
        return folded if name == "solution" else folded.removesuffix("\n\n</details>")
    if name == "solution-end":
        return "\n</details>"
    if name in ("figure", "image"):
        label = options.get("name", "")
        image = f"![{options.get('alt', '')}]({arg})"
        if name == "image" or not (inner or label):
            return image
        number = f"*Figure {ch.count('figure', label)}:* " if label else ""
        return f"{image}\n\n{number}{inner}"
    if name.startswith("glue"):
        return _glue(arg, ch) if name != "glue:math" else f"$$\n{_glue(arg, ch)}\n$$"
    if name in TITLED:
        title = _inline(arg, ch) or name.title()
    else:
        title = ADMONITIONS.get(name, name.replace("-", " ").capitalize())
        inner = "\n\n".join(t for t in (_inline(arg, ch), inner) if t)
    if name == "dropdown" or "dropdown" in options.get("class", "").split():
        return _folded(title, inner)
    lines = [f"**{title}**", "", *inner.split("\n")] if inner else [f"**{title}**"]
    return "\n".join(f"> {line}".rstrip() for line in lines)


def _glue(content: str, ch: Chapter) -> str:
    content = content.strip()
    key, spec = content.rsplit(":", 1) if ":" in content.split("::")[-1] else (content, "")
    ch.used.add(key)
    if key not in ch.glue:
        ch.missing.add(key)
        return f"*{key}*"
    try:
        return format_glue(ch.glue[key], spec)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{ch.name}: {{glue:text}}`{content}`: {err}") from None


def _reference(name: str, content: str, ch: Chapter) -> str:
    m = TARGET.match(content)
    text, target = (m.group(1), m.group(2)) if m else ("", content.strip())
    if name.startswith("glue"):
        return _glue(content, ch)
    if name.startswith("cite"):
        try:
            return cite(name, content, ch.bibliography, ch.page(BIBLIOGRAPHY_DOC))
        except KeyError as err:
            raise KeyError(f"{ch.name}: {{{name}}}`{content}`: {err.args[0]}") from None
    if name == "doc":
        doc = target.removesuffix(".ipynb").removesuffix(".md")
        doc = doc[1:] if doc.startswith("/") else posixpath.normpath(f"{ch.book.folder}/{doc}")
        return f"[{text or ch.book.title(doc)}]({ch.page(doc)})"
    if target in ch.exercises:
        number = f"Exercise {ch.exercises[target]}"
        return text.replace("%s", ch.exercises[target]).replace("{number}", number) or number
    if name in ("eq", "numref") and (target in ch.numbers or ch.dry):
        n = str(ch.numbers.get(target, "?"))
        if name == "eq":
            return text or f"({n})"
        return text.replace("%s", n).replace("{number}", n) if text else f"Figure {n}"
    if name in ("ref", "numref", "eq"):
        if target not in ch.book.labels:
            if ch.dry:
                return text or target
            raise KeyError(f"{ch.name}: {{{name}}}`{content}`: no such label in the chapters")
        doc, title = ch.book.labels[target]
        return f"[{text or title}]({ch.page(doc, target)})"
    if name == "math":
        return f"${content}$"
    if name in CODE_ROLES:
        return f"`{text or target}`"
    if name in ("sub", "sup"):
        return f"<{name}>{content}</{name}>"
    if name == "abbr":  # "LIFO (last-in, first-out)": the abbreviation
        return re.sub(r"\s*\(.*\)$", "", content)
    return text or target


def _inline(line: str, ch: Chapter) -> str:
    line = line.replace(classroom.MD_BEGIN, "<details>\n<summary>Solution</summary>\n")
    line = line.replace(classroom.MD_END, "</details>")
    if m := EQ_LABEL.search(line):
        line = line[: m.start()] + f"\\tag{{{ch.count('equation', m.group(1))}}} $$"
    return ROLE.sub(lambda m: _reference(m.group(1), m.group(2), ch), line)


def convert(text: str, ch: Chapter) -> str:
    """One markdown text from MyST to the Markdown that Jupyter and Colab render."""
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        line = lines[i]
        if m := HEADER.match(line):
            end, indent = _close(lines, i, m.group(2)), m.group(1)
            body = [
                s[len(indent) :] if s.startswith(indent) else s.lstrip() for s in lines[i + 1 : end]
            ]
            options, body = _options(body)
            block = _directive(
                m.group(3), m.group(4).strip(), options, "\n".join(body).strip("\n"), ch
            )
            out += [indent + s if s else s for s in block.split("\n")] if block else []
            i = end + 1
        elif m := CODE_FENCE.match(line):  # a code block: kept as it is
            end = _close(lines, i, m.group(2))
            out += lines[i : end + 1]
            i = end + 1
        else:
            out += [] if LABEL_LINE.match(line) else [_inline(line, ch)]
            i += 1
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")
