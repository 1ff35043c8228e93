"""`handouts check`: what would make printed material wrong or incomplete.

Findings come in two kinds, told apart by the exit code: a problem means the material
cannot ship (a catalog that fails its gates, a font that lacks a character, a layout
over its page budget; with --strict, a review past due): exit 1. A finding that needs a
person (a catalog no medical translator has reviewed yet, whose documents print a
notice saying so; a source or label comparison past its review date) leaves the
material printable until someone acts: exit 3.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import catalogs, content, fonts, locales, registry
from .build import render_document, resolve_paper, review_warnings
from .errors import HandoutsError

EXIT_CANNOT_SHIP = 1
EXIT_NEEDS_A_PERSON = 3


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)      # cannot ship
    for_a_person: list[str] = field(default_factory=list)  # printable, but someone must act

    @property
    def exit_code(self) -> int:
        if self.problems:
            return EXIT_CANNOT_SHIP
        return EXIT_NEEDS_A_PERSON if self.for_a_person else 0


def run_checks(strict: bool = False, render: bool = True) -> Findings:
    found = Findings()
    model = content.default()
    for code, spec in locales.available().items():
        for p in catalogs.locale_problems(code):
            found.problems.append(f"catalog {code}: {p}")
        if not spec.medical_review.reviewed:
            found.for_a_person.append(
                f"catalog {code}: not yet reviewed by a qualified medical translator (its documents print a "
                f"notice saying so; set medical_review in {spec.directory.name}/locale.toml once it is)")
        gone = fonts.missing(catalogs.all_text(code), (spec.fonts[0],))
        if gone:
            found.problems.append(f"fonts {code}: {spec.fonts[0]} lacks {''.join(gone[:20])}")
    try:
        found.for_a_person += [w.one_line() for w in review_warnings(model, strict=strict)]
    except HandoutsError as err:
        found.problems.append(f"sources: {err.message}")
    if render:
        for doc in registry.DOCUMENTS.values():
            for code in locales.available():
                for paper in doc.papers:
                    try:
                        render_document(doc.name, code, resolve_paper(doc, code, paper), None, model)
                    except HandoutsError as err:
                        found.problems.append(f"layout {doc.name} {code} {paper}: {err.one_line()}")
    return found
