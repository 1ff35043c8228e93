"""A FHIR DocumentReference (R4) for each printed document, written as a file for an
interface engine to pick up (no network).

Built and validated with fhir.resources' R4B DocumentReference, which has R4's shape.
- type: LOINC 34895-3 "Education note" (a document-scale LOINC code, the one C-CDA and
  IHE use for patient education sections);
- content.attachment: the PDF itself (base64), or, when the clinic serves its documents
  elsewhere, its URL with the size and SHA-1 hash R4 defines; its language and title;
- identifier: the document id printed on the paper; masterIdentifier: the print's uid;
- relatesTo: "replaces" the patient's previous print of the same document and language
  (a reprint), "transforms" the print it is a translation of;
- subject: the patient's MRN (a logical reference), and Patient/<id> where the patient
  came from a bundle.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from ..records.store import PrintRow

LOINC = "http://loinc.org"
EDUCATION_NOTE = ("34895-3", "Education note")


def document_title(document: str, drug: str | None = None) -> str:
    """How an EHR's document list names it: the drug's heading, then the document's record title.
    `drug`: the drug's name (default: the configured content pack's names.heading)."""
    from .. import registry
    if drug is None:
        from ..content import default
        drug = default().names.heading
    return f"{drug} {registry.get(document).record_title}"


@dataclass(frozen=True)
class Subject:
    """Who the document is about, as the EHR knows the patient."""
    mrn: str | None = None
    mrn_system: str | None = None
    fhir_id: str | None = None  # Patient.id from the bundle the patient came from
    display: str | None = None  # only when the clinic keeps names


CHANNELS = {"cli": "the command line", "batch": "a batch", "counter": "the pharmacy counter",
            "recall": "a recall reprint"}


def document_reference(row: PrintRow, pdf: bytes | None, *, html_lang: str, url: str | None = None,
                       subject: Subject | None = None, identifier_system: str = "urn:handouts:document-id",
                       drug: str | None = None):
    """The DocumentReference for one recorded print (a validated R4B model): the PDF
    inline, or with `url` (where the clinic serves it) only its size and hash. Without
    a PDF (a card printed on a sheet with other patients' cards) it describes the print
    and carries no copy. `drug`: the drug's name in titles (default: the configured
    content pack's)."""
    from fhir.resources.R4B.documentreference import DocumentReference
    title = document_title(row.document, drug)
    attachment: dict = {
        "contentType": "application/pdf", "language": html_lang,
        "title": f"{title} ({row.document_id})",
        "creation": row.printed_at.isoformat(timespec="seconds"),
    }
    if pdf is not None:
        attachment["size"] = len(pdf)
        attachment["hash"] = base64.b64encode(hashlib.sha1(pdf).digest()).decode("ascii")  # noqa: S324 - R4: SHA-1
        if url is not None:
            attachment["url"] = url
        else:
            attachment["data"] = base64.b64encode(pdf).decode("ascii")
    resource: dict = {
        "resourceType": "DocumentReference",
        "id": row.uid,
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{row.uid}"},
        "identifier": [{"system": identifier_system, "value": row.document_id}],
        "status": "current",
        "docStatus": "final",
        "type": {"coding": [{"system": LOINC, "code": EDUCATION_NOTE[0], "display": EDUCATION_NOTE[1]}],
                 "text": title},
        "date": row.printed_at.isoformat(timespec="seconds"),
        "description": f"{title}; content {row.content_version}, US prescribing information revised "
                       f"{row.label_revision}; printed from {CHANNELS[row.channel]}",
        "content": [{"attachment": attachment}],
    }
    if subject is not None:
        ref: dict = {"type": "Patient"}
        if subject.fhir_id:
            ref["reference"] = f"Patient/{subject.fhir_id}"
        if subject.mrn:
            ident = {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                     "value": subject.mrn}
            if subject.mrn_system:
                ident["system"] = subject.mrn_system
            ref["identifier"] = ident
        if subject.display:
            ref["display"] = subject.display
        if len(ref) > 1:
            resource["subject"] = ref
    relates = []
    if row.replaces:
        relates.append({"code": "replaces", "target": {"reference": f"DocumentReference/{row.replaces}"}})
    if row.translation_of:
        relates.append({"code": "transforms", "target": {"reference": f"DocumentReference/{row.translation_of}"}})
    if relates:
        resource["relatesTo"] = relates
    return DocumentReference.model_validate(resource)


def write(doc, out_dir: Path) -> Path:
    """Write a DocumentReference as DocumentReference-<id>.json in `out_dir`, atomically
    and only inside it (the batch's OutputDir)."""
    from ..output import OutputDir
    out = OutputDir(out_dir, field="--fhir-out").ensure()
    name = f"DocumentReference-{doc.id}.json"
    text = json.dumps(json.loads(doc.model_dump_json(exclude_none=True)), indent=2, ensure_ascii=False) + "\n"
    return out.write(name, text.encode("utf-8"))
