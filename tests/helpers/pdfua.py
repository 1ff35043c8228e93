"""The PDF/UA-1 check (outloud) the tagged documents must pass, with the warnings that are
accepted and why."""

from __future__ import annotations

import outloud  # a test dependency: a missing install must fail, not skip

# Warnings the documents still carry, each with why it stays. Never an error.
ACCEPTED = {
    # WeasyPrint writes the page-margin footer (version, label revision, print date) as
    # marked content outside the tree; a PDF 1.7 tree cannot hold it as an /Artifact.
    "PAG-001": "running footer tagged as content (WeasyPrint, PDF 1.7)",
    # Paper documents: the NCI and MedWatch addresses are printed for reading and as a QR
    # code, not as clickable links.
    "LNK-010": "printed web address is not a link annotation",
    # Some boxes are painted in another order than the tag tree lists them (WeasyPrint
    # paints by stacking order); the tag tree itself is in reading order (test_structure).
    "ORD-001": "paint order differs from tag order",
    # An empty inline element, e.g. the blank handout's write-in lines.
    "TAG-020": "empty /Span",
}


def findings(path):
    """(rule, severity, message) for every finding; fails on an unreadable file or a
    rule that crashed (a crash must never pass as a clean result)."""
    result = outloud.check(str(path))
    assert result.error is None, result.error
    crashed = [(r.rule, r.reason) for r in result.runs if r.status == "crashed"]
    assert not crashed, crashed
    return result, [(f.rule, f.severity, f.message) for f in result.findings]


def assert_conforms(path):
    result, found = findings(path)
    assert result.stats.get("tagged"), "not a tagged PDF"
    errors = [f for f in found if f[1] == "error"]
    assert not errors, errors
    unexpected = [f for f in found if f[0] not in ACCEPTED]
    assert not unexpected, unexpected
