"""Processes a test started, read from /proc (Linux): whom a command's workers are, and
whether they are still alive, for the tests that kill a batch or a server."""

from __future__ import annotations

from pathlib import Path


def children(pid: int) -> set[int]:
    """The processes `pid` started, one level down."""
    kids: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids |= {int(x) for x in (task / "children").read_text().split()}
        except OSError:
            pass
    return kids


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, however deep."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        kids = children(todo.pop()) - found
        todo.extend(kids)
        found |= kids
    return found


def alive(pid: int) -> bool:
    """Running or sleeping: a zombie (exited, not yet reaped) counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.split(")")[-1].split()[0] != "Z"
