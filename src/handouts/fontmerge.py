"""One TrueType font program from several subsets of the same font, so that a joined
PDF embeds one subset per face.

WeasyPrint subsets with glyph ids kept (HarfBuzz's RETAIN_GIDS, fontTools'
retain_gids): glyph 1234 is glyph 1234 in every subset of a face, an empty outline
where that subset dropped it. So subsets of one face are merged glyph by glyph: each
glyph's outline and metrics come from the first subset that has it. Only the tables
that hold one record per glyph change (glyf and loca, hmtx, vmtx, maxp's count); the
rest (cmap, name, OS/2 ...) are the first subset's. A PDF shows these fonts through
/CIDToGIDMap /Identity and its own /W widths, never through the font's cmap.

Only up to the highest glyph a subset was made for are ids kept: WeasyPrint subsets a
second time keeping glyphs 0 to that one, and the glyphs the subsetter added past it
(components of composite glyphs, glyphs its closure reached) are renumbered, so the same
id past it can be another glyph in another subset. Given the glyphs each PDF draws
(`used`), a subset's glyphs are those and the components they need; the rest are left
out, and a component drawn differently by two subsets refuses the merge.

Pure Python on the bytes: no font library is parsed, so merging costs a few
milliseconds even for CJK subsets of 30,000 glyph slots.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate, compress, islice
from operator import ne

__all__ = ["FontMergeError", "merge", "glyph_data"]

# Tables with a record per glyph that this module does not rebuild: dropped (optional
# device metrics) rather than left inconsistent.
_DROPPED = {b"hdmx", b"LTSH", b"VDMX", b"DSIG"}


_LITTLE = struct.pack("=I", 1) != struct.pack(">I", 1)  # arrays are read in machine order


class FontMergeError(ValueError):
    """The programs are not subsets of one TrueType font with its glyph ids kept."""


@dataclass
class _Font:
    tables: dict[bytes, bytes]
    num_glyphs: int
    loca: array  # as stored: short offsets are half the byte offset
    scale: int  # 2 for short offsets, 1 for long

    def glyph(self, gid: int) -> bytes:
        if gid >= self.num_glyphs:
            return b""
        s = self.scale
        return self.tables[b"glyf"][s * self.loca[gid]:s * self.loca[gid + 1]]

    def drawn(self) -> list[int]:
        """Glyph ids with an outline (the rest are the empty slots of kept ids)."""
        loca = self.loca
        return list(compress(range(self.num_glyphs), map(ne, loca, islice(loca, 1, None))))

    def metrics(self, header: bytes, table: bytes, num: int) -> bytearray:
        """hmtx/vmtx as `num` full 4-byte (advance, side bearing) records."""
        count = struct.unpack_from(">H", self.tables[header], 34)[0]
        data = self.tables[table]
        out = bytearray(data[:4 * count])
        if num > count:
            advance = data[4 * (count - 1):4 * count - 2]
            bearings = data[4 * count:]
            out += b"".join(advance + (bearings[2 * i:2 * i + 2] or b"\0\0") for i in range(num - count))
        return out[:4 * num] + bytearray(4 * max(0, num - len(out) // 4))


def _parse(program: bytes) -> _Font:
    if len(program) < 12 or program[:4] not in (b"\0\1\0\0", b"true"):
        raise FontMergeError("not a TrueType font program")
    count = struct.unpack_from(">H", program, 4)[0]
    tables: dict[bytes, bytes] = {}
    for i in range(count):
        tag, _, offset, length = struct.unpack_from(">4sIII", program, 12 + 16 * i)
        if offset + length > len(program):
            raise FontMergeError(f"table {tag!r} runs past the end of the font")
        tables[tag] = program[offset:offset + length]
    for need in (b"head", b"maxp", b"loca", b"glyf", b"hhea", b"hmtx"):
        if need not in tables:
            raise FontMergeError(f"no {need.decode()} table")
    num = struct.unpack_from(">H", tables[b"maxp"], 4)[0]
    long_loca = struct.unpack_from(">h", tables[b"head"], 50)[0] == 1
    loca = array("I" if long_loca else "H")
    if loca.itemsize != (4 if long_loca else 2):  # pragma: no cover - exotic platforms
        raise FontMergeError("unsupported platform array sizes")
    loca.frombytes(tables[b"loca"][:(num + 1) * loca.itemsize])
    if _LITTLE:
        loca.byteswap()
    if len(loca) != num + 1:
        raise FontMergeError("loca is shorter than the glyph count")
    return _Font(tables, num, loca, 1 if long_loca else 2)


def _identity(font: _Font) -> bytes:
    """What makes two subsets come from one font: head's revision, dates and units per
    em, and the name table (family, version)."""
    head = font.tables[b"head"]
    return head[4:8] + head[18:36] + font.tables.get(b"name", b"")


def glyph_data(program: bytes) -> dict[int, bytes]:
    """The non-empty glyph outlines of a TrueType program, by glyph id (for tests)."""
    font = _parse(program)
    return {g: font.glyph(g) for g in range(font.num_glyphs) if font.glyph(g)}


def _checksum(data: bytes) -> int:
    words = array("I")
    words.frombytes(data + b"\0" * (-len(data) % 4))
    if _LITTLE:
        words.byteswap()
    return sum(words) & 0xFFFFFFFF


def _components(data: bytes) -> list[int]:
    """The glyph ids a composite glyph's outline is made of (none for a simple one)."""
    if len(data) < 10 or struct.unpack_from(">h", data, 0)[0] >= 0:
        return []
    out, pos = [], 10
    while pos + 4 <= len(data):
        flags, gid = struct.unpack_from(">HH", data, pos)
        out.append(gid)
        pos += 4 + (4 if flags & 0x0001 else 2)  # ARG_1_AND_2_ARE_WORDS
        if flags & 0x0008:  # WE_HAVE_A_SCALE
            pos += 2
        elif flags & 0x0040:  # WE_HAVE_AN_X_AND_Y_SCALE
            pos += 4
        elif flags & 0x0080:  # WE_HAVE_A_TWO_BY_TWO
            pos += 8
        if not flags & 0x0020:  # MORE_COMPONENTS
            break
    return out


def _padded(data: bytes) -> bytes:
    """A glyph's outline as this module stores it: padded to four bytes (a subsetter
    may pad to two), so that a merged program compares equal to the subsets it holds
    and can itself be merged again."""
    return data + b"\0" * (-len(data) % 4)


def _needed(font: _Font, used: Iterable[int]) -> list[int]:
    """The glyphs drawn for `used`: those with an outline, and their components."""
    todo = [g for g in used if g < font.num_glyphs]
    seen: set[int] = set()
    while todo:
        gid = todo.pop()
        if gid in seen:
            continue
        seen.add(gid)
        todo.extend(_components(font.glyph(gid)))
    return sorted(g for g in seen if g < font.num_glyphs and font.glyph(g))


def merge(programs: list[bytes], used: Sequence[Iterable[int]] | None = None) -> bytes:
    """One TrueType program with every glyph of `programs` (subsets of one font with
    glyph ids kept). The first program's tables are kept where they are global.
    `used[i]`: the glyphs program i is drawn with (default: all it holds)."""
    fonts = [_parse(p) for p in programs]
    if len({_identity(f) for f in fonts}) != 1:
        raise FontMergeError("the programs are subsets of different fonts")
    drawn = [f.drawn() if used is None else _needed(f, [0, *used[i]]) for i, f in enumerate(fonts)]
    num = max(max(d, default=0) for d in drawn) + 1
    owner: dict[int, int] = {}  # glyph id -> the first font that draws it
    for i, f in enumerate(fonts):
        for gid in drawn[i]:
            first = owner.setdefault(gid, i)
            # Glyph ids kept means a glyph drawn by two subsets is the same outline; a
            # subsetter that renumbered glyphs would make this merge draw wrong glyphs.
            if first != i and _padded(fonts[first].glyph(gid)) != _padded(f.glyph(gid)):
                raise FontMergeError(f"glyph {gid} differs between the subsets: glyph ids were not kept")
    lengths = array("I", bytes(4 * num))
    pieces = []
    for gid in sorted(owner):
        data = _padded(fonts[owner[gid]].glyph(gid))
        lengths[gid] = len(data)
        pieces.append(data)
    loca = array("I", accumulate(lengths, initial=0))
    if _LITTLE:
        loca.byteswap()
    base = fonts[0]
    tables = {tag: data for tag, data in base.tables.items() if tag not in _DROPPED}
    tables[b"glyf"] = b"".join(pieces)
    tables[b"loca"] = loca.tobytes()
    tables[b"hhea"], tables[b"hmtx"] = _metrics_table(fonts, owner, num, b"hhea", b"hmtx")
    if b"vhea" in tables and b"vmtx" in tables and all(b"vmtx" in f.tables for f in fonts):
        tables[b"vhea"], tables[b"vmtx"] = _metrics_table(fonts, owner, num, b"vhea", b"vmtx")
    else:
        tables.pop(b"vhea", None)
        tables.pop(b"vmtx", None)
    maxp = bytearray(base.tables[b"maxp"])
    struct.pack_into(">H", maxp, 4, num)
    if len(maxp) >= 32:  # version 1.0: the maxima of every subset's outlines
        fields = [max(struct.unpack_from(">H", f.tables[b"maxp"], at)[0] for f in fonts) for at in range(6, 32, 2)]
        struct.pack_into(">13H", maxp, 6, *fields)
    tables[b"maxp"] = bytes(maxp)
    post = base.tables.get(b"post")
    if post is not None and struct.unpack_from(">I", post, 0)[0] != 0x00030000:
        tables[b"post"] = b"\0\3\0\0" + post[4:32]  # glyph names would count the old glyphs
    head = bytearray(base.tables[b"head"])
    struct.pack_into(">I", head, 8, 0)
    struct.pack_into(">h", head, 50, 1)  # long loca offsets
    tables[b"head"] = bytes(head)
    return _assemble(tables)


def _metrics_table(fonts: list[_Font], owner: dict[int, int], num: int, header: bytes,
                   table: bytes) -> tuple[bytes, bytes]:
    """Every glyph a full record; a glyph's metrics from the font that draws it."""
    records = fonts[0].metrics(header, table, num)
    others: dict[int, bytearray] = {}
    for gid, i in owner.items():
        if i:
            if i not in others:
                others[i] = fonts[i].metrics(header, table, num)
            records[4 * gid:4 * gid + 4] = others[i][4 * gid:4 * gid + 4]
    head = bytearray(fonts[0].tables[header])
    struct.pack_into(">H", head, 34, num)
    return bytes(head), bytes(records)


def _assemble(tables: dict[bytes, bytes]) -> bytes:
    tags = sorted(tables)
    n = len(tags)
    power = 1
    while power * 2 <= n:
        power *= 2
    header = struct.pack(">IHHHH", 0x00010000, n, power * 16, power.bit_length() - 1, n * 16 - power * 16)
    offset = 12 + 16 * n
    records, body = [], []
    for tag in tags:
        data = tables[tag]
        records.append(struct.pack(">4sIII", tag, _checksum(data), offset, len(data)))
        padded = data + b"\0" * (-len(data) % 4)
        body.append(padded)
        offset += len(padded)
    font = bytearray(header + b"".join(records) + b"".join(body))
    head_at = 12 + 16 * n + sum(len(b) for b, t in zip(body, tags, strict=True) if t < b"head")
    struct.pack_into(">I", font, head_at + 8, (0xB1B0AFBA - _checksum(bytes(font))) & 0xFFFFFFFF)
    return bytes(font)
