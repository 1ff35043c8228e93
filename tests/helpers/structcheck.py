"""A tagged PDF's structure tree, checked the way a screen reader walks it: every
element's parent link, every /Pg a page of this file, every marked-content id on every
page mapped (through the parent tree) to an element on that page that holds it, every
annotation mapped to the element that references it, every /Headers id naming one
header cell; and the bookmarks as a tree with consistent links and counts.

`problems(path)` lists what is wrong (empty: nothing); `outline(path)` gives the
bookmarks as (depth, title, page index) for comparing two files."""

from __future__ import annotations

import re
from pathlib import Path

import pikepdf
from pikepdf import Array, Dictionary, Name

_MCID = re.compile(rb"/MCID\s+(\d+)")


def _kids(node) -> list:
    kids = node.get("/K")
    if kids is None:
        return []
    return list(kids) if isinstance(kids, Array) else [kids]


def _page_of(element, default=None):
    node = element
    while node is not None and isinstance(node, Dictionary):
        if "/Pg" in node:
            return node.Pg
        node = node.get("/P")
    return default


def _holds(element, mcid: int, page) -> bool:
    pg = _page_of(element)
    return pg is not None and pg.objgen == page.objgen and mcid in [k for k in _kids(element) if isinstance(k, int)]


def _mcids_in_content(page: pikepdf.Page) -> list[int]:
    """Marked-content ids used in a page's content stream(s)."""
    data = b""
    contents = page.obj.get("/Contents")
    for stream in (contents if isinstance(contents, Array) else [contents]):
        if stream is not None:
            data += stream.read_bytes()
    return [int(m) for m in _MCID.findall(data)]


def _nums(tree, found: list[str]) -> dict[int, object]:
    out: dict[int, object] = {}
    stack = [tree]
    while stack:
        node = stack.pop()
        nums = node.get("/Nums")
        if nums is not None:
            for i in range(0, len(nums), 2):
                key = int(nums[i])
                if key in out:
                    found.append(f"parent tree key {key} twice")
                out[key] = nums[i + 1]
        stack.extend(node.get("/Kids", []))
    return out


def problems(path: Path) -> list[str]:
    found: list[str] = []
    with pikepdf.open(path) as pdf:
        pages = {p.obj.objgen: i for i, p in enumerate(pdf.pages)}
        root = pdf.Root.StructTreeRoot
        top = _kids(root)
        if len(top) != 1 or top[0].get("/S") != Name.Document:
            found.append(f"the tree root holds {len(top)} elements, not one /Document")
        # Walk: parent links, /Pg, marked-content ids held, ids.
        held: dict[tuple[int, int], tuple] = {}  # (page index, mcid) -> element objgen
        objr: dict[tuple, tuple] = {}  # annotation objgen -> element objgen
        ids: dict[str, Dictionary] = {}
        headers: list[tuple[str, str]] = []
        elements = 0
        stack = [(kid, root) for kid in reversed(top)]
        while stack:
            node, parent = stack.pop()
            if not isinstance(node, Dictionary) or "/S" not in node:
                continue
            elements += 1
            tag = str(node.S)
            if "/P" not in node or node.P.objgen != parent.objgen:
                found.append(f"{tag} {node.objgen}: /P is not its parent")
            pg = _page_of(node)
            if "/Pg" in node and node.Pg.objgen not in pages:
                found.append(f"{tag} {node.objgen}: /Pg is not a page of this file")
            if "/ID" in node:
                key = bytes(node.ID).decode("latin-1")
                if key in ids:
                    found.append(f"/ID {key!r} names two elements")
                ids[key] = node
            attrs = node.get("/A")
            for attr in (list(attrs) if isinstance(attrs, Array) else [attrs] if attrs is not None else []):
                if isinstance(attr, Dictionary) and "/Headers" in attr:
                    headers.extend((bytes(h).decode("latin-1"), tag) for h in attr.Headers)
            for kid in _kids(node):
                if isinstance(kid, int):
                    if pg is None or pg.objgen not in pages:
                        found.append(f"{tag} {node.objgen}: marked content without a page")
                        continue
                    held[(pages[pg.objgen], int(kid))] = node.objgen
                elif isinstance(kid, Dictionary) and kid.get("/Type") == Name.MCR:
                    page = kid.get("/Pg", pg)
                    held[(pages.get(page.objgen, -1), int(kid.MCID))] = node.objgen
                elif isinstance(kid, Dictionary) and kid.get("/Type") == Name.OBJR:
                    objr[kid.Obj.objgen] = node.objgen
                    if kid.get("/Pg") is not None and kid.Pg.objgen not in pages:
                        found.append(f"{tag} {node.objgen}: an /OBJR whose /Pg is not a page")
                else:
                    stack.append((kid, node))
        if not elements:
            found.append("no structure elements")
        # The parent tree: every page's marked content, every annotation.
        tree = _nums(root.ParentTree, found) if "/ParentTree" in root else {}
        used_keys: set[int] = set()
        for page in pdf.pages:
            index = pages[page.obj.objgen]
            mcids = _mcids_in_content(page)
            if not mcids:
                continue
            if "/StructParents" not in page.obj:
                found.append(f"page {index + 1}: marked content but no /StructParents")
                continue
            key = int(page.obj.StructParents)
            if key in used_keys:
                found.append(f"page {index + 1}: /StructParents {key} used twice")
            used_keys.add(key)
            entry = tree.get(key)
            if not isinstance(entry, Array):
                found.append(f"page {index + 1}: parent tree has no array for key {key}")
                continue
            for mcid in mcids:
                if mcid >= len(entry) or not isinstance(entry[mcid], Dictionary):
                    found.append(f"page {index + 1}: MCID {mcid} has no element in the parent tree")
                    continue
                element = entry[mcid]
                owner = held.get((index, mcid))
                if owner is None and _holds(element, mcid, page.obj):
                    # WeasyPrint tags the page-margin footer with elements it keeps out of
                    # the tree (a PDF 1.7 tree cannot hold them as artifacts); they must
                    # still hold their content on their own page.
                    continue
                if owner != element.objgen:
                    found.append(f"page {index + 1}: MCID {mcid} maps to {element.get('/S')} "
                                 f"{element.objgen}, which does not hold it on this page")
            for annot in page.obj.get("/Annots", []):
                if "/StructParent" not in annot:
                    continue
                akey = int(annot.StructParent)
                if akey in used_keys:
                    found.append(f"page {index + 1}: /StructParent {akey} used twice")
                used_keys.add(akey)
                element = tree.get(akey)
                if not isinstance(element, Dictionary) or objr.get(annot.objgen) != element.objgen:
                    found.append(f"page {index + 1}: an annotation's /StructParent {akey} is not its element")
        if "/ParentTreeNextKey" in root and used_keys and int(root.ParentTreeNextKey) <= max(used_keys):
            found.append("/ParentTreeNextKey is not above every key")
        for name, tag in headers:
            target = ids.get(name)
            if target is None:
                found.append(f"{tag}: /Headers names {name!r}, which no element has")
            elif target.get("/S") != Name.TH:
                found.append(f"{tag}: /Headers names {name!r}, a {target.get('/S')}, not a header cell")
        found.extend(_outline_problems(pdf, pages))
    return found


def _items(first) -> list:
    out, node, seen = [], first, set()
    while node is not None:
        if node.objgen in seen:
            raise AssertionError("a bookmark loop")
        seen.add(node.objgen)
        out.append(node)
        node = node.get("/Next")
    return out


def _outline_problems(pdf, pages) -> list[str]:
    found: list[str] = []
    outlines = pdf.Root.get("/Outlines")
    if outlines is None:
        return found

    def visible(node) -> int:
        total = 0
        for child in _items(node.get("/First")):
            total += 1
            if int(child.get("/Count", 0)) > 0:
                total += visible(child)
        return total

    def check(node, is_root: bool) -> None:
        items = _items(node.get("/First"))
        if items:
            if node.Last.objgen != items[-1].objgen:
                found.append(f"bookmark {node.get('/Title', 'root')}: /Last is not its last child")
        elif "/Last" in node:
            found.append("a bookmark without children has /Last")
        for prev, item in zip([None, *items], items, strict=False):  # each item with the one before it
            if item.Parent.objgen != node.objgen:
                found.append(f"bookmark {item.Title}: /Parent is not its parent")
            if prev is not None and item.get("/Prev") is not None and item.Prev.objgen != prev.objgen:
                found.append(f"bookmark {item.Title}: /Prev is not the one before")
            if prev is None and "/Prev" in item:
                found.append(f"bookmark {item.Title}: a first child with /Prev")
            dest = item.get("/Dest")
            if dest is None or dest[0].objgen not in pages:
                found.append(f"bookmark {item.Title}: destination is not a page of this file")
            check(item, False)
        count = int(node.get("/Count", 0))
        if items and abs(count) != visible(node) and not (is_root and count == visible(node)):
            found.append(f"bookmark {node.get('/Title', 'root')}: /Count {count}, {visible(node)} visible")

    check(outlines, True)
    return found


def outline(path: Path) -> list[tuple[int, str, int]]:
    """(depth, title, page index) of every bookmark, in order."""
    out: list[tuple[int, str, int]] = []
    with pikepdf.open(path) as pdf:
        pages = {p.obj.objgen: i for i, p in enumerate(pdf.pages)}

        def walk(node, depth):
            for item in _items(node.get("/First")):
                out.append((depth, str(item.Title), pages.get(item.Dest[0].objgen, -1)))
                walk(item, depth + 1)

        outlines = pdf.Root.get("/Outlines")
        if outlines is not None:
            walk(outlines, 0)
    return out


def subset_fonts(path: Path) -> dict[str, set[str]]:
    """Face name -> the subset tags it is embedded with, over every page."""
    out: dict[str, set[str]] = {}
    with pikepdf.open(path) as pdf:
        for page in pdf.pages:
            for font in page.obj.get("/Resources", {}).get("/Font", {}).values():
                name = str(font.BaseFont).lstrip("/")
                tag, _, face = name.partition("+")
                out.setdefault(face, set()).add(tag)
    return out


def font_programs(path: Path) -> dict[str, set[bytes]]:
    """Subset name (tag+face) -> the distinct font programs embedded under it."""
    out: dict[str, set[bytes]] = {}
    with pikepdf.open(path) as pdf:
        for obj in pdf.objects:
            if isinstance(obj, Dictionary) and obj.get("/Type") == Name.FontDescriptor:
                program = obj.get("/FontFile2") or obj.get("/FontFile3")
                if program is not None:
                    out.setdefault(str(obj.FontName).lstrip("/"), set()).add(program.read_bytes())
    return out
