"""`handouts recall` and `handouts record ...`: the print record on the command line.
Registered on the main group by handouts.cli; imports the database layer only when a
command runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click

from ..errors import HandoutsError

_DB_HELP = "the print record: a file path or postgresql:// URL (default: the settings file's, else " \
           "~/.local/share/handouts/record.sqlite3)"


def _settings():
    from . import config
    return config.load()


def _open(db: str | None, create: bool = False, upgrade: bool = False):
    from .store import Record
    settings = _settings()
    return Record.open(db or settings.record.target(), create=create, upgrade=upgrade), settings


def _known(patients_file: Path | None, settings, date_order: str | None = None) -> dict[str, Any]:
    """The patients of a list (CSV, .xlsx) or FHIR bundle the clinic still has, by patient
    key (records.recorder.Who): the record holds keys; the list says who they are. Its
    dates are read as `handouts batch` reads them (`date_order`, else English's)."""
    if patients_file is None:
        return {}
    from ..patient import Patient, read_patients
    from ..request import DEFAULT_LOCALE, ListFile, list_columns
    from .keys import load_key, patient_key
    from .recorder import Who
    source = ListFile(patients_file)
    secret = load_key(settings.record.key_path(), create=False)
    known: dict[str, Any] = {}
    for row, p in read_patients(source, list_columns(DEFAULT_LOCALE, date_order)):
        if isinstance(p, Patient):
            item = source.imported(row)
            who = Who(p, item.mrn, item.mrn_system, item.fhir_id) if item is not None else Who(p)
            known[patient_key(p, secret, who.mrn, who.mrn_system).value] = who
    return known


def _kept(record, keys) -> dict[str, Any]:
    """Patients whose details the record keeps (keep_patient_details = true)."""
    from ..patient import from_mapping
    from .recorder import Who
    return {key: Who(from_mapping(fields, "the print record")) for key, fields in record.details(keys).items()}


@click.command("recall")
@click.option("--record-db", "db", default=None, help=_DB_HELP)
@click.option("--csv", "as_csv", is_flag=True, help="one row per changed fact of each outdated document, as CSV")
@click.option("--patients", "patients_file", type=click.Path(path_type=Path), default=None,
              help="a patient list (CSV, .xlsx) or FHIR bundle (.json): show their names; with --reprint, whom to "
                   "print for")
@click.option("--date-order", "date_order", type=click.Choice(("MDY", "DMY", "YMD"), case_sensitive=False),
              default=None, help="with --patients: how the list writes dates, as given to `handouts batch`")
@click.option("--file-names", "file_names", type=click.Choice(("full", "initials")), default="full",
              show_default=True, help="with --reprint: the patient folders' names, as given to `handouts batch`")
@click.option("--mrn", default=None, help="only this patient (medical record number, as SYSTEM|VALUE or VALUE)")
@click.option("--document", "document_id", default=None,
              help="only the document with this id, as printed in its footer (is this paper current?)")
@click.option("--reprint", is_flag=True,
              help="print the outdated documents again (into --out, as `handouts batch` does) and record them")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("out"),
              help="with --reprint: the output folder (default: out)")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=0, help="with --reprint: parallel processes")
@click.option("--fhir-out", "fhir_out", type=click.Path(path_type=Path), default=None,
              help="with --reprint: a FHIR DocumentReference (relatesTo: replaces) per reprint into this folder")
def recall_cmd(db, as_csv, patients_file, date_order, file_names, mrn, document_id, reprint, out_dir, jobs,
               fhir_out) -> None:
    """List the patients whose latest documents printed a fact that has changed since
    (value or wording), which documents, and what changed. Exit code 1 if any (with
    --reprint: if any could not be printed again)."""
    from .. import content
    from .recalls import as_csv as to_csv
    from .recalls import as_table, recall
    model = content.default()
    record, settings = _open(db)
    with record:
        key = _mrn(mrn).value if mrn else None
        results = recall(record, model, key)
        if document_id is not None:
            results = _only_document(record, results, document_id)
        known = _known(patients_file, settings, date_order.upper() if date_order else None)
        if reprint:
            keys = [r.patient_key for r in results if r.patient_key and r.patient_key not in known]
            known = {**_kept(record, keys), **known}
    names = {k: w.patient.name or "" for k, w in known.items()}
    click.echo(to_csv(results, names) if as_csv else as_table(results, names), nl=False)
    if reprint and results:
        raise SystemExit(_reprint(results, known, model, db, out_dir, jobs, fhir_out, file_names))
    if results:
        raise SystemExit(1)


def _only_document(record, results, document_id: str):
    """The recall of one printed document, its id read off its footer: listed if it is
    outdated, nothing if it is current; an error if the record has no such print."""
    from . import docid
    parsed = docid.parse(document_id)
    if parsed is None or not record.by_document_id(str(parsed)):
        raise HandoutsError("record.no_document", "document", {"id": document_id.strip()})
    wanted = str(parsed)
    out = []
    for r in results:
        kept = [o for o in r.outdated if o.print.document_id == wanted]
        if kept:
            r.outdated = kept
            out.append(r)
    return out


def _reprint(results, known, model, db, out_dir: Path, jobs: int, fhir_out: Path | None,
             file_names: str = "full") -> int:
    """Print the outdated documents again; report those no patient was found for."""
    from ..output import ensure_writable_dir
    from ..progress import Reporter
    from . import reprint
    from .recalls import reprint_plan
    from .recorder import Recorder
    plan, missing = reprint_plan(results, {k: w.patient for k, w in known.items()})
    ensure_writable_dir(out_dir)
    with Recorder.open(db or _settings().record.target(), "recall", model, fhir_out=fhir_out) as recorder:
        for w in known.values():
            recorder.knows(w.patient, w)
        work = reprint.plan(plan, out_dir, model, file_names)
        reporter = Reporter(len(work))
        with reporter:
            done = reprint.run(work, out_dir, recorder, jobs, on_result=reporter.update)
        reporter.summary(done, [])
    from ..build import warn
    warn([HandoutsError("record.not_reprinted", "patients", {"key": key}) for key in missing])
    failed = [r for r in done if r.status == "failed"]
    return 1 if missing or failed else 0


def _mrn(text: str):
    from .keys import mrn_key
    system, sep, value = text.rpartition("|")
    return mrn_key(value if sep else text, system if sep else None)


@click.group("record")
def record_group() -> None:
    """The print record: upgrade its schema, show what it holds, forget a patient."""


@record_group.command("info")
@click.option("--record-db", "db", default=None, help=_DB_HELP)
def info_cmd(db) -> None:
    """Where the record is, its schema, and how many prints and patients it holds."""
    from .store import describe
    record, settings = _open(db)
    with record:
        counts = record.counts()
    click.echo(f"record: {describe(record.url)}")
    click.echo(f"key file: {settings.record.key_path()}")
    click.echo(f"patient details kept: {'yes' if settings.record.keep_patient_details else 'no'}")
    for name, n in counts.items():
        click.echo(f"{name.replace('_', ' ')}: {n}")


@record_group.command("upgrade")
@click.option("--record-db", "db", default=None, help=_DB_HELP)
def upgrade_cmd(db) -> None:
    """Bring the record's schema up to this version of handouts (back it up first)."""
    from .store import describe, head_revision
    record, _ = _open(db, create=True, upgrade=True)
    with record:
        click.echo(f"{describe(record.url)}: schema {head_revision()}")


@record_group.command("forget")
@click.option("--record-db", "db", default=None, help=_DB_HELP)
@click.option("--mrn", default=None, help="the patient's medical record number (SYSTEM|VALUE or VALUE)")
@click.option("--patient", "patient_file", type=click.Path(path_type=Path), default=None,
              help="the patient file (TOML) the documents were printed from")
@click.option("--key", "key", default=None, help="the patient key as `handouts recall --csv` shows it")
def forget_cmd(db, mrn, patient_file, key) -> None:
    """Delete everything the record holds about one patient."""
    given = [x for x in (mrn, patient_file, key) if x]
    if len(given) != 1:
        raise HandoutsError("record.forget_which", "mrn")
    record, settings = _open(db)
    if mrn:
        value = _mrn(mrn).value
    elif key:
        value = key.strip()
    else:
        from ..patient import load_toml
        from .keys import keyed_digest, load_key
        value = keyed_digest(load_toml(patient_file), load_key(settings.record.key_path(), create=False)).value
    with record:
        n = record.forget(value)
    click.echo(f"forgot {n} print(s) of one patient" if n else "the record holds nothing about this patient")


@record_group.command("prune")
@click.option("--record-db", "db", default=None, help=_DB_HELP)
@click.option("--before", "before", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="forget every patient not printed for since this date (YYYY-MM-DD)")
def prune_cmd(db, before) -> None:
    """Forget the patients whose latest print is older than a date (the clinic's
    retention period), and superseded stock prints older than it."""
    record, _ = _open(db)
    with record:
        patients, prints = record.prune(before.replace(tzinfo=dt.UTC))
    click.echo(f"forgot {patients} patient(s); deleted {prints} print(s)")
