"""The print record: open a database (SQLite file or PostgreSQL URL), keep its schema
current with Alembic, record prints, find the latest prints, forget a patient.

One code path for both databases: SQLAlchemy Core statements only. SQLite is the
default (one file, created owner-only); PostgreSQL is for a health system whose
pharmacies share one record.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, create_engine, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, SQLAlchemyError

from ..errors import HandoutsError
from . import schema
from .keys import PatientKey, fingerprint
from .printed import Wording, Wordings, printed_set, set_digest

if TYPE_CHECKING:
    from ..content import ContentModel
    from ..patient import Patient

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
FIELD = "--record-db"
KEY_SETTING = "key_fingerprint"


def _url(target: str | Path, field: str = FIELD) -> URL:
    """A database URL from what a user gives: a file path (SQLite) or a URL."""
    text = str(target).strip()
    if not text:
        raise HandoutsError("record.url_empty", field)
    if "://" not in text:
        return URL.create("sqlite", database=str(Path(text).expanduser()))
    try:
        url = make_url(text)
    except ArgumentError:
        raise HandoutsError("record.url_invalid", field) from None
    backend = url.get_backend_name()
    if backend == "postgresql":
        return url.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return url.set(drivername="sqlite")
    raise HandoutsError("record.url_backend", field, {"backend": backend})


def describe(url: URL) -> str | None:
    """A URL as messages show it: never its password (None: an SQLite URL without a file)."""
    return url.database if url.get_backend_name() == "sqlite" else url.render_as_string(hide_password=True)


def _sqlite_file(url: URL, create: bool, field: str) -> bool:
    """Prepare a SQLite file: create it owner-only (0600, its folder 0700) before SQLite
    opens it, or check that an existing one is not open to every user. True if made."""
    if not url.database or url.database == ":memory:":
        raise HandoutsError("record.in_memory", field)
    path = Path(url.database)
    try:
        st = path.stat()
    except FileNotFoundError:
        if not create:
            raise HandoutsError("record.missing", field, {"path": path}) from None
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except FileExistsError:
            return False
        except OSError as exc:
            raise HandoutsError("output.cannot_create", field, {"path": path, "reason": exc.strerror or exc}) from None
        os.close(fd)
        return True
    except OSError as exc:
        raise HandoutsError("record.cannot_open", field, {"path": path, "reason": exc.strerror or exc}) from None
    if not stat.S_ISREG(st.st_mode):
        raise HandoutsError("file.not_regular", field, {"path": path})
    if st.st_mode & 0o007:
        raise HandoutsError("record.open_to_all", field, {"path": path, "mode": f"{stat.S_IMODE(st.st_mode):04o}"})
    return False


def _alembic(conn: Connection):
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext
    return MigrationContext.configure(conn).get_current_revision()


def migrate(conn: Connection, revision: str = "head") -> None:
    from alembic import command
    command.upgrade(_alembic(conn), revision)


def downgrade(conn: Connection, revision: str) -> None:
    from alembic import command
    command.downgrade(_alembic(conn), revision)


@dataclass(frozen=True)
class PrintRow:
    """One print, as the record holds it."""
    id: int
    uid: str
    document_id: str
    patient_key: str | None
    key_kind: str | None
    document: str
    locale: str
    also: str | None
    paper: str
    large_print: bool
    content_version: str
    label_revision: str
    printed_at: dt.datetime
    channel: str
    printed_set: str
    pdf_sha256: str | None = None
    pdf_size: int | None = None
    replaces: str | None = None
    translation_of: str | None = None


_COLUMNS = [c.name for c in schema.prints.columns]


def _row(r) -> PrintRow:
    return PrintRow(**{c: getattr(r, c) for c in _COLUMNS})


@dataclass
class Record:
    """An open print record. Use as a context manager, or call close()."""
    engine: Engine
    url: URL
    _known_sets: set[str] = field(default_factory=set)
    _wordings: dict[int, tuple[ContentModel, Wordings]] = field(default_factory=dict)
    _local: threading.local = field(default_factory=threading.local)

    # -- opening ------------------------------------------------------------------
    @classmethod
    def open(cls, target: str | Path, create: bool = True, upgrade: bool = False,
             secret: bytes | None = None, field: str = FIELD) -> Record:
        """Open the record at `target` (a path or URL). An empty database gets the
        current schema when `create`; one at an older schema is refused unless
        `upgrade` (`handouts record upgrade`); one from a newer handouts is refused.
        `secret`: the clinic's key; a record keyed with another key is refused."""
        url = _url(target, field)
        if url.get_backend_name() == "sqlite":
            _sqlite_file(url, create, field)
            # A batch and the counter may write at once: wait for the other's commit.
            url = url.update_query_dict({"timeout": url.query.get("timeout", "30")})
        try:
            engine = create_engine(url, pool_pre_ping=True)
        except ModuleNotFoundError as exc:
            raise HandoutsError("record.driver_missing", field,
                                {"package": exc.name, "install": "pip install 'handouts[postgresql]'"}) from None
        record = cls(engine, url)
        try:
            record._prepare(create, upgrade, field)
            if secret is not None:
                record._check_key(secret, field)
        except HandoutsError:
            engine.dispose()
            raise
        except SQLAlchemyError as exc:
            engine.dispose()
            raise HandoutsError("record.unusable", field, {"url": describe(url), "reason": _reason(exc)}) from None
        return record

    def _prepare(self, create: bool, upgrade: bool, field: str) -> None:
        head = head_revision()
        with self.engine.begin() as conn:
            current = current_revision(conn)
            if current == head:
                return
            known = _known_revisions()
            if current is None:
                from sqlalchemy import inspect
                tables = set(inspect(conn).get_table_names())
                if tables & {t.name for t in schema.metadata.sorted_tables}:
                    raise HandoutsError("record.foreign_tables", field, {"url": describe(self.url)})
                if not create:
                    raise HandoutsError("record.not_a_record", field, {"url": describe(self.url)})
                migrate(conn)
                return
            if current not in known:
                raise HandoutsError("record.newer_schema", field, {"url": describe(self.url), "schema": current})
            if not upgrade:
                raise HandoutsError("record.older_schema", field, {"url": describe(self.url), "schema": current,
                                                                   "command": "handouts record upgrade"})
            migrate(conn)

    def _check_key(self, secret: bytes, field: str) -> None:
        mine = fingerprint(secret)
        with self.engine.begin() as conn:
            stored = conn.execute(select(schema.settings.c.value)
                                  .where(schema.settings.c.name == KEY_SETTING)).scalar()
            if stored is None:
                try:
                    conn.execute(insert(schema.settings).values(name=KEY_SETTING, value=mine))
                except IntegrityError:  # another computer stored its key first
                    stored = None
                else:
                    return
                stored = conn.execute(select(schema.settings.c.value)
                                      .where(schema.settings.c.name == KEY_SETTING)).scalar()
        if stored != mine:
            raise HandoutsError("record.other_key", "key_file", {"url": describe(self.url)})

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Record:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- recording ------------------------------------------------------------------
    def wordings(self, model: ContentModel) -> Wordings:
        hit = self._wordings.get(id(model))
        if hit is None or hit[0] is not model:
            hit = self._wordings[id(model)] = (model, Wordings(model))
        return hit[1]

    def record_printed(self, *, document: str, locale: str, paper: str, model: ContentModel,
                       printed: Mapping[str, Iterable[str]], document_id: str, channel: str,
                       patient_key: PatientKey | None = None, also: str | None = None,
                       large_print: bool = False, pdf: bytes | None = None,
                       printed_at: dt.datetime | None = None, translation_of: str | None = None,
                       keep_details: Patient | None = None, pdf_sha256: str | None = None,
                       pdf_size: int | None = None) -> PrintRow:
        """Record one printed document. `printed`: the entries it printed, by locale
        (printed.entries()). A print replaces the latest earlier print of the same
        document for the same patient in the same language. `keep_details`: the
        patient's fields, kept only when the clinic chose to (keep_patient_details)."""
        if channel not in schema.CHANNELS:
            raise ValueError(f"channel must be one of {schema.CHANNELS}")
        items = printed_set(self.wordings(model), printed)
        digest = set_digest(items)
        at = printed_at or dt.datetime.now(dt.UTC)
        values: dict[str, Any] = dict(
            uid=str(uuid.uuid4()), document_id=document_id,
            patient_key=patient_key.value if patient_key else None,
            key_kind=patient_key.kind if patient_key else None,
            document=document, locale=locale, also=also, paper=paper, large_print=large_print,
            content_version=model.meta.content_version, label_revision=model.meta.label_revised.isoformat(),
            printed_at=at, channel=channel, printed_set=digest,
            pdf_sha256=_sha256(pdf) if pdf is not None else pdf_sha256,
            pdf_size=len(pdf) if pdf is not None else pdf_size,
            replaces=None, translation_of=translation_of)
        with self.transaction() as conn:
            self._store_set(conn, digest, items)
            if patient_key is not None:
                p = schema.prints
                values["replaces"] = conn.execute(
                    select(p.c.uid).where(and_(p.c.patient_key == patient_key.value, p.c.document == document,
                                               p.c.locale == locale))
                    .order_by(p.c.printed_at.desc(), p.c.id.desc()).limit(1)).scalar()
                if keep_details is not None:
                    self._keep(conn, patient_key, keep_details, at)
            inserted = conn.execute(insert(schema.prints).values(**values)).inserted_primary_key
            assert inserted is not None  # an INSERT of one row has its key
            new_id = inserted[0]
        return PrintRow(id=new_id, **values)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction for everything recorded inside it: a batch records its
        documents with one commit (a commit waits for the disk), and all or none of them.
        Nested calls join the outer transaction; each thread has its own."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            yield conn
            return
        try:
            with self.engine.begin() as conn:
                self._local.conn = conn
                try:
                    yield conn
                finally:
                    self._local.conn = None
        except BaseException:
            self._known_sets.clear()  # what this transaction stored is gone with it
            raise

    def _insert_new(self, conn: Connection, table, rows: list[dict]) -> None:
        """Insert content rows that another writer may be inserting too: a row already
        there is left as it is (SQLAlchemy's ON CONFLICT DO NOTHING for each database)."""
        if rows:
            dialect = {"sqlite": sqlite, "postgresql": postgresql}[conn.dialect.name]
            conn.execute(dialect.insert(table).on_conflict_do_nothing(), rows)

    def _store_set(self, conn: Connection, digest: str, items: list[Wording]) -> None:
        if digest in self._known_sets:
            return
        t = schema.printed_sets
        if conn.execute(select(t.c.digest).where(t.c.digest == digest)).first() is None:
            self._insert_new(conn, schema.wordings, [dict(digest=i.digest, entry=i.entry, locale=i.locale, text=i.text)
                                                     for i in {i.digest: i for i in items}.values()])
            self._insert_new(conn, t, [dict(digest=digest, entries=len(items))])
            self._insert_new(conn, schema.printed_set_entries,
                             [dict(set_digest=digest, entry=i.entry, locale=i.locale, wording=i.digest) for i in items])
        self._known_sets.add(digest)

    def _keep(self, conn: Connection, key: PatientKey, patient: Patient, at: dt.datetime) -> None:
        details = patient.model_dump_json(exclude_none=True)
        t = schema.patients
        done = conn.execute(t.update().where(t.c.key == key.value).values(details=details, updated_at=at))
        if done.rowcount == 0:
            conn.execute(insert(t).values(key=key.value, details=details, updated_at=at))

    # -- reading ------------------------------------------------------------------
    def prints(self, patient_key: str | None = None) -> list[PrintRow]:
        q = select(schema.prints).order_by(schema.prints.c.printed_at, schema.prints.c.id)
        if patient_key is not None:
            q = q.where(schema.prints.c.patient_key == patient_key)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(q)]

    def has_print(self, document_id: str, patient_key: str | None) -> bool:
        """Whether a print of this document id for this patient (None: stock) is recorded."""
        p = schema.prints
        key = p.c.patient_key.is_(None) if patient_key is None else p.c.patient_key == patient_key
        with self.engine.connect() as conn:
            return conn.execute(select(p.c.id).where(and_(p.c.document_id == document_id, key)).limit(1)).first() \
                is not None

    def by_document_id(self, document_id: str) -> list[PrintRow]:
        """Every print of a document id (a paper in someone's hand names it)."""
        with self.engine.connect() as conn:
            query = (select(schema.prints).where(schema.prints.c.document_id == document_id)
                     .order_by(schema.prints.c.printed_at, schema.prints.c.id))
            return [_row(r) for r in conn.execute(query)]

    def latest(self, patient_key: str | None = None) -> list[PrintRow]:
        """The latest print per patient, document and language, and per pile of stock
        (document, language, paper and options printed for no patient)."""
        p = schema.prints
        order = (p.c.printed_at.desc(), p.c.id.desc())
        partitions = (
            (p.c.patient_key.is_not(None), (p.c.patient_key, p.c.document, p.c.locale)),
            (p.c.patient_key.is_(None), (p.c.document, p.c.locale, p.c.also, p.c.paper, p.c.large_print)),
        )
        out: list[PrintRow] = []
        with self.engine.connect() as conn:
            for where, partition in partitions:
                if patient_key is not None and where is partitions[1][0]:
                    continue
                rank = func.row_number().over(partition_by=partition, order_by=order).label("rank")
                inner = select(p, rank).where(where)
                if patient_key is not None:
                    inner = inner.where(p.c.patient_key == patient_key)
                sub = inner.subquery()
                out.extend(_row(r) for r in conn.execute(select(sub).where(sub.c.rank == 1)))
        return sorted(out, key=lambda r: (r.patient_key is None, r.patient_key or "", r.document, r.locale,
                                          r.paper, r.id))

    def _rows_for(self, keys: Iterable[str], query):
        """Rows of query(chunk) for every chunk of the distinct keys (an IN list of at
        most 500, which every database accepts)."""
        with self.engine.connect() as conn:
            for chunk in _chunks(list(dict.fromkeys(keys)), 500):
                yield from conn.execute(query(chunk))

    def set_entries(self, digests: Iterable[str]) -> dict[str, list[tuple[str, str, str]]]:
        """(entry, locale, wording digest) of each printed set."""
        e = schema.printed_set_entries
        out: dict[str, list[tuple[str, str, str]]] = {}
        for r in self._rows_for(digests, lambda chunk: select(e.c.set_digest, e.c.entry, e.c.locale, e.c.wording)
                                .where(e.c.set_digest.in_(chunk))):
            out.setdefault(r.set_digest, []).append((r.entry, r.locale, r.wording))
        return out

    def wording_texts(self, digests: Iterable[str]) -> dict[str, str]:
        w = schema.wordings
        return {r.digest: r.text for r in self._rows_for(
            digests, lambda chunk: select(w.c.digest, w.c.text).where(w.c.digest.in_(chunk)))}

    def details(self, keys: Iterable[str]) -> dict[str, dict]:
        """Kept patient details (only where the clinic chose to keep them)."""
        t = schema.patients
        return {r.key: json.loads(r.details) for r in self._rows_for(
            keys, lambda chunk: select(t.c.key, t.c.details).where(t.c.key.in_(chunk)))}

    def counts(self) -> dict[str, int]:
        p = schema.prints
        with self.engine.connect() as conn:
            return {
                "prints": conn.execute(select(func.count()).select_from(p)).scalar_one(),
                "patients": conn.execute(select(func.count(func.distinct(p.c.patient_key)))).scalar_one(),
                "kept_details": conn.execute(select(func.count()).select_from(schema.patients)).scalar_one(),
                "printed_sets": conn.execute(select(func.count()).select_from(schema.printed_sets)).scalar_one(),
            }

    # -- deleting -------------------------------------------------------------------
    def forget(self, patient_key: str) -> int:
        """Delete everything the record holds about one patient; the number of prints."""
        with self.engine.begin() as conn:
            n = conn.execute(delete(schema.prints).where(schema.prints.c.patient_key == patient_key)).rowcount
            conn.execute(delete(schema.patients).where(schema.patients.c.key == patient_key))
        return n

    def prune(self, before: dt.datetime) -> tuple[int, int]:
        """Forget every patient whose latest print is older than `before` (the clinic's
        retention period); also superseded stock prints older than that. Returns
        (patients, prints) deleted."""
        p = schema.prints
        with self.engine.begin() as conn:
            last = select(p.c.patient_key, func.max(p.c.printed_at).label("last")) \
                .where(p.c.patient_key.is_not(None)).group_by(p.c.patient_key).subquery()
            old = list(conn.execute(select(last.c.patient_key).where(last.c.last < before)).scalars())
            deleted = 0
            for chunk in _chunks(old, 500):
                deleted += conn.execute(delete(p).where(p.c.patient_key.in_(chunk))).rowcount
                conn.execute(delete(schema.patients).where(schema.patients.c.key.in_(chunk)))
        keep = {r.id for r in self.latest() if r.patient_key is None}
        with self.engine.begin() as conn:
            stale = [i for i in conn.execute(select(p.c.id).where(and_(p.c.patient_key.is_(None),
                                                                       p.c.printed_at < before))).scalars()
                     if i not in keep]
            for chunk in _chunks(stale, 500):
                deleted += conn.execute(delete(p).where(p.c.id.in_(chunk))).rowcount
        return len(old), deleted


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory
    return {s.revision for s in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _sha256(data: bytes) -> str:
    import hashlib
    return hashlib.sha256(data).hexdigest()


def _reason(exc: SQLAlchemyError) -> str:
    """The database's own words, on one line, without SQL or parameters."""
    orig = getattr(exc, "orig", None) or exc
    text = " ".join(str(orig).split())
    if isinstance(exc, OperationalError) and "unable to open database file" in text:
        return "cannot open the file (check the folder exists and may be written)"
    return text[:200]
