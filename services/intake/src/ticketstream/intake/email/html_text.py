"""HTML mail bodies as sanitized plain text (standard library ``html.parser`` only).

What a reader sees, nothing that runs: the content of ``<script>``, ``<style>``, ``<title>``
and other non-rendered elements is dropped, attributes (``onclick=...``, ``style=...``) are
never copied, comments and declarations vanish, block elements become line breaks, list
items get a ``- `` bullet, entities are decoded and runs of white space collapse as a
browser collapses them. A link keeps its text and, when it differs, its http(s) target in
parentheses; an image keeps its ``alt`` text in brackets.

The result is *text*: an ``&lt;b&gt;`` in the HTML is the literal ``<b>`` its author wrote,
and whoever renders the text as HTML must escape it like any other user content. Markup
that the parser cannot complete (``<script`` cut off at the end of the input) is dropped
the way a browser drops it, so no tag survives as text.

It also notes where quoted reply history starts (Gmail's ``gmail_quote``, Apple Mail's and
Thunderbird's ``<blockquote type="cite">``, Outlook on the web's ``divRplyFwdMsg``...),
which :func:`html_to_text_parts` reports for reply stripping.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

__all__ = ["html_to_text", "html_to_text_parts"]

_SKIPPED = frozenset(
    {
        "script",
        "style",
        "template",
        "title",
        "head",
        "svg",
        "math",
        "iframe",
        "object",
        "embed",
        "applet",
        "frameset",
        "xml",
        "select",
        "datalist",
    }
)
_BLOCKS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "center",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "main",
        "nav",
        "ol",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "tfoot",
        "thead",
        "tr",
        "ul",
        "caption",
    }
)
_PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote"})
_CELLS = frozenset({"td", "th"})
_QUOTE_CLASSES = frozenset(
    {"gmail_quote", "gmail_quote_container", "yahoo_quoted", "moz-cite-prefix", "protonmail_quote"}
)
_QUOTE_IDS = frozenset(
    {"appendonsend", "divrplyfwdmsg", "x_divrplyfwdmsg", "mail-editor-reference-message-container"}
)

# A "<" the parser passed through as text is markup it could not complete (``<script`` at
# the very end, ``<![bogus``); it is marked with NUL (removed from the input beforehand, so
# it cannot come from the author) and cut away with the rest of the would-be tag.
_MARK = "\x00"
_BROKEN_TAG = re.compile(_MARK + r"[A-Za-z!/?][^\x00>]*>?")
_SPACES = re.compile(r"[^\S\n]+")
_ALL_SPACE = re.compile(r"[ \t\n\r\f\v]+")
_LONGEST_LINK = 64
_SECTION_END = re.compile(r"[<>]")
_WEB_LINK = re.compile(r"https?://", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n{3,}")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))


class _TextExtractor(HTMLParser):
    """Collects text chunks; line breaks are *requested* and emitted before the next text.

    Requesting instead of emitting is what makes ``</div><div>`` one line break (not two),
    ``</p><p>`` a blank line, and white space between blocks insignificant, as in a browser.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.chunks: list[str] = []
        self.quote_at: int | None = None
        self._pending = 0
        self._skipping: list[str] = []
        self._links: list[tuple[int, str | None]] = []

    def _break(self, lines: int) -> None:
        self._pending = max(self._pending, lines)

    def _text(self, text: str) -> None:
        if self._pending:
            self.chunks.append("\n" * self._pending)
            self._pending = 0
        self.chunks.append(text)

    # -- elements ------------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            # A stray unclosed <title> or <head> must not swallow the whole body.
            self._skipping = [t for t in self._skipping if t in ("script", "style")]
        if self._skipping or tag in _SKIPPED:
            if tag in _SKIPPED:
                self._skipping.append(tag)
            return
        self._note_quote(tag, attrs)
        values = dict(attrs)
        if tag == "br":
            self._pending += 1
        elif tag == "li":
            self._break(1)
            self._text("- ")
        elif tag in _CELLS:
            self._text(" ")
        elif tag == "p":
            # Outlook writes every line as <p class=MsoNormal>: those are lines, not paragraphs.
            self._break(1 if "msonormal" in (values.get("class") or "").lower() else 2)
        elif tag in _PARAGRAPHS:
            self._break(2)
        elif tag in _BLOCKS:
            self._break(1)
        elif tag == "img":
            alt = " ".join((values.get("alt") or "").split())
            if alt:
                self._text(f" [{alt}] ")
        elif tag == "a":
            href = (values.get("href") or "").strip()
            target = href if _WEB_LINK.match(href) else None
            self._links.append((len(self.chunks), target))

    def handle_endtag(self, tag: str) -> None:
        if self._skipping:
            if tag in self._skipping:
                while self._skipping and self._skipping.pop() != tag:
                    pass
            return
        if tag in _PARAGRAPHS and tag != "p":
            self._break(2)
        elif tag in _BLOCKS or tag in ("li", "p"):
            self._break(1)
        elif tag == "a" and self._links:
            start, target = self._links.pop()
            # Bounded: a link's text is a few chunks; unclosed <a> soup must stay linear.
            text = self.chunks[start:] if len(self.chunks) - start <= _LONGEST_LINK else None
            if target and text is not None and target not in "".join(text):
                self._text(f" ({target})")

    def _note_quote(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.quote_at is not None:
            return
        values = dict(attrs)
        classes = set((values.get("class") or "").split())
        if (
            (tag == "blockquote" and (values.get("type") or "").lower() == "cite")
            or classes & _QUOTE_CLASSES
            or (values.get("id") or "").lower() in _QUOTE_IDS
        ):
            self.quote_at = len(self.chunks)

    # -- text ----------------------------------------------------------------------------

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        if data.startswith("<"):
            data = _MARK + data[1:]
        elif data.startswith("&"):  # a reference the parser left raw (``&amp`` at the end)
            data = html.unescape(data)
        data = _ALL_SPACE.sub(" ", data)
        if data == " " and (self._pending or not self.chunks):
            return
        self._text(data)

    def handle_entityref(self, name: str) -> None:
        if not self._skipping:
            decoded = html.unescape(f"&{name};")
            self._text(f"&{name}" if decoded == f"&{name};" else decoded)

    def handle_charref(self, name: str) -> None:
        if not self._skipping:
            self._text(html.unescape(f"&#{name};"))

    def close(self) -> None:
        # A tag still open at the end of the input (``<a onclick="...`` cut off) is dropped
        # whole, as a browser drops it; the parser would otherwise hand it over as text.
        tail = self.rawdata
        if len(tail) > 1 and tail[0] == "<" and (tail[1] in "!/?" or tail[1].isalpha()):
            self.rawdata = ""
        super().close()

    def parse_marked_section(self, i: int, report: bool = True) -> int:
        # The standard library raises AssertionError on ``<![anything-else``.
        try:
            return super().parse_marked_section(i, report)
        except AssertionError:
            # Skip the bogus section up to its ">", but never over the start of the next
            # tag: ``<![bogus<style>`` must not turn the style sheet into text.
            match = _SECTION_END.search(self.rawdata, i + 3)
            if match is None:
                return -1
            return match.end() if match.group() == ">" else match.start()


def _finish(text: str) -> str:
    text = _BROKEN_TAG.sub("", text).replace(_MARK, "<")
    text = text.translate(_INVISIBLE)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _crude(markup: str) -> str:
    """Last resort when ``html.parser`` gives up: drop scripts and styles, then all tags."""
    lowered = markup.lower()
    kept: list[str] = []
    position = 0
    while True:
        start = min(
            (
                i
                for i in (lowered.find("<script", position), lowered.find("<style", position))
                if i >= 0
            ),
            default=-1,
        )
        if start < 0:
            kept.append(markup[position:])
            break
        kept.append(markup[position:start])
        name = "script" if lowered.startswith("<script", start) else "style"
        end = lowered.find(f"</{name}", start)
        if end < 0:
            break
        close = lowered.find(">", end)
        position = len(markup) if close < 0 else close + 1
    text = re.sub(r"<(?:br|/?p|/?div|/?li|/?tr|/?h[1-6])\b[^>]*>", "\n", "".join(kept), flags=re.I)
    text = re.sub(r"<[^>]*>", " ", text)
    text = re.sub(r"<[A-Za-z!/?][^\n]*", "", text)
    return _finish(html.unescape(text))


def html_to_text_parts(markup: str) -> tuple[str, str | None]:
    """``(text, text before the quoted history)``; the second is None without a quote."""
    markup = markup.replace(_MARK, "")
    parser = _TextExtractor()
    try:
        parser.feed(markup)
        parser.close()
    except (AssertionError, ValueError, IndexError):
        return _crude(markup), None
    full = _finish("".join(parser.chunks))
    if parser.quote_at is None:
        return full, None
    return full, _finish("".join(parser.chunks[: parser.quote_at]))


def html_to_text(markup: str) -> str:
    """The readable text of an HTML document or fragment, sanitized (see the module doc)."""
    return html_to_text_parts(markup)[0]
