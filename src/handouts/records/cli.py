"""`handouts recall` and `handouts record ...`: the print record on the command line.
Registered on the main group by handouts.cli; imports the database layer only when a
command runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

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


def _names_from(patients_file: Path | None, settings, default_locale: str = "en") -> dict[str, str]:
    """Names for the keys of a patient list (CSV) or FHIR bundle the clinic still has:
    the record holds keys; the list tells staff who they are."""
    if patients_file is None:
        return {}
    from .keys import load_key, patient_key
    secret = load_key(settings.record.key_path(), create=False)
    names: dict[str, str] = {}
    if patients_file.suffix.lower() == ".json":
        from ..fhir import read_bundle
        for item in read_bundle(patients_file, settings.fhir):
            if item.patient is not None:
                names[patient_key(item.patient, secret, item.mrn, item.mrn_system).value] = item.patient.name or ""
        return names
    from ..patient import Patient, load_csv
    for _, p in load_csv(patients_file):
        if isinstance(p, Patient):
            names[patient_key(p, secret).value] = p.name or ""
    return names


@click.command("recall")
@click.option("--record-db", "db", default=None, help=_DB_HELP)
@click.option("--csv", "as_csv", is_flag=True, help="one row per changed fact of each outdated document, as CSV")
@click.option("--patients", "patients_file", type=click.Path(path_type=Path), default=None,
              help="a patient list (CSV) or FHIR bundle: show names for the patients it has")
@click.option("--mrn", default=None, help="only this patient (medical record number, as SYSTEM|VALUE or VALUE)")
def recall_cmd(db, as_csv, patients_file, mrn) -> None:
    """List the patients whose latest documents printed a fact that has changed since
    (value or wording), which documents, and what changed. Exit code 1 if any."""
    from .. import content
    from .recalls import as_csv as to_csv
    from .recalls import as_table, recall
    record, settings = _open(db)
    with record:
        key = _mrn(mrn).value if mrn else None
        results = recall(record, content.default(), key)
    names = _names_from(patients_file, settings)
    click.echo(to_csv(results, names) if as_csv else as_table(results, names), nl=False)
    if results:
        raise SystemExit(1)


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
        patients, prints = record.prune(before.replace(tzinfo=dt.timezone.utc))
    click.echo(f"forgot {patients} patient(s); deleted {prints} print(s)")
