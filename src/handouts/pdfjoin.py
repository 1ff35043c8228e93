"""Join tagged PDFs made by WeasyPrint into one tagged PDF (PDF/UA-1), as if the parts
had been laid out as one document: a personal handout is its personal pages, rendered
per patient, followed by the patient-independent pages, laid out once and cached.

Concatenating pages is not enough for a tagged PDF. What the join keeps intact:

- One structure tree: the first part's /Document element holds every part's elements
  in reading order, each element's /P and /Pg pointing into the joined file.
- The parent tree: each part numbers its pages' /StructParents (and its annotations'
  /StructParent) from 0; later parts are renumbered after the earlier ones, so every
  marked-content id on a page still maps to its element.
- Table headers: WeasyPrint names a header cell `/ID (object-row-column)` after an
  object number of its own file, so two parts can name different cells alike; each
  part after the first has its ids prefixed with the part's number and the cells'
  /Headers rewritten (the engine's ids begin with a digit, so the first part's keep theirs).
- Bookmarks: the later parts' top-level bookmarks become children of the first part's
  first bookmark (the document title, as in the whole document), counts fixed.
- Fonts: WeasyPrint tags every subset of a face with the same six letters (a digest
  of the face's name), which the PDF specification forbids for different subsets. So
  each face gets one font dictionary and one subset: WeasyPrint subsets with glyph ids
  kept, so a part's subset that holds another part's glyphs serves both, and otherwise
  the subsets are merged glyph by glyph (`fontmerge`). What cannot be merged (another
  font format, subsets that do not agree) stays apart with a tag from a digest of its
  own program.
- What it cannot carry across parts (named destinations, forms) it refuses.

Page numbers printed on the pages ("Page N of M") are the layouts' business: each part
is laid out knowing the number of its first page and the total.
"""

from __future__ import annotations

import hashlib
import io
import re
import zlib
from dataclasses import dataclass
from collections.abc import Iterable, Sequence

import pikepdf
from pikepdf import Array, Dictionary, Name, Object, String

from . import fontmerge
from .engines.patches import PLACEHOLDER_FONT

ZLIB_LEVEL = 6  # as the engine writes its streams

__all__ = ["FontsNotSupplied", "JoinError", "faces", "join", "prefix_ids", "subset_tag", "widen_fonts"]


class JoinError(ValueError):
    """A part is not a tagged PDF as WeasyPrint writes it."""


class FontsNotSupplied(JoinError):
    """A part left a face for the join to supply (a placeholder program) that no other
    part holds every glyph of: that part must be written with its own fonts."""


def subset_tag(data: bytes) -> str:
    """Six capital letters from a digest of a font program: different subsets get
    different tags, the same subset the same tag (byte-reproducible output)."""
    digest = hashlib.sha256(data).digest()
    return "".join(chr(65 + b % 26) for b in digest[:6])


def _kids(node: Object) -> list[Object]:
    kids = node.get("/K")
    if kids is None:
        return []
    return list(kids) if isinstance(kids, Array) else [kids]


def _elements(root: Object) -> Iterable[Object]:
    """Every structure element under `root` (depth first, no marked-content ids or
    object references)."""
    stack = list(reversed(_kids(root)))
    while stack:
        node = stack.pop()
        if isinstance(node, Dictionary) and "/S" in node:
            yield node
            stack.extend(reversed(_kids(node)))


def _document_element(pdf: pikepdf.Pdf) -> Object:
    root = pdf.Root.get("/StructTreeRoot")
    if root is None:
        raise JoinError("not a tagged PDF: no /StructTreeRoot")
    kids = _kids(root)
    if len(kids) != 1 or kids[0].get("/S") != Name.Document:
        raise JoinError("the structure tree does not have one /Document element")
    return kids[0]


def _nums(tree: Object) -> list[tuple[int, Object]]:
    """A number tree's (key, value) pairs; WeasyPrint writes one flat /Nums array."""
    pairs: list[tuple[int, Object]] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        nums = node.get("/Nums")
        if nums is not None:
            pairs.extend((int(nums[i]), nums[i + 1]) for i in range(0, len(nums), 2))
        stack.extend(node.get("/Kids", []))
    return sorted(pairs, key=lambda kv: kv[0])


def _attributes(element: Object) -> list[Object]:
    attrs = element.get("/A")
    if attrs is None:
        return []
    items = list(attrs) if isinstance(attrs, Array) else [attrs]
    return [a for a in items if isinstance(a, Dictionary)]


def _prefix_ids(document: Object, prefix: str) -> None:
    """Prefix a part's element ids and the /Headers that name them."""
    for element in _elements(document):
        if "/ID" in element:
            element.ID = String(prefix + str(element.ID))
        for attr in _attributes(element):
            headers = attr.get("/Headers")
            if headers is not None:
                attr.Headers = Array([String(prefix + str(h)) for h in headers])


def _renumber(pdf: pikepdf.Pdf, offset: int) -> list[tuple[int, Object]]:
    """Shift a part's parent-tree keys (pages' /StructParents, annotations'
    /StructParent) by `offset`; returns the shifted (key, value) pairs."""
    root = pdf.Root.StructTreeRoot
    pairs = [(k + offset, v) for k, v in _nums(root.ParentTree)] if "/ParentTree" in root else []
    for page in pdf.pages:
        if "/StructParents" in page.obj:
            page.obj.StructParents = int(page.obj.StructParents) + offset
        for annot in page.obj.get("/Annots", []):
            if "/StructParent" in annot:
                annot.StructParent = int(annot.StructParent) + offset
    return pairs


def _next_key(pairs: Sequence[tuple[int, Object]], pdf: pikepdf.Pdf) -> int:
    used = [k for k, _ in pairs]
    used += [int(p.obj.StructParents) for p in pdf.pages if "/StructParents" in p.obj]
    return max(used, default=-1) + 1


# -- bookmarks ------------------------------------------------------------------------

def _outline_items(first: Object | None) -> list[Object]:
    items = []
    node = first
    while node is not None:
        items.append(node)
        node = node.get("/Next")
    return items


def _visible_count(item: Object) -> int:
    """Open descendants an item shows (its /Count when open, as PDF 1.7 12.3.3)."""
    total = 0
    for child in _outline_items(item.get("/First")):
        total += 1
        if int(child.get("/Count", 0)) > 0:
            total += _visible_count(child)
    return total


def _append_outlines(base: pikepdf.Pdf, items: list[Object]) -> None:
    """Make `items` (already in `base`) the last children of the first top-level
    bookmark, or top-level bookmarks when there is none."""
    if not items:
        return
    outlines = base.Root.get("/Outlines")
    if outlines is None:
        outlines = base.make_indirect(Dictionary(Type=Name.Outlines))
        base.Root.Outlines = outlines
    top = _outline_items(outlines.get("/First"))
    parent = top[0] if top else outlines
    siblings = _outline_items(parent.get("/First"))
    for item in items:
        item.Parent = parent
        if "/Prev" in item:
            del item["/Prev"]
        if "/Next" in item:
            del item["/Next"]
        if siblings:
            siblings[-1].Next = item
            item.Prev = siblings[-1]
        else:
            parent.First = item
        siblings.append(item)
    parent.Last = siblings[-1]
    # Counts: the parent (open, as WeasyPrint writes it) and the outline root.
    if parent is not outlines:
        opened = int(parent.get("/Count", 0)) >= 0
        parent.Count = _visible_count(parent) * (1 if opened else -1)
    outlines.Count = sum(1 + (_visible_count(i) if int(i.get("/Count", 0)) > 0 else 0)
                         for i in _outline_items(outlines.get("/First")))


# -- fonts ----------------------------------------------------------------------------

@dataclass
class _Face:
    font: Object  # the Type0 font dictionary
    cid: Object  # its descendant CIDFont
    name: str  # BaseFont without the subset tag
    program: Object  # the FontFile2/FontFile3 stream
    widths: dict[int, float]  # the /W array, by glyph id

    @property
    def gids(self) -> frozenset[int]:
        return frozenset(self.widths)

    @property
    def placeholder(self) -> bool:
        """Whether the program is a placeholder for the join to replace."""
        return _is_placeholder(self.program)


def _base_name(name: str) -> str:
    name = name.lstrip("/")
    return name[7:] if len(name) > 7 and name[6] == "+" else name


def _widths(cid: Object) -> dict[int, float]:
    """A CIDFont's /W array as {glyph id: width}."""
    out: dict[int, float] = {}
    w = list(cid.get("/W", []))
    i = 0
    while i < len(w):
        first = int(w[i])
        if isinstance(w[i + 1], Array):
            for n, each in enumerate(w[i + 1]):
                out[first + n] = float(each)
            i += 2
        else:
            last, width = int(w[i + 1]), float(w[i + 2])
            for g in range(first, last + 1):
                out[g] = width
            i += 3
    return out


def _font_resources(pdf: pikepdf.Pdf) -> list[Object]:
    """Every /Font resource dictionary: the pages' and those of the forms they draw, in
    the order of the pages."""
    out: list[Object] = []
    seen: set[tuple[int, int]] = set()
    for page in pdf.pages:
        stack = [page.obj.get("/Resources")]
        while stack:
            res = stack.pop()
            if not isinstance(res, Dictionary):
                continue
            if res.is_indirect:
                if res.objgen in seen:
                    continue
                seen.add(res.objgen)
            fonts = res.get("/Font")
            if isinstance(fonts, Dictionary):
                out.append(fonts)
            for xobject in (res.get("/XObject") or {}).values():
                if isinstance(xobject, pikepdf.Stream) and xobject.get("/Subtype") == Name.Form:
                    stack.append(xobject.get("/Resources"))
    return out


def _faces(pdf: pikepdf.Pdf, resources: list[Object]) -> dict[tuple[int, int], _Face]:
    """Type0 fonts with one embedded TrueType/OpenType program, by object id, in the
    order the pages first use them."""
    out: dict[tuple[int, int], _Face] = {}
    for fonts in resources:
        for font in fonts.values():
            if font.objgen in out or font.get("/Subtype") != Name.Type0:
                continue
            cid = font.DescendantFonts[0]
            desc = cid.get("/FontDescriptor")
            if desc is None or cid.get("/CIDToGIDMap", Name.Identity) != Name.Identity:
                continue
            program = desc.get("/FontFile2") or desc.get("/FontFile3")
            if program is None or font.get("/Encoding") != Name("/Identity-H"):
                continue  # a CMap that drops glyphs (.notdef replacements): left alone
            out[font.objgen] = _Face(font, cid, _base_name(str(font.BaseFont)), program, _widths(cid))
    return out


def _share_fonts(pdf: pikepdf.Pdf) -> None:
    """One font dictionary and one program per face: where one part's glyphs are all
    in another part's subset, that subset serves both; otherwise the subsets are merged
    (`fontmerge`). Then every subset gets a tag of its own."""
    resources = _font_resources(pdf)
    faces = _faces(pdf, resources)
    by_name: dict[str, list[_Face]] = {}
    for face in faces.values():
        by_name.setdefault(face.name, []).append(face)
    replace: dict[tuple[int, int], Object] = {}
    for group in by_name.values():
        if len(group) < 2:
            continue
        # The widest subset serves the others; of two as wide, a real one, never a
        # placeholder.
        group.sort(key=lambda f: (-len(f.gids), f.placeholder))
        base, others = group[0], group[1:]
        if not all(_same_glyphs(f, base) for f in others):
            continue  # not subsets of one font: each keeps its own (distinct tags)
        if not all(f.gids <= base.gids for f in others):
            try:
                program = fontmerge.merge([base.program.read_bytes(), *(f.program.read_bytes() for f in others)],
                                          used=[base.gids, *(f.gids for f in others)])
            except fontmerge.FontMergeError:
                continue
            _set_program(base, program)
        _merge_metrics(base, others, order=list(faces.values()))
        for f in others:
            replace[f.font.objgen] = base.font
    if replace:
        for fonts in resources:
            for key in list(fonts.keys()):
                target = replace.get(fonts[key].objgen)
                if target is not None:
                    fonts[key] = target
    for objgen, face in faces.items():
        if objgen in replace:
            continue
        tag = subset_tag(face.program.read_raw_bytes())
        name = Name(f"/{tag}+{face.name}")
        face.font.BaseFont = name
        face.cid.BaseFont = name
        face.cid.FontDescriptor.FontName = name


def widen_fonts(part: bytes, others: Sequence[bytes], others_first: bool = False) -> bytes:
    """`part` with each embedded subset widened to hold the glyphs that `others` draw
    in the same face (merged glyph by glyph, with their widths and text). A cached part
    widened with what the parts joined to it usually draw already holds their glyphs,
    and maps them to text as the join will, so each join shares its subset as it is
    instead of merging fonts and rewriting text maps per document. `others_first`: the
    others come before `part` when joined, so their text wins for a glyph both map to
    different text (a face may draw a space and a no-break space with one glyph), as the
    join's first part's does; otherwise `part`'s own text wins. A face `part` does not
    use, or one that cannot be merged, is left as it is: the join merges it."""
    with pikepdf.Pdf.open(io.BytesIO(part)) as pdf:
        own: dict[str, _Face] = {}
        for face in _faces(pdf, _font_resources(pdf)).values():
            own.setdefault(face.name, face)
        changed = False
        for data in others:
            with pikepdf.Pdf.open(io.BytesIO(data)) as other:
                for face in _faces(other, _font_resources(other)).values():
                    base = own.get(face.name)
                    if base is None or not _same_glyphs(face, base):
                        continue
                    if not face.gids <= base.gids:
                        try:
                            program = fontmerge.merge([base.program.read_bytes(), face.program.read_bytes()],
                                                      used=[base.gids, face.gids])
                        except fontmerge.FontMergeError:
                            continue
                        _set_program(base, program)
                        changed = True
                    before = (base.widths, _to_unicode(base.font))
                    _merge_metrics(base, [face], order=[face, base] if others_first else [base, face])
                    changed = changed or before != (base.widths, _to_unicode(base.font))
        if not changed:
            return part
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True, compress_streams=True,
                 object_stream_mode=pikepdf.ObjectStreamMode.generate)
        return out.getvalue()


def faces(pdf: bytes) -> dict[str, frozenset[int]]:
    """The embedded faces of a PDF (their names as written, after the subset tag) and
    the glyph ids each draws: what it can supply to a part joined to it."""
    out: dict[str, frozenset[int]] = {}
    with pikepdf.Pdf.open(io.BytesIO(pdf)) as doc:
        for face in _faces(doc, _font_resources(doc)).values():
            # The widest subset of a face is the one the join shares.
            out[face.name] = max(out.get(face.name, frozenset()), face.gids, key=len)
    return out


def _is_placeholder(program: Object) -> bool:
    length = program.get("/Length1")
    return length is not None and int(length) == len(PLACEHOLDER_FONT) and program.read_bytes() == PLACEHOLDER_FONT


def _placeholders(pdf: pikepdf.Pdf) -> list[str]:
    """The faces the pages still draw with a placeholder program."""
    left = set()
    for fonts in _font_resources(pdf):
        for font in fonts.values():
            for cid in font.get("/DescendantFonts") or ():
                desc = cid.get("/FontDescriptor")
                program = None if desc is None else desc.get("/FontFile2") or desc.get("/FontFile3")
                if program is not None and _is_placeholder(program):
                    left.add(_base_name(str(font.get("/BaseFont", ""))))
    return sorted(left)


def _same_glyphs(small: _Face, big: _Face) -> bool:
    """Both subsets come from the same font file: their common glyphs have the same
    widths (a different face under the same name would not)."""
    ws, wb = small.widths, big.widths
    return all(abs(ws[g] - wb[g]) < 1e-3 for g in small.gids & big.gids)


def _set_program(face: _Face, program: bytes) -> None:
    face.program.write(zlib.compress(program, ZLIB_LEVEL), filter=Name.FlateDecode)
    face.program.Length1 = len(program)


def _merge_metrics(base: _Face, others: list[_Face], order: list[_Face]) -> None:
    """The widths and the text map of every subset, on the one font dictionary. Where
    parts map one glyph to different text (a face may draw "•" and "·" with one glyph),
    the first part's text wins, as the engine keeps the first text it drew a glyph for
    in a document laid out whole (`order`: the faces in the order of the pages)."""
    widths: dict[int, float] = {}
    text: dict[int, str] = {}
    group = [base, *others]
    own = _to_unicode(base.font)
    for face in sorted(group, key=lambda f: -next(i for i, o in enumerate(order) if o is f)):
        widths.update(face.widths)
        text.update(own if face is base else _to_unicode(face.font))
    if widths.keys() == base.widths.keys() and text == own:
        return  # the base's subset holds every glyph, mapped as the first part maps it
    w = Array()
    run: Array | None = None
    for gid in sorted(widths):
        if run is None or gid - 1 not in widths:
            run = Array()
            w.append(gid)
            w.append(run)
        run.append(_number(widths[gid]))
    base.cid.W = w
    bbox = base.cid.FontDescriptor.FontBBox
    bbox[2] = _number(max(widths.values(), default=0))
    if "/ToUnicode" in base.font:
        base.font.ToUnicode.write(zlib.compress(_cmap(text), ZLIB_LEVEL), filter=Name.FlateDecode)
    base.widths = widths


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(float(value), 4)


_BFCHAR = re.compile(rb"<([0-9a-fA-F]{4})>\s*<([0-9a-fA-F]+)>")


def _to_unicode(font: Object) -> dict[int, str]:
    """A ToUnicode CMap's single-glyph entries (bfchar, as WeasyPrint writes them)."""
    cmap = font.get("/ToUnicode")
    if cmap is None:
        return {}
    body = cmap.read_bytes()
    out: dict[int, str] = {}
    for section in re.findall(rb"beginbfchar(.*?)endbfchar", body, re.S):
        for gid, hexes in _BFCHAR.findall(section):
            out[int(gid, 16)] = hexes.decode("ascii")
    return out


def _cmap(text: dict[int, str]) -> bytes:
    lines = [b"/CIDInit /ProcSet findresource begin", b"12 dict begin", b"begincmap", b"/CIDSystemInfo",
             b"<< /Registry (Adobe)", b"/Ordering (UCS)", b"/Supplement 0", b">> def",
             b"/CMapName /Adobe-Identity-UCS def", b"/CMapType 2 def", b"1 begincodespacerange",
             b"<0000> <ffff>", b"endcodespacerange"]
    items = sorted(text.items())
    for i in range(0, len(items), 100):
        batch = items[i:i + 100]
        lines.append(f"{len(batch)} beginbfchar".encode())
        lines.extend(f"<{gid:04x}> <{hexes}>".encode() for gid, hexes in batch)
        lines.append(b"endbfchar")
    lines += [b"endcmap", b"CMapName currentdict /CMap defineresource pop", b"end", b"end"]
    return b"\n".join(lines)


# -- the join -------------------------------------------------------------------------

# What a later part's catalog may hold that the join does not carry over: refused, not
# dropped (a link to a dropped destination would lead nowhere).
_NOT_JOINED = ("/Names", "/Dests", "/AcroForm")


def _id_prefix(number: int) -> str:
    return f"p{number}-"


def prefix_ids(part: bytes, number: int) -> bytes:
    """`part` with its element ids prefixed as `join` prefixes the ids of its part
    `number`: a part joined again and again (a cached one) is prefixed once, and
    joined with `prefixed` set for it."""
    with pikepdf.Pdf.open(io.BytesIO(part)) as pdf:
        _prefix_ids(_document_element(pdf), _id_prefix(number))
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True, compress_streams=True,
                 object_stream_mode=pikepdf.ObjectStreamMode.generate)
        return out.getvalue()


def join(parts: Sequence[bytes], prefixed: Sequence[bool] = ()) -> bytes:
    """One tagged PDF from `parts` (tagged PDFs as WeasyPrint writes them), in order.
    The first part's catalog (language, metadata, title) is the joined document's.
    `prefixed[i]`: part i+1's ids were prefixed already (`prefix_ids`)."""
    if not parts:
        raise JoinError("nothing to join")
    done = list(prefixed) + [False] * (len(parts) - len(prefixed))
    base = pikepdf.Pdf.open(io.BytesIO(parts[0]))
    document = _document_element(base)
    struct_root = base.Root.StructTreeRoot
    pairs = _nums(struct_root.ParentTree) if "/ParentTree" in struct_root else []
    # The first part keeps its ids: the engine's begin with a digit ("221-0-0"), every
    # later part's are prefixed ("p2-221-0-0"), so none can name another's cell.
    for number, data in enumerate(parts[1:], start=2):
        src = pikepdf.Pdf.open(io.BytesIO(data))
        carried = [key for key in _NOT_JOINED if key in src.Root]
        if carried:
            raise JoinError(f"part {number} has {', '.join(carried)}: named destinations and forms "
                            "are not carried across parts")
        src_document = _document_element(src)
        if not done[number - 1]:
            _prefix_ids(src_document, _id_prefix(number))
        shifted = _renumber(src, _next_key(pairs, base))
        outlines = src.Root.get("/Outlines")
        outline_first = outlines.get("/First") if outlines is not None else None
        src_items = _outline_items(outline_first)
        # Pages first: the elements' /Pg, the outline destinations and the parent tree
        # are then copied onto the same (already copied) pages.
        base.pages.extend(src.pages)
        for kid in _kids(src_document):
            copied = base.copy_foreign(kid)
            copied.P = document
            document.K.append(copied)
        pairs.extend((k, _copy(base, v)) for k, v in shifted)
        _append_outlines(base, [base.copy_foreign(item) for item in src_items])
    nums = Array()
    for k, v in sorted(pairs, key=lambda kv: kv[0]):
        nums.append(k)
        nums.append(v)
    struct_root.ParentTree = base.make_indirect(Dictionary(Nums=nums))
    struct_root.ParentTreeNextKey = _next_key(pairs, base)
    _share_fonts(base)
    left = _placeholders(base)
    if left:
        raise FontsNotSupplied(f"no part supplies the glyphs of {', '.join(left)}")
    out = io.BytesIO()
    base.save(out, deterministic_id=True, compress_streams=True,
              object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return out.getvalue()


def _copy(base: pikepdf.Pdf, value: Object) -> Object:
    """A foreign value in `base`: indirect objects through qpdf's copier (which maps
    objects already copied, pages included, to their copies), direct arrays item by
    item."""
    if isinstance(value, Array) and not value.is_indirect:
        return Array([_copy(base, v) for v in value])
    if isinstance(value, pikepdf.Object) and value.is_indirect:
        return base.copy_foreign(value)
    return value
