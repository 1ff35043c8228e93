"""Patients from a FHIR R4 Bundle, as an EHR exports them.

Read with fhir.resources' R4B models (its default models are R5 and refuse a typical R4
MedicationRequest; R4B has the same shape as R4 for every resource read here). Only
the resources that make a patient are validated: Patient, MedicationRequest,
MedicationAdministration, Medication, Practitioner, PractitionerRole, CareTeam and
Organization. Anything else an export carries (Encounters, Observations, Coverage,
extensions) is ignored unread.

For each Patient:
- the first dose: the earliest administration of the drug (status completed,
  in-progress, on-hold or stopped), else the earliest planned date of a MedicationRequest
  for it (marked "planned" for confirmation); the drug is recognised by an NDC of its
  cartons (the content model's [codes]), an RxNorm code the clinic lists in its settings,
  or its generic or brand name in a coding's display or the concept's text (both from the
  content model);
- the oncologist: the care team's participant whose role names oncology, else the
  practitioner who requested the drug; the 24-hour phone: the care team's phone,
  else the oncologist's, else the managing organization's; the treatment center: the
  care team's managing organization, else the patient's;
- the language: Patient.communication (preferred first), matched by CLDR language and
  script with the locales this tool prints (zh-TW -> zh-Hant, zh -> zh-Hans);
- the medical record number: the identifier typed MR (v2-0203).
A value that is present but unusable is that patient's error, naming the resource and
the field; a value that is absent leaves the field empty, as in a CSV row.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import HandoutsError

FIELD = "patients"  # the option a bundle comes in by (--patients)
MAX_BUNDLE_BYTES = 64 * 1024 * 1024
MAX_PATIENTS = 10_000  # as many as a CSV list may hold

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NDC = "http://hl7.org/fhir/sid/ndc"
BCP47 = "urn:ietf:bcp:47"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
ADMINISTERED = {"completed", "in-progress", "on-hold", "stopped"}
REQUESTED = {"active", "on-hold", "completed", "draft"}

_MODELS = {
    "Patient": "patient", "MedicationRequest": "medicationrequest",
    "MedicationAdministration": "medicationadministration", "Medication": "medication",
    "Practitioner": "practitioner", "PractitionerRole": "practitionerrole", "CareTeam": "careteam",
    "Organization": "organization",
}


def _model(resource_type: str):
    import importlib
    module = importlib.import_module(f"fhir.resources.R4B.{_MODELS[resource_type]}")
    return getattr(module, resource_type)


@dataclass
class ImportedPatient:
    """One Patient of the bundle: the patient record made from it, or the error."""
    where: str  # "bundle.json Patient/abc"
    patient: Any = None  # handouts.patient.Patient
    error: HandoutsError | None = None
    fhir_id: str | None = None
    mrn: str | None = None
    mrn_system: str | None = None
    first_dose_status: str | None = None  # "administered" | "planned" | None
    sources: dict[str, str] = field(default_factory=dict)  # field -> "Type/id element"


class _Refused(Exception):
    """A value of one resource that cannot be used: the resource ("Type/id"), the
    element (its FHIR path) and the error code; the bundle's name is added on the way out."""

    def __init__(self, where: str, field: str, code: str, **params: Any):
        super().__init__(where, field, code)
        self.where, self.field, self.code, self.params = where, field, code, params

    def error(self, source: str) -> HandoutsError:
        return HandoutsError(self.code, self.field, self.params, where=f"{source} {self.where}")


def _label(res) -> str:
    return f"{res.get_resource_type()}/{res.id or '?'}"


# -- recognising the drug --------------------------------------------------------------

def _ndc_forms(code: str) -> set[str]:
    """An NDC as labeler-product-package in every form EHRs send: 10 digits with
    hyphens (5-3-2 and friends), and the 11-digit 5-4-2 form, with or without hyphens."""
    code = code.strip()
    parts = code.split("-")
    forms = {code, code.replace("-", "")}
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        eleven = f"{parts[0]:0>5}{parts[1]:0>4}{parts[2]:0>2}"
        forms |= {eleven, f"{eleven[:5]}-{eleven[5:9]}-{eleven[9:]}"}
    return forms


@dataclass(frozen=True)
class DrugMatcher:
    names: tuple[str, ...]
    ndc: frozenset[str]
    rxnorm: frozenset[str]

    @classmethod
    def for_model(cls, model, rxnorm: Iterable[str] = (), ndc: Iterable[str] = ()) -> DrugMatcher:
        shipped = model.codes  # the content pack's [codes]
        generic = model.meta.drug.split("-")[0]  # an INN's suffix ("-dlle") is written or left out
        forms: set[str] = set()
        for code in (*shipped.ndc, *ndc):
            forms |= _ndc_forms(code)
        return cls((generic.casefold(), model.meta.brand.casefold()), frozenset(forms),
                   frozenset(c.strip() for c in (*shipped.rxnorm, *rxnorm)))

    def concept(self, cc) -> bool:
        if cc is None:
            return False
        texts = [cc.text or ""]
        for c in cc.coding or ():
            if c.system == NDC and c.code and _ndc_forms(c.code) & self.ndc:
                return True
            if c.system == RXNORM and c.code and c.code.strip() in self.rxnorm:
                return True
            texts.append(c.display or "")
        return any(name in t.casefold() for t in texts for name in self.names)


# -- the bundle ---------------------------------------------------------------------

class _Index:
    """The bundle's resources by Type/id (and fullUrl), each validated on first use."""

    def __init__(self, entries: list[tuple[int, str | None, dict]], source: str):
        self.source = source
        self.raw: dict[str, tuple[int, dict]] = {}  # key "Type/id" -> (entry number, JSON)
        self.names: dict[str, str] = {}  # "Type/id" or a fullUrl -> key
        self.by_type: dict[str, list[str]] = {}
        self._parsed: dict[str, Any] = {}
        for i, full_url, res in entries:
            rtype, rid = res["resourceType"], res.get("id")  # read_bundle kept only entries with one
            key = f"{rtype}/{rid}" if rid else f"{rtype}/#entry{i}"
            self.raw[key] = (i, res)
            self.names[key] = key
            if full_url:
                self.names.setdefault(full_url, key)
            self.by_type.setdefault(rtype, []).append(key)

    def get(self, key: str):
        key = self.names.get(key, key)
        parsed = self._parsed.get(key)
        if parsed is not None:
            return parsed
        i, res = self.raw[key]
        rtype = res["resourceType"]
        try:
            parsed = _model(rtype).model_validate(res)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            raise _Refused(f"{rtype}/{res.get('id') or '?'} (entry {i})", loc, "fhir.invalid", detail=msg) from None
        self._parsed[key] = parsed
        return parsed

    def all(self, rtype: str) -> list:
        return [self.get(k) for k in self.by_type.get(rtype, [])]

    def resolve(self, ref, owner, where_field: str, contained: Iterable = ()):
        """The resource a Reference points to, or a refusal naming the field."""
        if ref is None or not ref.reference:
            return None
        text = ref.reference
        if text.startswith("#"):
            for c in contained:
                if c.id == text[1:]:
                    return c
            raise _Refused(_label(owner), where_field, "fhir.contained_missing", ref=text)
        candidates = [text]
        if "://" in text or text.count("/") > 1:
            candidates.append("/".join(text.rstrip("/").split("/")[-2:]))
        for c in candidates:
            if c in self.names:
                return self.get(c)
        raise _Refused(_label(owner), where_field, "fhir.reference_missing", ref=text)


def read_bundle(path: Path, settings=None, model=None) -> list[ImportedPatient]:
    """Every Patient of a bundle file with its patient record or its error. A file that
    is not a FHIR Bundle is one error for the whole file (field --patients)."""
    from ..patient import decode, read_bounded
    data = decode(read_bounded(path, MAX_BUNDLE_BYTES, FIELD), path.name, "--patients")
    try:
        bundle = json.loads(data)
    except json.JSONDecodeError as exc:
        raise HandoutsError("fhir.not_json", FIELD, {"line": exc.lineno, "detail": exc.msg}, where=path.name) from None
    return parse_bundle(bundle, settings, model, source=path.name)


def parse_bundle(bundle: Any, settings=None, model=None, source: str = "bundle") -> list[ImportedPatient]:
    from .. import content
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise HandoutsError("fhir.not_bundle", "resourceType", where=source)
    raw_entries = bundle.get("entry") or []
    if not isinstance(raw_entries, list):
        raise HandoutsError("fhir.entry_not_list", "Bundle.entry", where=source)
    entries = []
    for i, e in enumerate(raw_entries):
        res = e.get("resource") if isinstance(e, dict) else None
        if not isinstance(res, dict) or not isinstance(res.get("resourceType"), str):
            raise HandoutsError("fhir.entry_no_resource", f"Bundle.entry[{i}]", where=source)
        if res["resourceType"] in _MODELS:
            full = e.get("fullUrl")
            entries.append((i, full if isinstance(full, str) else None, res))
    index = _Index(entries, source)
    model = model or content.default()
    fhir = settings
    matcher = DrugMatcher.for_model(model, getattr(fhir, "rxnorm", ()), getattr(fhir, "ndc", ()))
    patients = index.by_type.get("Patient", [])
    if not patients:
        raise HandoutsError("fhir.no_patient", "Bundle.entry", where=source)
    if len(patients) > MAX_PATIENTS:
        raise HandoutsError("fhir.too_many_patients", FIELD, {"file": source, "max": MAX_PATIENTS})
    links = _links(index)
    out: list[ImportedPatient] = []
    for key in patients:
        i, raw = index.raw[key]
        item = ImportedPatient(where=f"{source} Patient/{raw.get('id') or '?'}", fhir_id=raw.get("id"))
        try:
            _fill(item, index.get(key), index, links.get(key, {}), matcher)
        except _Refused as err:
            item.error = err.error(source)
        except HandoutsError as err:
            item.error = err
        out.append(item)
    _duplicates(out)
    return out


def _links(index: _Index) -> dict[str, dict[str, list[str]]]:
    """For each Patient key: the keys of the resources whose subject it is (read from
    the raw JSON, so an unrelated malformed resource stays unread)."""
    links: dict[str, dict[str, list[str]]] = {}
    patient_keys = set(index.by_type.get("Patient", []))
    for rtype in ("MedicationRequest", "MedicationAdministration", "CareTeam"):
        for key in index.by_type.get(rtype, []):
            ref = (index.raw[key][1].get("subject") or {}).get("reference") if isinstance(
                index.raw[key][1].get("subject"), dict) else None
            target = _patient_key_of(ref, index, patient_keys)
            if target:
                links.setdefault(target, {}).setdefault(rtype, []).append(key)
    return links


def _patient_key_of(ref: str | None, index: _Index, patient_keys: set[str]) -> str | None:
    if not ref:
        return None
    key = index.names.get(ref)
    if key is not None:
        return key if key in patient_keys else None
    tail = "/".join(ref.rstrip("/").split("/")[-2:])
    return tail if tail in patient_keys else None


# -- one patient --------------------------------------------------------------------

def _fill(item: ImportedPatient, pat, index: _Index, linked: dict[str, list[str]], matcher: DrugMatcher) -> None:
    from ..patient import from_mapping
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    label = _label(pat)

    name = _name(pat.name)
    if name:
        values["name"], sources["name"] = name, f"{label} name"
    item.mrn, item.mrn_system = _mrn(pat)
    code = _locale(pat)
    if code:
        values["locale"], sources["locale"] = code, f"{label} communication"

    requests = [r for r in (index.get(k) for k in linked.get("MedicationRequest", []))
                if _is_the_drug(r, index, matcher)]
    given = [a for a in (index.get(k) for k in linked.get("MedicationAdministration", []))
             if _is_the_drug(a, index, matcher)]
    if not requests and not given:
        raise _Refused(label, "", "fhir.no_drug", drug=matcher.names[0])
    first, where, status = _first_dose(given, requests)
    if first:
        values["first_dose"], sources["first_dose"] = first.isoformat(), where
        item.first_dose_status = status

    team = _care_team(index, linked.get("CareTeam", []))
    oncologist, onc_where = _oncologist(team, requests, index)
    if oncologist is not None:
        text = _name(oncologist.name if hasattr(oncologist, "name") else None)
        if text:
            values["oncologist"], sources["oncologist"] = text, onc_where
    phone = None
    for holder, what in ((team, "telecom"), (oncologist, "telecom")):
        phone = _phone(holder)
        if phone:
            values["phone"], sources["phone"] = phone, f"{_label(holder)} {what}"
            break
    org = None
    if team is not None and team.managingOrganization:
        org = index.resolve(team.managingOrganization[0], team, "managingOrganization[0]")
    if org is None and pat.managingOrganization is not None:
        org = index.resolve(pat.managingOrganization, pat, "managingOrganization")
    if org is not None:
        if org.name:
            values["treatment_center"], sources["treatment_center"] = org.name, f"{_label(org)} name"
        if "phone" not in values:
            phone = _phone(org)
            if phone:
                values["phone"], sources["phone"] = phone, f"{_label(org)} telecom"

    # Each value is checked as the patient file checks it; an error names its source.
    for name_, value in values.items():
        try:
            from_mapping({name_: value}, "x")
        except HandoutsError as err:
            err.where = f"{index.source} {sources[name_]}"  # the bundle, the resource and its element
            raise
    item.patient = from_mapping(values, item.where)
    item.sources = sources


def _name(names) -> str | None:
    """A HumanName as people write it: its text, else prefix, given and family names
    (family first, without spaces, for a name written in Chinese characters)."""
    if not names:
        return None
    ranked = sorted(names, key=lambda n: {"usual": 0, "official": 1}.get(n.use or "", 2))
    for n in ranked:
        if n.use in ("old", "anonymous"):
            continue
        if n.text and n.text.strip():
            return n.text.strip()
        given = [g for g in (n.given or []) if g]
        family = n.family or ""
        if not given and not family:
            continue
        if any("\u3400" <= ch <= "\u9fff" for ch in family + "".join(given)):
            return family + "".join(given)
        return " ".join([*(n.prefix or []), *given, family]).strip()
    return None


def _mrn(pat) -> tuple[str | None, str | None]:
    for ident in pat.identifier or ():
        types = ident.type.coding if ident.type and ident.type.coding else []
        if any(c.system == V2_0203 and c.code == "MR" for c in types) and ident.value and ident.use != "old":
            return ident.value, ident.system
    return None, None


def _locale(pat) -> str | None:
    from .. import locales
    comms = sorted(pat.communication or (), key=lambda c: not c.preferred)
    if not comms:
        return None
    available = list(locales.available())
    have = {_language_script(code): code for code in available}
    tags: list[str] = []
    for c in comms:
        tags.extend(cd.code for cd in (c.language.coding or ()) if cd.code and cd.system in (BCP47, None))
    for tag in tags:
        code = have.get(_language_script(tag))
        if code:
            return code
    raise _Refused(_label(pat), "communication", "fhir.no_language", tags=tuple(tags) or ("none",),
                   choices=tuple(available))


def _language_script(tag: str) -> tuple[str, str | None] | None:
    """(language, script), the script from CLDR's likely subtags where the tag has none
    (zh-TW -> Hant, zh -> Hans). The counter page negotiates Accept-Language the same way."""
    from babel import Locale, UnknownLocaleError
    from babel.core import get_global
    try:
        loc = Locale.parse(tag.replace("_", "-"), sep="-")
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    script = loc.script
    if script is None:
        likely = get_global("likely_subtags")
        found = likely.get(str(loc)) or likely.get(loc.language)
        script = Locale.parse(found).script if found else None
    return loc.language, script


def _is_the_drug(res, index: _Index, matcher: DrugMatcher) -> bool:
    if matcher.concept(res.medicationCodeableConcept):
        return True
    med = index.resolve(res.medicationReference, res, "medicationReference", res.contained or ())
    return med is not None and matcher.concept(med.code)


def _when(value) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()  # the local date as the EHR wrote it (its own offset)
    if isinstance(value, dt.date):
        return value
    return None


def _first_dose(given: list, requests: list) -> tuple[dt.date | None, str, str | None]:
    done = []
    for a in given:
        if a.status not in ADMINISTERED:
            continue
        if a.effectiveDateTime is not None:
            done.append((_when(a.effectiveDateTime), f"{_label(a)} effectiveDateTime"))
        elif a.effectivePeriod is not None and a.effectivePeriod.start is not None:
            done.append((_when(a.effectivePeriod.start), f"{_label(a)} effectivePeriod.start"))
        else:
            raise _Refused(_label(a), "effective[x]", "fhir.no_date")
    if done:
        day, where = min(done)
        return day, where, "administered"
    planned = []
    for r in requests:
        if r.status not in REQUESTED:
            continue
        for i, d in enumerate(r.dosageInstruction or ()):
            timing = d.timing
            if timing is None:
                continue
            for j, ev in enumerate(timing.event or ()):
                planned.append((_when(ev), f"{_label(r)} dosageInstruction[{i}].timing.event[{j}]"))
            bounds = timing.repeat.boundsPeriod if timing.repeat else None
            if bounds is not None and bounds.start is not None:
                planned.append((_when(bounds.start),
                                f"{_label(r)} dosageInstruction[{i}].timing.repeat.boundsPeriod.start"))
    planned = [p for p in planned if p[0] is not None]
    if planned:
        day, where = min(planned)
        return day, where, "planned"
    return None, "", None


def _care_team(index: _Index, keys: list[str]):
    teams = [t for t in (index.get(k) for k in keys) if t.status not in ("inactive", "entered-in-error")]
    teams.sort(key=lambda t: t.status != "active")
    return teams[0] if teams else None


def _oncologist(team, requests: list, index: _Index):
    if team is not None:
        for i, part in enumerate(team.participant or ()):
            roles = part.role or []
            words = " ".join([r.text or "" for r in roles] + [c.display or "" for r in roles for c in r.coding or ()])
            if "oncolog" in words.casefold() and part.member is not None:
                member = index.resolve(part.member, team, f"participant[{i}].member")
                if member is not None and member.get_resource_type() == "PractitionerRole":
                    member = index.resolve(member.practitioner, member, "practitioner")
                if member is not None and member.get_resource_type() == "Practitioner":
                    return member, f"{_label(team)} participant[{i}]"
    for r in requests:
        who = index.resolve(r.requester, r, "requester")
        if who is not None and who.get_resource_type() == "PractitionerRole":
            who = index.resolve(who.practitioner, who, "practitioner")
        if who is not None and who.get_resource_type() == "Practitioner":
            return who, f"{_label(r)} requester"
    return None, ""


def _phone(holder) -> str | None:
    if holder is None:
        return None
    phones = [t for t in (getattr(holder, "telecom", None) or ()) if t.system == "phone" and t.value
              and t.use != "old"]
    phones.sort(key=lambda t: (t.rank or 1_000_000, t.use != "work"))
    return phones[0].value.strip().removeprefix("tel:") if phones else None


def _duplicates(items: list[ImportedPatient]) -> None:
    """The same patient twice (same MRN, or the same fields) is that entry's error."""
    seen: dict[Any, str] = {}
    for item in items:
        if item.patient is None:
            continue
        key = ("mrn", item.mrn_system, item.mrn) if item.mrn else ("fields", item.patient)
        if key in seen:
            item.error = HandoutsError("fhir.duplicate_patient", "", {"other": seen[key]}, where=item.where)
            item.patient = None
        else:
            seen[key] = item.where


# -- a bundle as a patient list -------------------------------------------------------

@dataclass
class BundleRows:
    """A bundle read as a patient list (a patient.RowSource): each Patient one row, in
    the bundle's order, so a bundle goes wherever a CSV list goes and is checked by the
    same code. A Patient the importer could not use is that row's error (`errors`)."""
    name: str
    items: list[ImportedPatient]

    @classmethod
    def read(cls, path: Path, settings=None, model=None) -> BundleRows:
        return cls(path.name, read_bundle(path, settings, model))

    def header(self) -> list[str]:
        from ..patient import FIELDS
        return list(FIELDS)

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        from ..patient import FIELDS
        for number, item in enumerate(self.items, 1):
            if item.patient is not None:
                values = (getattr(item.patient, f) for f in FIELDS)
                yield number, ["" if v is None else v.isoformat() if isinstance(v, dt.date) else str(v)
                               for v in values]

    @property
    def errors(self) -> list[tuple[int, HandoutsError]]:
        return [(n, item.error) for n, item in enumerate(self.items, 1) if item.error is not None]

    def where(self, row: int) -> str:
        """How messages name a row: the bundle and the Patient ("b.json Patient/p1")."""
        return self.items[row - 1].where

    def imported(self, row: int) -> ImportedPatient:
        return self.items[row - 1]
