"""`handouts check`: what would make printed material wrong or incomplete."""

from __future__ import annotations

from . import catalogs, content, fonts, locales, registry
from .build import render_document, resolve_paper, review_warnings
from .errors import HandoutsError


def run_checks(strict: bool = False, render: bool = True) -> tuple[list[str], list[str]]:
    problems: list[str] = []
    warnings: list[str] = []
    model = content.default()
    for code, spec in locales.available().items():
        for p in catalogs.locale_problems(code):
            problems.append(f"catalog {code}: {p}")
        if not spec.medical_review.reviewed:
            problems.append(f"catalog {code}: not yet reviewed by a qualified medical translator "
                            f"(set medical_review in {spec.directory.name}/locale.toml once it is)")
        gone = fonts.missing(catalogs.all_text(code), (spec.fonts[0],))
        if gone:
            problems.append(f"fonts {code}: {spec.fonts[0]} lacks {''.join(gone[:20])}")
    try:
        warnings += review_warnings(model, strict=strict)
    except HandoutsError as err:
        problems.append(f"sources: {err.message}")
    if render:
        for doc in registry.DOCUMENTS.values():
            for code in locales.available():
                for paper in doc.papers:
                    try:
                        render_document(doc.name, code, resolve_paper(doc, code, paper), None, model)
                    except HandoutsError as err:
                        problems.append(f"layout {doc.name} {code} {paper}: {err.one_line()}")
    return problems, warnings
