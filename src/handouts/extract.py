"""Babel extractor for the English strings held in data files (content packs, layout
text tables): every string in a list named `items`/`card_items`, or in a table named
`text`, is a msgid; each entry of a content pack's [names] table is a msgid with the
context "drug name: <key>" (one English text may serve two forms of the name)."""

from __future__ import annotations

import tomllib

from .content import NAME_CONTEXT


def _walk(node, key=""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, k)
    elif isinstance(node, list):
        if key in ("items", "card_items"):
            yield from (s for s in node if isinstance(s, str))
        else:
            for v in node:
                yield from _walk(v, key)
    elif isinstance(node, str) and key.startswith("text_"):
        yield node


def extract_content(fileobj, keywords, comment_tags, options):
    data = tomllib.loads(fileobj.read().decode("utf-8"))
    names = data.pop("names", {}) if isinstance(data.get("names"), dict) else {}
    for key, name in names.items():
        if isinstance(name, str):
            yield (0, "pgettext", (NAME_CONTEXT.format(key), name), [])
    for msg in dict.fromkeys(_walk(data)):
        yield (0, None, msg, [])
