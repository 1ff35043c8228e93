"""The document id printed small on every document and stored in its PDF metadata.

    W-zh-Hans-2026.11.0-2511-7KQ2M9XD
    | |       |         |    digest of every input (patient, paper, options, content,
    | |       |         |    catalogs, layouts, print date): 40 bits, Crockford base32
    | |       |         label revision the document follows (US PI, YYMM)
    | |       content version
    | locale
    document (its registry entry's id_code: H handout, W wallet card, P poster)

Readable over the phone (no I, L, O or U in the digest), and it says at a glance which
content and label a paper follows. The same inputs give the same id, so two copies of
one paper printed on the same day share it; each print is still its own record row.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..clock import print_date
from ..errors import HandoutsError

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DIGEST_ALPHABET = _CROCKFORD  # what a digest's characters are
DIGEST_CHARS = 8  # how many: an id ends in them
PATTERN = re.compile(r"(?P<code>[A-Z])-(?P<locale>[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)-"
                      r"(?P<content>[0-9A-Za-z.]+)-(?P<label>\d{4})-(?P<digest>[0-9A-HJKMNP-TV-Z]{8})")


@dataclass(frozen=True)
class DocumentId:
    document: str
    locale: str
    content_version: str
    label: str  # YYMM
    digest: str

    def __str__(self) -> str:
        return f"{_code(self.document)}-{self.locale}-{self.content_version}-{self.label}-{self.digest}"


def _code(document: str) -> str:
    from .. import registry
    code = registry.get(document).id_code
    if not code:
        raise HandoutsError("document.unknown", "document", {"value": document, "choices": tuple(
            n for n, s in registry.DOCUMENTS.items() if s.id_code)})
    return code


_FROM_RFC4648 = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _CROCKFORD.encode("ascii"))


def _base32(data: bytes, chars: int) -> str:
    """The first `chars` digits of data read 5 bits at a time (big-endian): RFC 4648's
    base32 in Crockford's digits."""
    return base64.b32encode(data)[:chars].translate(_FROM_RFC4648).decode("ascii")


def inputs_digest(inputs: Mapping[str, Any]) -> str:
    """A digest of the inputs that made a document (JSON-able values; dates as ISO)."""
    text = json.dumps(inputs, sort_keys=True, ensure_ascii=False, default=_json_default)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"not an input value: {type(value).__name__}")


def document_id(document: str, locale: str, content_version: str, label_revised: dt.date,
                inputs: Mapping[str, Any] | str) -> DocumentId:
    """`inputs`: the mapping of every input, or its inputs_digest()."""
    _code(document)
    digest = inputs if isinstance(inputs, str) else inputs_digest(inputs)
    label = f"{label_revised.year % 100:02d}{label_revised.month:02d}"
    return DocumentId(document, locale, content_version, label,
                      _base32(bytes.fromhex(digest)[:5], DIGEST_CHARS))


_MODEL_DIGESTS: dict[int, tuple[Any, str]] = {}


def _model_digest(model: Any) -> str:
    """A digest of the whole content model (facts, lists, sources, approval): kept per
    model object, as a render asks for it once per document."""
    hit = _MODEL_DIGESTS.get(id(model))
    if hit is None or hit[0] is not model:
        if len(_MODEL_DIGESTS) > 16:
            _MODEL_DIGESTS.clear()
        hit = _MODEL_DIGESTS[id(model)] = (model, model.digest())
    return hit[1]


def _inputs(document: str, locale: str, medium: str, model: Any, identity: str | None, also: str | None,
            large_print: bool, when: dt.date | None) -> dict[str, Any]:
    return {
        "document": document, "locale": locale, "medium": medium,
        "also": also if also and also != locale else None, "large_print": large_print,
        "patient": identity, "content": _model_digest(model), "date": when or print_date(),
    }


def of(document: str, locale: str, medium: str, model: Any, patient: Any = None, also: str | None = None,
       large_print: bool = False, when: dt.date | None = None) -> DocumentId:
    """The id a document prints: what it is (document, locale, paper or card format, a
    second language, large print), for whom (the patient's fields), what it says (the
    content model) and when (the print date). The same paper printed twice that day
    shares it; a card on a sheet has the id of the same card printed alone. The
    engines, layouts and catalogs are not inputs: a new version of them on the same day
    prints the same facts, and the record keeps each print's PDF digest besides."""
    inputs = _inputs(document, locale, medium, model, patient.identity() if patient is not None else None, also,
                     large_print, when)
    return document_id(document, locale, model.meta.content_version, model.meta.label_revised, inputs)


class Ids:
    """str(of(...)) for many patients and the same other inputs (a sheet of cards): what
    they share is written once. The patient's identity is the last of the sorted inputs,
    so the text each id digests is the shared text with the identity in place of null."""

    def __init__(self, document: str, locale: str, medium: str, model: Any, also: str | None = None,
                 large_print: bool = False, when: dt.date | None = None):
        self._of = lambda patient: str(of(document, locale, medium, model, patient, also, large_print, when))
        shared = json.dumps(_inputs(document, locale, medium, model, None, also, large_print, when), sort_keys=True,
                            ensure_ascii=False, default=_json_default)
        self._none = shared
        # None: an input sorts after the patient (then each id is of()'s).
        self._before = shared[:-len("null}")] if shared.endswith(', "patient": null}') else None
        blank = document_id(document, locale, model.meta.content_version, model.meta.label_revised, "0" * 64)
        self._head = str(blank)[:-DIGEST_CHARS]

    def __call__(self, patient: Any) -> str:
        if self._before is None:
            return self._of(patient)
        text = self._none if patient is None else f'{self._before}"{patient.identity()}"}}'
        return self._head + _base32(hashlib.sha256(text.encode("utf-8")).digest()[:5], DIGEST_CHARS)


def parse(text: str) -> DocumentId | None:
    """A document id as typed from paper (case and surrounding space forgiven), or None."""
    m = PATTERN.fullmatch(text.strip())
    if m is None:
        # Typed in lower case: the code and digest are upper case, the locale keeps its case.
        head, _, rest = text.strip().partition("-")
        m = PATTERN.fullmatch(head.upper() + "-" + rest[:-DIGEST_CHARS] + rest[-DIGEST_CHARS:].upper()) \
            if rest else None
        if m is None:
            return None
    from .. import registry
    document = next((d for d, s in registry.DOCUMENTS.items() if s.id_code and s.id_code == m["code"]), None)
    if document is None:
        return None
    return DocumentId(document, m["locale"], m["content"], m["label"], m["digest"])
