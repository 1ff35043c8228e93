"""The `handouts` command line."""

from __future__ import annotations

import contextlib
import os
import sys
import tomllib
from pathlib import Path

import click

from .clock import source_date_epoch
from .errors import EXIT_USAGE, HandoutsError, Interrupted

# Each command imports what it uses when it runs: `handouts list` and `--help` do not
# pay for the content model, babel, the card layout, ReportLab or the batch machinery
# (tests/test_lazy_imports.py).


class _OffsetMM(click.ParamType):
    """X,Y in millimetres, each -10 to 10 (a printer's duplex drift)."""
    name = "X,Y"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        parts = str(value).split(",")
        if len(parts) != 2:
            raise HandoutsError("option.offset_format", "duplex_offset", {"value": value})
        mm = click.FloatRange(-10, 10)
        return tuple(mm(p.strip(), param, ctx) for p in parts)


class _CopiesRange(click.IntRange):
    """1 to the card layout's MAX_COPIES: the bound is read when a value is checked (or
    the help shown), so that only a card command imports the card layout."""

    def __init__(self) -> None:
        super().__init__(1)

    @property
    def max(self) -> int:
        from .cardlayout import MAX_COPIES
        return MAX_COPIES

    @max.setter
    def max(self, value) -> None:  # IntRange.__init__ sets it; the card layout decides
        pass


def _print_version(ctx, param, value) -> None:
    """--version: the installed version (read from the package metadata only here)."""
    if not value or ctx.resilient_parsing:
        return
    from . import __version__
    click.echo(f"handouts, version {__version__}")
    ctx.exit()


def _not_empty(ctx, param, value):
    """An empty option value ("--locale ''") is a mistake, not "use the default"."""
    values = value if isinstance(value, tuple) else (value,)
    for v in values:
        if v is not None and not str(v).strip():
            raise HandoutsError("option.empty", param.opts[0].removeprefix("--").replace("-", "_"))
    return value


# How a patient list may write its dates besides ISO (patient.DATE_ORDERS, spelled here so
# that loading the command line does not load the patient model).
DATE_ORDERS = ("MDY", "DMY", "YMD")
FILE_NAMES = ("full", "initials")  # request.FILE_NAMES


# The language of error messages and warnings: English unless --lang (or HANDOUTS_LANG)
# names a locale (set by the group's option, read when a message is printed).
_LANG: list[str | None] = [None]


def _message_locale(ctx, param, value):
    value = value or os.environ.get("HANDOUTS_LANG") or None
    if value:
        from . import locales
        try:
            locales.get(value, "lang")
        except HandoutsError:
            raise HandoutsError("lang.unknown", "lang", {"value": value, "choices": tuple(locales.available())}) \
                from None
    _LANG[0] = value
    return value


def _content_pack(ctx, param, value):
    """--content: the content pack to print (a folder, or a shipped pack's name). It is
    passed on as HANDOUTS_CONTENT, so that batch workers print the same pack."""
    if value:
        from . import paths
        os.environ[paths.CONTENT_ENV] = value
        paths.content_pack()  # an unknown pack is refused here, naming the option
    return value


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show the version and exit.")
@click.option("--lang", default=None, expose_value=False, callback=_message_locale,
              help="language of error messages and warnings, e.g. zh-Hans (default: HANDOUTS_LANG, else en)")
@click.option("--content", default=None, expose_value=False, callback=_content_pack, metavar="PACK",
              help="content pack: a folder with a content.toml, or a shipped pack's name "
                   "(default: HANDOUTS_CONTENT, else the one shipped pack)")
def cli() -> None:
    """Print-ready, localized patient materials about a drug, from a reviewed, cited
    content pack (`handouts list` names it)."""


@cli.command("list")
def list_cmd() -> None:
    """Show the documents, locales and paper sizes available."""
    from . import locales, paths, registry
    # The pack's own words, read without validating the model (list stays fast).
    meta = tomllib.loads(paths.content_file().read_text(encoding="utf-8")).get("meta", {})
    click.echo(f"content: {meta.get('drug', '?')} ({meta.get('brand', '?')}), content version "
               f"{meta.get('content_version', '?')}, from {paths.content_pack()}")
    click.echo("documents:")
    for spec in registry.DOCUMENTS.values():
        sheets = f"; sheets: {', '.join(spec.sheets)}" if spec.sheets else ""
        click.echo(f"  {spec.name:<12} papers: {', '.join(spec.papers)}{sheets}  ({spec.description})")
    click.echo("locales:")
    for loc in locales.available().values():
        review = "reviewed" if loc.medical_review.reviewed else "not yet medically reviewed"
        click.echo(f"  {loc.code:<8} {loc.name} (default paper {loc.default_paper}; {review})")


@cli.command("build")
@click.argument("document")
@click.option("--locale", "locale", default=None, callback=_not_empty,
              help="en, zh-Hans, zh-Hant (default: the patient file's, else en)")
@click.option("--paper", default=None, callback=_not_empty, help="letter, a4, tabloid, a3 (default: the locale's)")
@click.option("--patient", "patient_file", type=click.Path(path_type=Path), default=None,
              help="patient file (TOML) for a personal document")
@click.option("--sample", is_flag=True, help="fill personal fields with the registry's sample values")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="output folder (default: out/<locale>)")
@click.option("--strict", is_flag=True, help="fail when a source is past its review date")
@click.option("--sheet", default=None, callback=_not_empty,
              help="impose cards on a sheet (wallet-card): letter-8up, a4-10up, avery-8371")
@click.option("--bleed", type=click.FloatRange(0, 5), default=None,
              help="with --sheet: mm of background past the cut, 0 to 5, e.g. 3")
@click.option("--duplex-offset", "duplex_offset", type=_OffsetMM(), default=None, metavar="X,Y",
              help="with --sheet: shift the backs X mm right and Y mm down (negative: left, up)")
@click.option("--copies", type=_CopiesRange(), default=None,
              help="with --sheet: cards per patient (default: a full sheet of one card, 1 per CSV row)")
@click.option("--patients", "patients_file", type=click.Path(path_type=Path), default=None,
              help="with --sheet: a patient list (CSV or .xlsx) with the patient file's fields, one "
                   "personalized card per row")
@click.option("--date-order", "date_order", type=click.Choice(DATE_ORDERS, case_sensitive=False), default=None,
              help="with --patients: how the list writes dates besides 2026-12-01 (default: the locale's, "
                   "en MDY, zh YMD)")
@click.option("--file-names", "file_names", type=click.Choice(FILE_NAMES), default="full", show_default=True,
              help="name a patient's file by the patient's name or only by its initials (with a digest either way)")
@click.option("--large-print", "large_print", is_flag=True, help="handout: all text at least 18 pt")
@click.option("--also", default=None, help="handout, wallet-card: a second locale on the same sheets, e.g. en")
@click.option("--record", is_flag=True, help="record what is printed in the print record (see handouts record info)")
@click.option("--record-db", "record_db", default=None, callback=_not_empty,
              help="the print record: a file path or postgresql:// URL (implies --record; default: the settings "
                   "file's)")
@click.option("--ics", is_flag=True, help="with --patient: also the dated schedule as a calendar file (.ics)")
@click.option("--fhir-out", "fhir_out", type=click.Path(path_type=Path), default=None,
              help="write a FHIR DocumentReference (JSON) for each document into this folder")
def build_cmd(document, locale, paper, patient_file, sample, out_dir, strict,
              sheet, bleed, duplex_offset, copies, patients_file, date_order=None, file_names="full",
              large_print=False, also=None, record=False, record_db=None, ics=False, fhir_out=None) -> None:
    """Render DOCUMENT and print the path of every file written."""
    from . import content, output, registry, staticcache
    from .build import review_warnings, warn, write
    from .patient import load_toml
    from .request import ListFile, Request, resolve
    spec = registry.get(document)
    if patients_file and (patient_file or sample):
        raise HandoutsError("option.list_and_patient", "patients")
    patient = load_toml(patient_file) if patient_file else (spec.sample_patient() if sample else None)
    req = Request(document, locale, paper, sheet=sheet, also=also, large_print=large_print, patient=patient,
                  rows=ListFile(patients_file) if patients_file else None, copies=copies, bleed=bleed,
                  duplex_offset=tuple(duplex_offset) if duplex_offset else None,
                  date_order=date_order.upper() if date_order else None, file_names=file_names,
                  patient_where=patient_file.name if patient_file else "patient", record=record,
                  record_db=record_db, ics=ics)
    model = content.default()
    res = resolve(req, model)
    out_dir = out_dir or (Path("out") if req.rows is not None else Path("out") / res.locale)
    freshness = review_warnings(model, strict)  # --strict refuses before anything is created
    output.ensure_writable_dir(out_dir)
    if res.sheet:  # the card layout (ReportLab) is imported only for sheets
        from . import cards
        freshness += cards.bleed_warnings(res.sheet, bleed or 0.0)
    from .records.recorder import add_resolved, for_request
    recorder = for_request(res, "cli", model, fhir_out)  # a record it cannot use refuses before any file
    warn(freshness, _LANG[0])
    cache = staticcache.configure(staticcache.default_folder())
    built = write(res, model, out_dir)
    warn([w for w in (cache.take_warning(),) if w], _LANG[0])
    click.echo(str(built.path))
    if res.ics:
        from . import ics as calendar
        from .request import patient_tag
        assert res.patient is not None
        name = calendar.file_name(res.locale, patient_tag(res.patient, file_names))
        click.echo(str(output.write_atomic(out_dir / name, calendar.schedule_calendar(res.patient, model, res.locale))))
    if recorder is not None:
        with recorder:
            add_resolved(recorder, res, built.path.read_bytes(), file=built.path.name)
        for written in recorder.written:
            click.echo(str(written))


@cli.command("batch")
@click.option("--locale", "locale_codes", multiple=True, callback=_not_empty,
              help="a locale (repeatable); default with --patients: en")
@click.option("--all-locales", is_flag=True, help="every locale")
@click.option("--patients", "patients_csv", type=click.Path(path_type=Path), default=None,
              help="a patient list (CSV or .xlsx): a handout and wallet card each, plus card sheets")
@click.option("--date-order", "date_order", type=click.Choice(DATE_ORDERS, case_sensitive=False), default=None,
              help="how the list writes dates besides 2026-12-01 (default: the --locale's, en MDY, zh YMD)")
@click.option("--file-names", "file_names", type=click.Choice(FILE_NAMES), default="full", show_default=True,
              help="with --patients: name each patient's folder by the name or only by its initials")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("out"))
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=0, help="parallel processes (default: all cores)")
@click.option("--fail-fast", is_flag=True, help="stop at the first bad row or failed document")
@click.option("--strict", is_flag=True, help="fail when a source is past its review date")
@click.option("--json", "as_json", is_flag=True, help="print the results as JSON instead of a table")
@click.option("--record", is_flag=True, help="record what is printed in the print record (see handouts record info)")
@click.option("--record-db", "record_db", default=None, callback=_not_empty,
              help="the print record: a file path or postgresql:// URL (implies --record)")
@click.option("--ics", is_flag=True, help="with --patients: each patient's dated schedule as a calendar file")
@click.option("--fhir-out", "fhir_out", type=click.Path(path_type=Path), default=None,
              help="write a FHIR DocumentReference (JSON) for each document into this folder")
def batch_cmd(locale_codes, all_locales, patients_csv, date_order, file_names, out_dir, jobs, fail_fast, strict,
              as_json, record=False, record_db=None, ics=False, fhir_out=None) -> None:
    """Render every document for a locale (into OUT/<locale>/) or for a list of patients,
    a CSV or .xlsx file or a FHIR bundle (.json), into OUT/patients/<name>/, with a
    manifest.json in each folder."""
    from . import batch, content, locales, output, staticcache
    from .build import review_warnings, warn
    from .patient import check_file
    from .progress import Reporter
    from .records.recorder import batch_recorder
    from .request import ListFile, checked_rows

    for code in locale_codes:  # each one typed is checked, also beside --all-locales
        locales.get(code)
    if all_locales and locale_codes:
        raise HandoutsError("option.locale_and_all_locales", "all_locales")
    codes = list(locales.available()) if all_locales else list(locale_codes)
    if patients_csv is not None:  # a folder, a FIFO or /dev/zero is said to be one
        check_file(patients_csv, "patients")
    if ics and patients_csv is None:
        raise HandoutsError("ics.one_patient", "ics")
    model = content.default()
    freshness = review_warnings(model, strict)
    output.ensure_writable_dir(out_dir)
    recorder = batch_recorder(record, record_db, model, fhir_out)  # a bad record refuses before any file
    warn(freshness, _LANG[0])

    bad_rows: list[str] = []
    jobs_list = []
    if patients_csv:
        rows = []
        source = ListFile(patients_csv)
        for row, item in checked_rows(source, codes[0] if codes else "en", model,
                                      date_order=date_order.upper() if date_order else None):
            if isinstance(item, HandoutsError):
                bad_rows.append(item.one_line(_LANG[0]))
                if fail_fast:
                    break
            else:
                rows.append((row, item))
                if recorder is not None:
                    recorder.knows(item, source.imported(row))  # an EHR's MRN keys the patient
        for line in bad_rows:
            click.echo(f"handouts: error: {line} (row skipped)", err=True)
        if not (fail_fast and bad_rows):
            jobs_list = batch.plan_patients(rows, source.name, out_dir, codes[0] if codes else "en", model,
                                            file_names)
    else:
        if not codes:
            raise HandoutsError("batch.nothing_chosen", "locale")
        for code in codes:
            jobs_list += batch.plan_locale(code, out_dir)

    plan = batch.Plan(out_dir, jobs_list)
    reporter = Reporter(len(plan.jobs), as_json=as_json)
    cache = staticcache.configure(staticcache.default_folder())
    on_result = reporter.update if recorder is None else recorder.watching(reporter.update)
    with reporter, (recorder or contextlib.nullcontext()):
        results = batch.run(plan, jobs=jobs, fail_fast=fail_fast, on_result=on_result,
                            warn=lambda w: _batch_notice(w, plan))
        if ics and patients_csv:
            from .records.recorder import write_calendars
            write_calendars(out_dir, rows, model, codes[0] if codes else "en", recorder.who if recorder else None,
                            file_names)
    warn([w for w in (cache.take_warning(),) if w], _LANG[0])
    reporter.summary(results, bad_rows, plan.moved_aside)
    failed = [r for r in results if r.status == "failed"]
    if bad_rows:
        raise SystemExit(EXIT_USAGE)
    if failed or plan.problems:
        raise SystemExit(1)


def _batch_notice(notice: HandoutsError, plan) -> None:
    """A batch's notice as it happens: an error when the run cannot succeed because of it
    (a manifest that cannot be written), else a warning (a malformed manifest, rebuilt)."""
    if notice in plan.problems:
        click.echo(f"handouts: error: {notice.one_line(_LANG[0])}", err=True)
    else:
        from .build import warn
        warn([notice], _LANG[0])


@cli.command("check")
@click.option("--strict", is_flag=True, help="sources past their review date are problems, not for a person")
@click.option("--render/--no-render", default=True, help="render every layout to check its page budget")
def check_cmd(strict: bool, render: bool) -> None:
    """Report what would make printed material wrong or incomplete. Exit 0: ready;
    1: cannot ship (a catalog, font or layout problem); 3: printable, but a person must
    act (a catalog not yet reviewed by a medical translator, a review past due)."""
    from .checks import run_checks
    found = run_checks(strict=strict, render=render)
    for line in found.for_a_person:
        click.echo(f"needs a person: {line}")
    for line in found.problems:
        click.echo(f"problem: {line}")
    click.echo(f"{len(found.problems)} problems (cannot ship), {len(found.for_a_person)} for a person")
    if found.exit_code:
        raise SystemExit(found.exit_code)


@cli.command("text")
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def text_cmd(pdf: Path) -> None:
    """Print the extracted text of PDF, as the snapshot tests see it."""
    from .pdftext import extract
    try:
        head = pdf.open("rb").read(1024)
    except OSError as exc:
        raise HandoutsError("file.unreadable", "PDF", {"path": pdf, "reason": exc.strerror or exc}) from None
    if b"%PDF-" not in head:
        raise HandoutsError("pdf.not_pdf", "PDF", {"file": pdf.name})
    try:
        text = extract(pdf)
    except Exception as exc:  # noqa: BLE001 - pdfminer raises many types for broken files
        raise HandoutsError("pdf.unreadable", "PDF", {"file": pdf.name, "kind": type(exc).__name__}) from None
    click.echo(text, nl=False)


def _internal_error(exc: BaseException) -> int:
    """A bug, not bad input: one line, and the traceback only when asked for."""
    import os
    import traceback
    if os.environ.get("HANDOUTS_DEBUG"):
        traceback.print_exception(exc)
    msg = " ".join(str(exc).split())[:200]
    click.echo(f"handouts: internal error: {type(exc).__name__}: {msg} (please report it; "
               "set HANDOUTS_DEBUG=1 for details)", err=True)
    return 70


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address to listen on (loopback only unless --allow-remote)")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--allow-remote", is_flag=True, help="allow a non-loopback --host (prints a warning: no login, no TLS)")
@click.option("--workers", type=click.IntRange(min=0), default=0,
              help="render processes for patient lists (default: cores, at most 4)")
@click.option("--counter-workers", "counter_workers", type=click.IntRange(1, 8), default=None,
              help="render processes for the patient at the counter, apart from the lists' (default: 2, "
                   "or 1 on a one-core computer)")
@click.option("--paper", type=click.Choice(["letter", "a4"]), default=None,
              help="the pharmacy's paper for handouts and card sheets (default: --region's, else letter)")
@click.option("--region", default=None, metavar="CC",
              help="where the pharmacy is (ISO 3166, e.g. US, TW): its paper and how its lists write dates "
                   "(default: this computer's locale settings)")
@click.option("--file-names", "file_names", type=click.Choice(FILE_NAMES), default="initials", show_default=True,
              help="name downloaded files by the patient's initials, or by the full name")
@click.option("--record", is_flag=True, help="record each document the counter prints, and show a patient's "
                                             "outdated paper (the settings file's print record)")
@click.option("--record-db", "record_db", default=None, callback=_not_empty,
              help="the print record: a file path or postgresql:// URL (implies --record)")
def serve_cmd(host: str, port: int, allow_remote: bool, workers: int, paper: str | None, region: str | None,
              file_names: str, record: bool = False, record_db: str | None = None,
              counter_workers: int | None = None) -> None:
    """Start the pharmacy counter page: a local web page that makes a patient's card and handout."""
    from .web.server import serve
    serve(host, port, allow_remote, workers, paper=paper, region=region, file_names=file_names, record=record,
          record_db=record_db, counter_workers=counter_workers)


# The print record's commands live in their own module (recall, record info/upgrade/forget/prune).
from .records.cli import recall_cmd, record_group  # noqa: E402

cli.add_command(recall_cmd)
cli.add_command(record_group)


def main(argv: list[str] | None = None) -> int:
    try:
        source_date_epoch()  # refuse a bad SOURCE_DATE_EPOCH before any work
        from .session import RenderSession
        with RenderSession():  # what the run remembers (personal text too) ends with it
            cli.main(args=argv, prog_name="handouts", standalone_mode=False)
    except Interrupted as err:
        click.echo(f"handouts: {err.render(_LANG[0])}", err=True)
        return 130
    except HandoutsError as err:
        click.echo(f"handouts: error: {shown(err).one_line(_LANG[0])}", err=True)
        return EXIT_USAGE
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except click.ClickException as exc:
        click.echo(f"handouts: error: {' '.join(exc.format_message().split())}", err=True)
        return EXIT_USAGE
    except (click.Abort, KeyboardInterrupt):
        click.echo("handouts: interrupted; nothing half-written was left behind", err=True)
        return 130
    except Exception as exc:  # noqa: BLE001 - never a traceback for a user
        return _internal_error(exc)
    finally:
        _LANG[0] = None
    return 0


# How the command line names what an error is about: its options as typed.
OPTIONS = frozenset({"locale", "paper", "patient", "patients", "sheet", "bleed", "duplex_offset", "copies",
                     "date_order", "also", "large_print", "out", "strict", "jobs", "lang", "host", "port",
                     "region", "file_names", "all_locales", "record_db", "ics", "fhir_out"})


def shown(err: HandoutsError) -> HandoutsError:
    """The error with its field named as the command line spells it ("--duplex-offset")."""
    if err.label is None and not err.where and err.field in OPTIONS:
        err.label = "--" + err.field.replace("_", "-")
    elif err.label is None and not err.where and err.field == "document":
        err.label = "DOCUMENT"
    return err


if __name__ == "__main__":
    sys.exit(main())
