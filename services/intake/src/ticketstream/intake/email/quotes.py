"""Cutting the quoted history off a reply, so a ticket's thread holds each message once.

What is recognised (all in plain text, after any HTML has been turned into text):

- lines starting with ``>`` (any depth), with the attribution line that introduces them
  ("On Mon, 3 Mar 2025 at 10:14, Dana <dana@example.com> wrote:", "Dana wrote:", ...);
- a dated attribution *without* ``>`` quoting below it (what HTML quotes become as text):
  English "On ... wrote:", German "Am ... schrieb ...:", French "Le ... a écrit :", and
  the Spanish, Italian, Dutch, Portuguese and Scandinavian forms; everything below it is cut;
- Outlook's "-----Original Message-----" line (and its translations), and the header
  block Outlook puts above a quoted message (From / Sent / To / Subject and their
  translations, optionally after a ``____`` rule, optionally ``*bold*``); everything
  below is cut.

New text between quoted blocks (inline answers) is kept. When nothing would remain, the
caller keeps the full text: an empty message is worse than a message with its history.
"""

from __future__ import annotations

import re

__all__ = ["strip_quoted_reply"]

_LONGEST_ATTRIBUTION = 400
# Opening word of a dated attribution -> (its verb, whether text may follow the verb).
_DATED_OPENINGS = {
    "on": ("wrote", False),
    "am": ("schrieb", True),
    "le": ("a écrit", False),
    "el": ("escribió", False),
    "il": ("ha scritto", False),
    "op": ("schreef", True),
    "em": ("escreveu", False),
    "den": ("skrev", True),
}
_VERB = re.compile(
    r"\b(?:wrote|schrieb|a\s+écrit|escribió|ha\s+scritto|schreef|escreveu|skrev)\b",
    re.IGNORECASE,
)
_LONGEST_AFTER_VERB = 120
_DIGIT = re.compile(r"\d")
_ORIGINAL_MESSAGE = re.compile(
    r"-{2,}\s*(?:original message|ursprüngliche nachricht|message d'origine|mensaje original"
    r"|messaggio originale|oorspronkelijk bericht|mensagem original|originalmeddelande"
    r"|oprindelig meddelelse|opprinnelig melding)\s*-{2,}",
    re.IGNORECASE,
)
_RULE = re.compile(r"_{10,}")


def _header_line(names: str) -> re.Pattern[str]:
    return re.compile(rf"\*?(?:{names})\s*:\*?(?:\s.*)?", re.IGNORECASE)


_FROM = _header_line("from|von|de|van|da|från|fra")
_SENT = _header_line("sent|gesendet|envoyé|enviado|verzonden|inviato|skickat|sendt|date|datum")
_TO_OR_SUBJECT = _header_line(
    "to|subject|an|betreff|à|a|objet|para|asunto|aan|onderwerp|oggetto|assunto|till|ämne|til|emne"
)
_HEADER_BLOCK_LINES = 7


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _attribution(lines: list[str], i: int) -> tuple[int, bool]:
    """``(number of lines, dated?)`` of an attribution starting at line ``i``, or ``(0, _)``.

    Attributions get wrapped by mail clients (a long name and address), so up to three
    lines are joined; a dated one may introduce unquoted history, a bare "X wrote:" only
    counts when ``>`` lines follow.
    """
    candidate = ""
    for span in range(1, 4):
        if i + span > len(lines) or not lines[i + span - 1].strip():
            break
        candidate = f"{candidate} {lines[i + span - 1].strip()}".strip()
        if len(candidate) > _LONGEST_ATTRIBUTION:
            break
        found, dated = _read_attribution(candidate)
        if dated or (found and span == 1):
            return span, dated
    return 0, False


def _read_attribution(candidate: str) -> tuple[bool, bool]:
    """``(an attribution?, a dated one?)``; plain string checks, no backtracking regex."""
    if not candidate.endswith(":"):
        return False, False
    verbs = list(_VERB.finditer(candidate))
    if not verbs:
        return False, False
    verb = verbs[-1]
    after = candidate[verb.end() : -1]
    if len(after) > _LONGEST_AFTER_VERB:
        return False, False
    opening = _DATED_OPENINGS.get(candidate.split(None, 1)[0].lower())
    dated = (
        opening is not None
        and " ".join(verb.group().lower().split()) == opening[0]
        and (opening[1] or not after.strip())
        and _DIGIT.search(candidate, 0, verb.start()) is not None
    )
    return True, dated


def _next_content(lines: list[str], i: int) -> int:
    while i < len(lines) and not lines[i].strip():
        i += 1
    return i


def _outlook_history_starts(lines: list[str], i: int) -> bool:
    line = lines[i].strip()
    if _ORIGINAL_MESSAGE.fullmatch(line):
        return True
    if _RULE.fullmatch(line):
        j = _next_content(lines, i + 1)
        return j < len(lines) and j - i <= 2 and _header_block_at(lines, j)
    return _header_block_at(lines, i)


def _header_block_at(lines: list[str], i: int) -> bool:
    if len(lines[i]) > _LONGEST_ATTRIBUTION or not _FROM.fullmatch(lines[i].strip()):
        return False
    block = [line.strip() for line in lines[i + 1 : i + _HEADER_BLOCK_LINES]]
    return any(_SENT.fullmatch(line) for line in block) and any(
        _TO_OR_SUBJECT.fullmatch(line) for line in block
    )


def strip_quoted_reply(text: str) -> str:
    """``text`` without its quoted reply history (see the module doc); may be empty."""
    lines = text.split("\n")
    kept: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _is_quoted(line):
            i += 1
            continue
        span, dated = _attribution(lines, i)
        if span:
            after = _next_content(lines, i + span)
            if after < len(lines) and _is_quoted(lines[after]):
                i = after
                continue
            if dated:
                break
        if _outlook_history_starts(lines, i):
            break
        kept.append(line)
        i += 1
    result = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in kept))
    return result.strip("\n")
