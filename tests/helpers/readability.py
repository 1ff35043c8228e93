"""Readability measured on the text as printed (what `handouts text` shows): the
English handout's sections split at their printed headings, the running footer and the
sources footer left out, each heading, table header row and list item counted as a
sentence. Flesch-Kincaid grade with textstat 0.7.3's word and syllable counts (offline);
the sentences are counted here, because textstat drops every "sentence" of one or two
words (a list item such as "Headache": a list reads harder than it is) and splits at the
full stops of "U.S." and "100.4" (a sentence reads easier than it is)."""

from __future__ import annotations

import html as htmllib
import re

BULLET = "•"
_END = ".:!?"


def headings(html: str) -> tuple[list[str], set[str]]:
    """The section headings (h2) in order, and every heading-like line: h1-h3 and each
    table's header row as it prints (its cells joined by spaces)."""
    def clean(fragment: str) -> str:
        return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", fragment)).replace("\u00a0", " ").split())
    h2 = [clean(m) for m in re.findall(r"<h2\b[^>]*>(.*?)</h2>", html, re.S)]
    others = {clean(m) for m in re.findall(r"<h[13]\b[^>]*>(.*?)</h[13]>", html, re.S)}
    for row in re.findall(r"<thead>(.*?)</thead>", html, re.S):
        others.add(" ".join(clean(c) for c in re.findall(r"<th\b[^>]*>(.*?)</th>", row, re.S)))
    return h2, others | set(h2)


def list_items(html: str) -> list[str]:
    """The text of every list item, as it prints."""
    return [" ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", m)).replace("\u00a0", " ").split())
            for m in re.findall(r"<li\b[^>]*>(.*?)</li>", html, re.S)]


def row_starts(html: str) -> list[str]:
    """For each table row with data cells, in document order, the first words of its
    first cell as they start a printed line (a row ends a sentence, like a list item)."""
    out = []
    for row in re.findall(r"<tr\b[^>]*>(.*?)</tr>", html, re.S):
        if "<td" not in row:
            continue
        first = re.search(r"<t[hd]\b[^>]*>(.*?)</t[hd]>", row, re.S).group(1)
        first = re.split(r"<br\s*/?>", first)[0]
        words = " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", first)).replace("\u00a0", " ").split()).split()
        out.append(" ".join(words[:2]))
    return out


def _sentences(lines: list[str], heads: set[str], items: list[str]) -> list[str]:
    """One section's printed lines as prose: wrapped lines joined, and a sentence end
    after each heading, each table row and each list item (a list's last item ends where
    its text ends, not at the next paragraph). A line starting with "\n" starts a row."""
    parts: list[str] = []
    for line in lines:
        if line.startswith("\n"):
            parts.append("\n")
            line = line[1:]
        if line in heads:
            parts.append(line if line[-1] in _END else line + ".")
            parts.append("\n")
        else:
            parts.append(line)
    text = " ".join(parts)
    for item in sorted(items, key=len, reverse=True):
        if item and item[-1] not in _END:
            text = text.replace(f"{BULLET} {item} ", f"{BULLET} {item}\n")
    pieces = [p.strip() for p in re.split(rf"\n|{BULLET}", text)]
    return [p if p[-1] in _END else p + "." for p in pieces if p]


# A full stop that ends a sentence: not inside a number (100.4) or an abbreviation.
_ABBREVIATIONS = ("U.S.", "Dr.", "e.g.", "i.e.")
_SENTENCE_END = re.compile(r"[.!?:](?:[”\")]*)(?=\s|$)")


def sentence_count(pieces: list[str]) -> int:
    """Sentences in the pieces: each piece (a heading, a list item, a paragraph) ends
    one, and every full stop, question or exclamation mark (or colon) inside it that
    is followed by a space ends another."""
    n = 0
    for piece in pieces:
        for abbr in _ABBREVIATIONS:
            piece = piece.replace(abbr, abbr.replace(".", ""))
        n += max(1, len(_SENTENCE_END.findall(piece)))
    return n


def grade(pieces: list[str]) -> float:
    """Flesch-Kincaid grade: 0.39 words per sentence + 11.8 syllables per word - 15.59."""
    import textstat
    text = " ".join(pieces)
    words = textstat.lexicon_count(text)
    syllables = textstat.syllable_count(text)
    return 0.39 * words / sentence_count(pieces) + 11.8 * syllables / words - 15.59


def printed_sections(text: str, html: str, footer: str, sources_label: str) -> dict[str, list[str]]:
    """Section heading -> its printed prose, as sentence pieces (see _sentences)."""
    h2, heads = headings(html)
    rows = row_starts(html)
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("=== page"):
            continue
        body = re.sub(r"\s*Page \d+ of \d+$", "", line)
        if body and body in footer:  # the running footer, wrapped over two lines
            continue
        if line.startswith(sources_label):
            current = None  # the sources footer: references, not prose
            continue
        if line in h2:
            current = out.setdefault(line, [])
        if rows and line.startswith(rows[0]):
            rows.pop(0)
            line = "\n" + line
        if current is not None:
            current.append(line)
    missing = [h for h in h2 if h not in out]
    assert not missing, f"headings not found as printed lines: {missing}"
    items = list_items(html)
    return {h: _sentences(lines, heads, items) for h, lines in out.items()}
