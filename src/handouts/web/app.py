"""The pharmacy counter page: an ASGI app (Starlette) in front of warm render workers.

Personal data arrives only in POST bodies, is validated by the CLI's own code (web.core)
in a worker process, and leaves as a PDF, page images or a ZIP built in memory. Nothing
about a patient is written to disk or logged: errors are logged by their type only.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import ipaddress
import logging
import os
import re
import secrets
import time
import zipfile
from collections.abc import Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from handouts.errors import HandoutsError

from . import core, i18n, workers

log = logging.getLogger("handouts.web")

STATIC = Path(__file__).parent / "static"
MAX_FORM_BYTES = 16 * 1024          # the form: a few short fields
MAX_UPLOAD_BYTES = 256 * 1024       # a patient list
MAX_BUNDLE_BYTES = 2 * 1024 * 1024  # a FHIR bundle of the day's patients (EHR exports are verbose)
MAX_FIELD_CHARS = 500               # refused before the core (which allows 120 / 40)
MAX_ROWS = 200
MAX_JOBS = 2                        # patient lists rendering at once
JOB_TTL = 600.0                     # seconds a finished list's ZIP is kept (in memory)
MAX_KEPT = 4                        # finished lists kept at most (the oldest is dropped)
BODY_TIMEOUT = 30.0                 # seconds from a request's headers to the end of its body
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; font-src 'self'; "
     b"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),   # no-referrer would make the browser send "Origin: null"
    (b"x-frame-options", b"DENY"),
]
NO_STORE = (b"cache-control", b"no-store")   # unless a response says otherwise (bundled fonts)


class Refused(Exception):
    """A request the page turns down with a clear message (never a traceback); `problems`
    lists what is wrong row by row (a list none of whose rows could be printed)."""

    def __init__(self, status: int, kind: str, problems: list[str] | None = None, text: str = "", **params):
        super().__init__(kind)
        self.status, self.kind, self.params = status, kind, params
        self.problems, self.text = problems or [], text

    def words(self, ui: str) -> str:
        return self.text or i18n.message(ui, self.kind, **self.params)


# ------------------------------------------------------------------------ middleware

_HOST = re.compile(r"(?:\[(?P<ip6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?))"
                   r"(?::(?P<port>[0-9]{1,5}))?")
_ORIGIN = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<host>[^/?#@\s]+)")
DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_host(value: str) -> tuple[str, int | None] | None:
    """(host, port) of a Host header or an origin's authority, or None unless it is
    exactly a name, an IPv4 address or a bracketed IPv6 address with an optional port
    (so `[::1].evil.example`, `localhost.` or `a@b` are refused, not guessed at)."""
    m = _HOST.fullmatch(value)
    if m is None:
        return None
    port = int(m["port"]) if m["port"] else None
    if port is not None and not 0 < port < 65536:
        return None
    if m["ip6"]:
        try:
            return str(ipaddress.IPv6Address(m["ip6"])), port
        except ValueError:
            return None
    name = m["name"].lower()
    return None if ".." in name else (name, port)


def same_origin(origin: str, scheme: str, host: tuple[str, int | None]) -> bool:
    """Whether an Origin header names this server: same scheme (an `https` page is
    another origin than this `http` one), same host, same port."""
    m = _ORIGIN.fullmatch(origin)
    if m is None or m["scheme"] != scheme or scheme not in DEFAULT_PORTS:
        return False
    theirs = parse_host(m["host"])
    if theirs is None:
        return False
    default = DEFAULT_PORTS[scheme]
    return (theirs[0], theirs[1] or default) == (host[0], host[1] or default)


class BodyTimeout(Exception):
    """The request body did not arrive within the time allowed."""


class Guard:
    """Outermost ASGI layer: checks the Host (DNS rebinding) and, for POST, the Origin
    (another site's form), gives a request body a deadline (a client sending one byte now
    and then must not hold the page), adds security headers, and turns any unexpected
    exception into a plain error page while logging only the exception's type (never its
    message, which could quote a patient's data)."""

    def __init__(self, app, allowed_hosts: tuple[str, ...] | None, body_timeout: float = BODY_TIMEOUT):
        self.app, self.allowed_hosts, self.body_timeout = app, allowed_hosts, body_timeout

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        raw = scope.get("headers") or []
        hosts = [v for k, v in raw if k == b"host"]
        host = parse_host(hosts[0].decode("latin-1")) if len(hosts) == 1 else None
        if host is None or (self.allowed_hosts is not None and host[0] not in self.allowed_hosts):
            return await _plain(send, 400, "Bad Host header")
        headers = dict(raw)
        if scope["method"] == "POST":
            origin = headers.get(b"origin")
            site = headers.get(b"sec-fetch-site", b"same-origin")
            if (origin is not None and not same_origin(origin.decode("latin-1"), scope.get("scheme", "http"), host)) \
                    or site not in (b"same-origin", b"none"):
                return await _plain(send, 403, "Cross-site request refused")
        started = timed_out = body_done = False
        deadline = asyncio.get_running_loop().time() + self.body_timeout

        async def receive_in_time():
            nonlocal timed_out, body_done
            if body_done:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), deadline - asyncio.get_running_loop().time())
            except TimeoutError:
                timed_out = True
                raise BodyTimeout from None
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def send_with_headers(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", [])) + SECURITY_HEADERS
                if not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append(NO_STORE)
                if timed_out:              # the rest of that body is not worth waiting for
                    headers.append((b"connection", b"close"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive_in_time, send_with_headers)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            log.error("request failed: %s", type(exc).__name__)
            if not started:
                await _plain(send, 500, "Something went wrong. Nothing was saved. Go back and try again.")


async def _plain(send, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())] + SECURITY_HEADERS + [NO_STORE]})
    await send({"type": "http.response.body", "body": body})


class AccessLogFilter(logging.Filter):
    """uvicorn's access log prints the request line: drop any query string from it."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = args[:2] + (args[2].split("?", 1)[0],) + args[3:]
        return True


# ------------------------------------------------------------------------ page

def _ui(request: Request) -> str:
    ui = request.path_params.get("ui", "en")
    if ui not in core.locale_codes():
        raise HTTPException(404)
    return ui


def _field_labels(ui: str) -> dict[str, str]:
    return {k: i18n.tr(ui, v) for k, v in i18n.FIELD_LABELS.items()}


def _settings(request: Request) -> core.Settings:
    return request.app.state.settings


def _page(request: Request, ui: str, values: dict | None = None, problems: Sequence[core.Problem] = (),
          previews=(), status: int = 200, notice: str = "", listed: Sequence[str] = (), outdated=(),
          ehr_patients=()) -> HTMLResponse:
    settings = _settings(request)
    values = dict(values or {})
    values.setdefault("locale", ui)
    values.setdefault("documents", "both")
    values.setdefault("paper", settings.paper)      # the pharmacy's paper, whatever the page's language
    values.setdefault("card", core.CARD_SINGLE)
    values.setdefault("copies", "")
    values.setdefault("also", "")
    for name in (*core.PERSONAL_FIELDS, *EHR_FIELDS):
        values.setdefault(name, "")
    errors: dict[str, str] = {}
    general: list[str] = []
    general += list(listed)
    for p in problems:
        text = i18n.problem_text(ui, p)
        if p.field and p.field not in errors:
            errors[p.field] = text
        elif not p.field:
            general.append(text)
    errors_listed = [(name, i18n.tr(ui, i18n.FIELD_PROBLEM) % {"field": _field_labels(ui).get(name, name),
                                                                "problem": text}) for name, text in errors.items()]
    env = i18n.environment(ui)
    html = env.get_template("page.html").render(
        ui=ui, lang=core.html_lang(ui), locales=[(c, core.locale_name(c)) for c in core.locale_codes()],
        values=values, errors=errors, errors_listed=errors_listed, general=general, labels=_field_labels(ui),
        papers=core.handout_papers(), card_formats=core.card_formats(), previews=previews,
        bilingual=i18n.bilingual_names(ui), drug=core.drug_names(ui),
        documents=i18n.print_buttons(ui),
        list_sheet=settings.sheet, date_order=core.default_date_order(settings, ui),
        date_orders=[(o, i18n.tr(ui, i18n.DATE_ORDER_LABELS[o]) % {"example": core.sample_date(o)})
                     for o in core.date_orders()],
        iso_example=core.sample_date("YMD").replace("/", "-"), column_names=core.column_names(),
        card_size=core.card_size(), actual_size="100%", file_names=settings.file_names,
        max_rows=MAX_ROWS, notice=notice, today=core.today().isoformat(),
        outdated=[i18n.outdated_text(ui, o) for o in outdated], ehr_patients=ehr_patients)
    return HTMLResponse(html, status_code=status)


async def home(request: Request):
    ui = i18n.negotiate(request.headers.get("accept-language", "")[:1000], core.locale_codes(), "en")
    return RedirectResponse(f"/{ui}/", status_code=303)


async def form_page(request: Request):
    return _page(request, _ui(request))


async def _read_form(request: Request, limit: int):
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():  # chunked: its size is known only at its end
        raise Refused(411, "length_required")
    if int(length) > limit:
        raise Refused(413, "too_large", kib=limit // 1024)
    try:
        return await request.form(max_files=1, max_fields=20, max_part_size=limit)
    except HTTPException:  # a form the parser cannot read (too many parts, a broken multipart body)
        raise Refused(400, "bad_form") from None
    except BodyTimeout:
        raise Refused(408, "slow") from None



async def _uploaded(form, field: str, limit: int, missing: str) -> tuple[str, bytes]:
    """The name and bytes of the file uploaded as `field`, read whole: refused as `missing` when no file came,
    as too large past `limit` bytes (the form's own limit counts the whole body)."""
    upload = form.get(field)
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise Refused(400, missing)
    data = await upload.read(limit + 1)
    await upload.close()
    if len(data) > limit:
        raise Refused(413, "too_large", kib=limit // 1024)
    return upload.filename, data

# A patient from an EHR bundle: hidden fields the page carries from the upload to the
# print (the MRN keys the print record; the first dose's source is shown to confirm).
EHR_FIELDS = ("mrn", "mrn_system", "first_dose_from", "first_dose_status", "first_dose_confirmed")


def _order(form, settings: core.Settings, document: str | None = None) -> tuple[core.Order, dict, list[core.Problem]]:
    """The form as an order; `document`: only that one (a print button's)."""
    values = {k: (v if isinstance(v, str) else "") for k, v in form.items() if k != "patients"}
    problems = [core.Problem(k, "too_long", {"max": MAX_FIELD_CHARS})
                for k, v in values.items() if len(v) > MAX_FIELD_CHARS]
    locale = values.get("locale") or "en"
    order = core.Order(locale=locale, documents=document or values.get("documents") or "both",
                       paper=values.get("paper") or settings.paper,
                       card=values.get("card") or core.CARD_SINGLE, also=values.get("also") or "",
                       patient={f: values.get(f, "").strip() for f in core.PERSONAL_FIELDS},
                       copies=1 if values.get("copies") == "1" else None, file_names=settings.file_names,
                       mrn=values.get("mrn", "").strip(), mrn_system=values.get("mrn_system", "").strip(),
                       first_dose_from=values.get("first_dose_from", "").strip(),
                       first_dose_confirmed=values.get("first_dose_confirmed") == "yes")
    return order, values, problems


async def _form_order(request: Request, ui: str) -> tuple[core.Order, dict, list[core.Problem]] | Response:
    """The posted patient form as an order with the problems found in it, or the page
    that says why the form could not be read at all."""
    try:
        form = await _read_form(request, MAX_FORM_BYTES)
    except Refused as r:
        return _page(request, ui, status=r.status, notice=r.words(ui))
    return _order(form, _settings(request))


async def _produce(request: Request, order: core.Order, preview: bool) -> workers.Outcome:
    return await request.app.state.counter.run(workers.produce, order, preview, request.app.state.record)


def _attachment(name: str, inline: bool = False) -> str:
    """A Content-Disposition naming the file; `inline`: shown in the browser's tab (a
    PDF opens in its viewer, ready to print) rather than saved."""
    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in name)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


async def submit(request: Request, preview: bool, printing: bool = False):
    ui = _ui(request)
    try:
        form = await _read_form(request, MAX_FORM_BYTES)
    except Refused as r:
        return _page(request, ui, problems=[core.Problem("", r.kind, r.params)], status=r.status,
                     notice=r.words(ui))
    document = None
    if printing:  # the print button of one document: that document alone, in a tab
        document = form.get("print")
        if document not in core.counter_documents():
            document = None
    order, values, problems = _order(form, _settings(request), document)
    if problems:
        return _page(request, ui, values, problems, status=422)
    try:
        outcome = await _produce(request, order, preview)
    except Exception as exc:  # noqa: BLE001 - a worker died or a bug: say so, log the type only
        log.error("render failed: %s", type(exc).__name__)
        return _page(request, ui, values, status=500, notice=i18n.message(ui, "failed"))
    if outcome.problems:
        return _page(request, ui, values, list(outcome.problems), status=422)
    if preview:
        images = [(name, [base64.b64encode(png).decode("ascii") for png in pages])
                  for name, pages in outcome.previews]
        return _page(request, ui, values, previews=images, outdated=outcome.outdated)
    if len(outcome.files) == 1:
        name, pdf = outcome.files[0]
        return Response(pdf, media_type="application/pdf",
                        headers={"content-disposition": _attachment(name, inline=printing)})
    # Both documents at once without the page's script (which fetches them one by one,
    # as two PDFs): one ZIP.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, pdf in outcome.files:
            z.writestr(name, pdf)
    zip_name = core.bundle_name(order)
    return Response(buf.getvalue(), media_type="application/zip",
                    headers={"content-disposition": _attachment(zip_name)})


async def preview(request: Request):
    return await submit(request, preview=True)


async def calendar(request: Request):
    """The patient's dated schedule as an .ics file, checked as the PDF would be."""
    ui = _ui(request)
    got = await _form_order(request, ui)
    if isinstance(got, Response):
        return got
    order, values, problems = got
    if problems:
        return _page(request, ui, values, problems, status=422)
    try:
        outcome = await request.app.state.counter.run(workers.calendar, order)
    except Exception as exc:  # noqa: BLE001 - say so, log the type only
        log.error("calendar failed: %s", type(exc).__name__)
        return _page(request, ui, values, status=500, notice=i18n.message(ui, "failed"))
    if outcome.problems:
        return _page(request, ui, values, list(outcome.problems), status=422)
    [(name, data)] = outcome.files
    return Response(data, media_type="text/calendar; charset=utf-8",
                    headers={"content-disposition": _attachment(name)})


async def fill(request: Request):
    """The form filled with a patient chosen from an uploaded bundle (nothing rendered)."""
    ui = _ui(request)
    got = await _form_order(request, ui)
    if isinstance(got, Response):
        return got
    _, values, problems = got
    return _page(request, ui, values, problems, status=422 if problems else 200)


async def bundle(request: Request):
    """A FHIR bundle from the EHR: its patients, each with where its first dose came
    from, to choose one and confirm the date before anything is printed. One patient
    fills the form directly. Nothing is kept: the bundle is read in a worker and gone."""
    ui = _ui(request)
    try:
        form = await _read_form(request, MAX_BUNDLE_BYTES)
        _, data = await _uploaded(form, "bundle", MAX_BUNDLE_BYTES, "no_bundle")
    except Refused as r:
        return _page(request, ui, status=r.status, notice=r.words(ui))
    locale = form.get("locale") if form.get("locale") in core.locale_codes() else ui
    outcome = await request.app.state.list_lane.run(workers.read_bundle, data, "bundle.json")
    if outcome.problems:
        return _page(request, ui, {"locale": locale}, list(outcome.problems), status=422)
    good = [p for p in outcome.patients if "fields" in p]
    shown = [_ehr_patient(ui, p, locale) for p in outcome.patients]
    if len(good) == 1 and len(outcome.patients) == 1:
        return _page(request, ui, shown[0]["values"])
    return _page(request, ui, {"locale": locale}, ehr_patients=shown)


def _ehr_patient(ui: str, p: dict, locale: str) -> dict:
    """A bundle's patient as the page lists it: the form's values, or the error."""
    if "fields" not in p:
        return {"where": p["where"], "error": p["error"].one_line(ui)}
    values = {k: v for k, v in p["fields"].items() if v}
    values.setdefault("locale", locale)
    values.update({k: p[k] for k in ("mrn", "mrn_system", "first_dose_from", "first_dose_status") if p[k]})
    return {"where": p["where"], "values": values}


async def download(request: Request):
    return await submit(request, preview=False)


async def print_pdf(request: Request):
    return await submit(request, preview=False, printing=True)


# ------------------------------------------------------------------------ patient lists

@dataclass
class Job:
    id: str
    total: int = 0
    done: int = 0
    state: str = "running"          # running | done | failed
    problems: list[str] = field(default_factory=list)
    per_patient: int = 0             # PDF files each patient's row makes
    patients: int = 0                # rows whose files are (being) made
    sheets: int = 0                  # sheets of card stock the list's cards take
    data: bytes | None = None
    finished: float = 0.0
    task: asyncio.Task | None = None
    expiry: asyncio.TimerHandle | None = None


class Lists:
    """The patient lists of one server. A list takes one of MAX_JOBS places from the
    moment its upload is read (no await between the count and the taking, so lists
    arriving together cannot all pass the check). A finished list's ZIP is forgotten on a
    timer after `ttl` seconds, whether or not another request comes, and at most
    MAX_KEPT finished lists are kept. The job id is the only key to a ZIP: it travels in
    POST bodies, never in a URL that an access log would record."""

    def __init__(self, ttl: float = JOB_TTL):
        self.ttl = ttl
        self.jobs: dict[str, Job] = {}

    def running(self) -> int:
        return sum(j.state == "running" for j in self.jobs.values())

    def reserve(self) -> Job:
        if self.running() >= MAX_JOBS:
            raise Refused(503, "busy")
        job = Job(secrets.token_urlsafe(16))
        self.jobs[job.id] = job
        return job

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id) if isinstance(job_id, str) else None

    def forget(self, job: Job) -> None:
        if job.expiry is not None:
            job.expiry.cancel()
        self.jobs.pop(job.id, None)

    def finish(self, job: Job, state: str) -> None:
        job.state, job.finished = state, time.monotonic()
        job.expiry = asyncio.get_running_loop().call_later(self.ttl, self.forget, job)
        finished = sorted((j for j in self.jobs.values() if j.state != "running"), key=lambda j: j.finished)
        for old in finished[:-MAX_KEPT]:
            self.forget(old)

    def close(self) -> None:
        for job in list(self.jobs.values()):
            if job.task:
                job.task.cancel()
            self.forget(job)


def _row_text(ui: str, row: int, p: core.Problem) -> str:
    """A list row's problem in the page's words: the row and column as a spreadsheet
    shows them, the field as the form labels it."""
    label = _field_labels(ui).get(p.field, "")
    where = i18n.tr(ui, i18n.W_("Row %(row)s")) % {"row": row}
    if p.column:
        where = i18n.tr(ui, i18n.W_("Row %(row)s, column %(column)s")) % {"row": row, "column": p.column}
    field = f"{where} · {label}" if label else where
    return i18n.tr(ui, i18n.FIELD_PROBLEM) % {"field": field, "problem": i18n.problem_text(ui, p, in_list=True)}


def _json_refusal(ui: str, r: Refused) -> JSONResponse:
    return JSONResponse({"error": r.words(ui), "problems": r.problems, "state": "refused"}, status_code=r.status)


async def batch(request: Request):
    ui = _ui(request)
    wants_json = "application/json" in request.headers.get("accept", "")
    try:
        job = await _start_batch(request, ui)
    except Refused as r:
        if wants_json:
            return _json_refusal(ui, r)
        return _page(request, ui, status=r.status, notice=r.words(ui), listed=r.problems)
    if wants_json:
        return JSONResponse(_status(ui, job), status_code=202)
    assert job.task is not None  # _start_batch started it
    await asyncio.shield(job.task)       # without script: wait, then send the ZIP
    return _hand_over(request, ui, job)


XLSX_MAGIC = b"PK\x03\x04"


async def _start_batch(request: Request, ui: str) -> Job:
    form = await _read_form(request, MAX_UPLOAD_BYTES)
    filename, raw = await _uploaded(form, "patients", MAX_UPLOAD_BYTES, "no_file")
    spreadsheet = raw.startswith(XLSX_MAGIC)
    if not spreadsheet:   # CSV: cheap checks here; an .xlsx is read in a worker
        try:
            text = core.decode(raw, filename)
        except HandoutsError as err:  # UTF-16 says so; anything else is not a list
            if err.code == "file.utf16":
                raise Refused(400, "other", detail=err.render(ui)) from None
            raise Refused(400, "not_csv") from None
        try:  # patients, as the list is read: blank rows (a spreadsheet's empty tail) are not
            rows = sum(1 for cells in csv.reader(io.StringIO(text, newline="")) if any(c.strip() for c in cells)) - 1
        except csv.Error:
            raise Refused(400, "not_csv") from None
        if rows < 0:
            raise Refused(400, "not_csv")
        if rows > MAX_ROWS:
            raise Refused(413, "too_many_rows", max=MAX_ROWS)
    settings = _settings(request)
    locale = form.get("locale") if form.get("locale") in core.locale_codes() else ui
    paper = core.paper_for(form.get("paper"), settings)
    sheet = form.get("card") if form.get("card") in core.card_formats()[1:] else settings.sheet
    date_order = form.get("date_order")
    if date_order not in core.date_orders():
        date_order = core.default_date_order(settings, locale)
    lists: Lists = request.app.state.lists
    job = lists.reserve()                # from here on, this list holds one of the places
    try:
        lane = request.app.state.list_lane
        name = "patients.xlsx" if spreadsheet else "patients.csv"
        checked = await lane.run(workers.check_list, name, raw, locale, sheet, date_order, MAX_ROWS)
        if checked and checked[0][0] == 0:          # the file as a whole (its kind, header, size)
            p = checked[0][1]
            too_many = p.code == "list.too_many_rows"
            raise Refused(413 if too_many else 400, "list", text=i18n.problem_text(ui, p, in_list=True))
        good = [(row, item) for row, item in checked if not isinstance(item, core.Problem)]
        bad = [_row_text(ui, row, item) for row, item in checked if isinstance(item, core.Problem)]
        if not checked:
            raise Refused(400, "no_rows")
        if not good:                    # nothing to print: no ZIP, and the page says why
            raise Refused(422, "nothing_printed", problems=bad)
    except BaseException:
        lists.forget(job)
        raise
    job.problems = bad
    job.per_patient = len(core.counter_documents())
    job.total = len(good) * job.per_patient + 1     # each patient's documents, and one file of card sheets
    job.patients = len(good)
    job.sheets = -(-len(good) // core.per_sheet(sheet))
    job.task = asyncio.create_task(_run_batch(job, lists, lane, ui, good, locale, paper, sheet,
                                              settings.file_names))
    return job


async def _run_batch(job: Job, lists: Lists, lane: workers.Lane, ui, good, locale, paper, sheet,
                     file_names: str) -> None:
    """Each row's documents in its own folder, and one set of card sheets for the whole
    list in list order (each card in its row's language), as `handouts batch
    --patients` makes them. The counts are the ZIP's PDF files."""
    folders = core.patient_folders(good, file_names)
    files: list[tuple[str, bytes]] = []
    # At most one render per worker in the lane's queue for this list: two lists then
    # take turns, and another list's upload is checked without waiting for this one.
    turn = asyncio.Semaphore(lane.workers)

    async def one(row, p):
        code = p.locale or locale
        async with turn:
            outcome = await lane.run(workers.render_patient, code, paper, p, file_names)
        if outcome.problems:
            job.problems.append(_row_text(ui, row, outcome.problems[0]))
            job.total -= job.per_patient            # that row's files are not made
            job.patients -= 1
        for name, pdf in outcome.files:
            files.append((f"{folders[row]}/{name}", pdf))
        job.done += len(outcome.files)

    async def sheets():
        async with turn:
            outcome = await lane.run(workers.render_sheet, locale, sheet, [p for _, p in good])
        files.extend(outcome.files)
        job.done += len(outcome.files)

    try:
        async with asyncio.TaskGroup() as group:     # one failure stops the list's other rows
            for row, p in good:
                group.create_task(one(row, p))
            group.create_task(sheets())
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for name, pdf in sorted(files):
                z.writestr(name, pdf)
            z.writestr(i18n.SLOTS_FILE, _slots_text(ui, good, folders, locale, sheet))
            if job.problems:
                z.writestr("rows-not-printed.txt", "\n".join(job.problems) + "\n")
        job.data = buf.getvalue()
        lists.finish(job, "done")
    except Exception as exc:  # noqa: BLE001
        first = exc.exceptions[0] if isinstance(exc, ExceptionGroup) else exc
        log.error("patient list failed: %s", type(first).__name__)
        lists.finish(job, "failed")


def _slots_text(ui: str, good, folders: dict[int, str], locale: str, sheet: str) -> str:
    """Which card is where on the list's sheets, in the page's language: the ZIP's
    manifest of the sheets (`handouts batch` writes the same in manifest.json)."""
    per = core.per_sheet(sheet)
    lines = [i18n.tr(ui, i18n.SLOTS_INTRO) % {"sheet": sheet}]
    for i, (row, p) in enumerate(good):
        lines.append(i18n.tr(ui, i18n.SLOT_LINE) % {"sheet": i // per + 1, "slot": i % per + 1, "row": row,
                                                    "language": core.locale_name(p.locale or locale),
                                                    "folder": folders[row]})
    return "\n".join(lines) + "\n"


def _status(ui: str, job: Job) -> dict:
    progress = i18n.tr(ui, i18n.W_("%(done)s of %(total)s PDF files made")) % {"done": job.done, "total": job.total}
    if job.state == "done":
        progress = i18n.tr(ui, i18n.LIST_DONE) % {
            "files": job.done, "patients": job.patients, "documents": i18n.document_names(ui),
            "sheets": job.sheets}
    return {"job": job.id, "state": job.state, "done": job.done, "total": job.total,
            "problems": job.problems, "progress": progress,
            "ready": job.state == "done",
            "error": i18n.message(ui, "failed") if job.state == "failed" else None}


async def _job_of(request: Request) -> Job | None:
    """The job named by the POST body's `job` field (never by the URL)."""
    form = await _read_form(request, MAX_FORM_BYTES)
    return request.app.state.lists.get(form.get("job"))


async def batch_status(request: Request):
    ui = _ui(request)
    try:
        job = await _job_of(request)
    except Refused as r:
        return _json_refusal(ui, r)
    if job is None:
        return JSONResponse({"error": i18n.message(ui, "expired")}, status_code=404)
    return JSONResponse(_status(ui, job))


async def batch_zip(request: Request):
    ui = _ui(request)
    try:
        job = await _job_of(request)
    except Refused as r:
        return _page(request, ui, status=r.status, notice=r.words(ui))
    return _hand_over(request, ui, job)


def _hand_over(request: Request, ui: str, job: Job | None) -> Response:
    if job is None or job.state != "done":
        return _page(request, ui, status=404 if job is None else 409,
                     notice=i18n.message(ui, "expired" if job is None else "failed"))
    request.app.state.lists.forget(job)  # handed over once, then forgotten
    return Response(job.data, media_type="application/zip",
                    headers={"content-disposition": _attachment(core.list_bundle_name())})


async def health(request: Request):
    """For a monitor: 200 while both lanes of workers can take work, else 503."""
    lanes = {"counter": request.app.state.counter, "lists": request.app.state.list_lane}
    report = {name: {"healthy": await lane.probe(), "workers": lane.workers, "restarts": lane.restarts}
              for name, lane in lanes.items()}
    ok = all(r["healthy"] for r in report.values())
    return JSONResponse({"status": "ok" if ok else "unhealthy", "lanes": report,
                         "lists_running": request.app.state.lists.running()}, status_code=200 if ok else 503)


# ------------------------------------------------------------------------ app

async def font(request: Request):
    """The bundled fonts (assets/fonts), so Chinese shows on a machine without CJK fonts;
    only files that fonts.toml names are served."""
    from handouts import locales, paths
    files = {f for fam in locales.font_families().values() for f in (fam.regular, fam.bold)}
    name = request.path_params["name"]
    if name not in files:
        raise HTTPException(404)
    return FileResponse(paths.fonts_dir() / name, media_type="font/ttf",
                        headers={"cache-control": "public, max-age=86400"})


async def not_found(request: Request, exc: HTTPException):
    return Response("Not found", status_code=exc.status_code, media_type="text/plain")


def create_app(workers_count: int = 0, warm: bool = True,
               allowed_hosts: tuple[str, ...] | None = LOOPBACK_HOSTS, *, counter_workers: int = 1,
               body_timeout: float = BODY_TIMEOUT, job_ttl: float = JOB_TTL,
               settings: core.Settings | None = None, record: str | None = None):
    """The ASGI app. `allowed_hosts=None` accepts any Host header (--allow-remote).
    `settings`: the pharmacy's paper, date order and file names (`handouts serve`'s
    options; default Letter, dates by the list's language, initials in file names).
    `record`: the print record the counter keeps (`serve --record`), or None.

    Two lanes of workers: `counter_workers` for the patient at the counter (warm: each
    has rendered every document once), `workers_count` (default: cores, at most 4) for
    patient lists, at a lower CPU priority, so a card never waits behind a list."""
    list_workers = workers_count or min(4, os.cpu_count() or 1)

    @asynccontextmanager
    async def lifespan(app):
        app.state.record = record
        app.state.lists = Lists(job_ttl)
        app.state.counter = workers.Lane("counter", counter_workers, render=warm)
        app.state.list_lane = workers.Lane("lists", list_workers, nice=10)
        try:
            await asyncio.gather(app.state.counter.start(), app.state.list_lane.start())
            yield
        finally:
            app.state.lists.close()
            for lane in (app.state.counter, app.state.list_lane):
                await asyncio.to_thread(lane.shutdown)

    routes = [
        Route("/", home),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Route("/health", health),
        Route("/fonts/{name}", font),
        Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
        Route("/{ui}/", form_page),
        Route("/{ui}/preview", preview, methods=["POST"]),
        Route("/{ui}/download", download, methods=["POST"]),
        Route("/{ui}/print", print_pdf, methods=["POST"]),
        Route("/{ui}/calendar", calendar, methods=["POST"]),
        Route("/{ui}/bundle", bundle, methods=["POST"]),
        Route("/{ui}/fill", fill, methods=["POST"]),
        Route("/{ui}/batch", batch, methods=["POST"]),
        Route("/{ui}/batch/status", batch_status, methods=["POST"]),
        Route("/{ui}/batch/zip", batch_zip, methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    # Starlette types every handler as taking any Exception; this one is
                    # registered for HTTPException only, so that is all it is given.
                    exception_handlers={HTTPException: not_found})  # type: ignore[dict-item]
    app.state.settings = settings or core.Settings()
    return Guard(app, allowed_hosts, body_timeout)
