"""The print record's database layer, on a SQLite file and on a real PostgreSQL server
(tests/helpers/pgserver.py): schema and migrations agree, files are owner-only, records and
latest prints, forgetting a patient, retention, and what is refused."""

from __future__ import annotations

import datetime as dt
import os
import stat
import threading

import pytest
from sqlalchemy import text

from handouts import papers
from handouts.errors import HandoutsError
from handouts.records import Record, document_id, entries, keyed_digest, mrn_key
from handouts.records import schema, store

UTC = dt.UTC
T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
SECRET = bytes(range(32))


def _card(record, model, patient, key, locale="en", at=T0, channel="cli", **kw):
    printed = entries("wallet-card", locale, model, papers.PAPERS["id1"], patient)
    doc = document_id("wallet-card", locale, model.meta.content_version, model.meta.label_revised,
                      {"patient": patient.model_dump_json() if patient else None, "at": at.isoformat()})
    return record.record_printed(document="wallet-card", locale=locale, paper="id1", model=model, printed=printed,
                                 document_id=str(doc), channel=channel, patient_key=key, printed_at=at, **kw)


def test_migrations_create_exactly_the_schema(record_url):
    """schema.py and the migrations describe the same tables, on both databases, and the
    migration goes down and up again."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    with Record.open(record_url) as rec:
        with rec.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
            assert diff == [], diff
            assert store.current_revision(conn) == store.head_revision()
        with rec.engine.begin() as conn:
            store.downgrade(conn, "base")
        with rec.engine.connect() as conn:
            from sqlalchemy import inspect
            assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    with Record.open(record_url) as rec, rec.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), schema.metadata) == []


def test_sqlite_file_and_folder_are_owner_only(tmp_path, model, sample_patient):
    path = tmp_path / "new" / "deeper" / "record.sqlite3"
    with Record.open(path) as rec:
        for i in range(3):
            _card(rec, model, sample_patient, mrn_key(f"A{i}", "urn:test"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    # Journals SQLite made while writing (if any are left) are no more open than the file.
    for f in path.parent.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) & 0o077 == 0, f


def test_a_record_every_user_can_read_is_refused(tmp_path):
    path = tmp_path / "record.sqlite3"
    Record.open(path).close()
    os.chmod(path, 0o644)
    with pytest.raises(HandoutsError, match="every user") as err:
        Record.open(path)
    assert err.value.field == "--record-db"
    os.chmod(path, 0o640)  # shared with a group: the clinic's choice
    Record.open(path).close()


def test_reading_commands_do_not_create_a_record(tmp_path):
    with pytest.raises(HandoutsError, match="no print record"):
        Record.open(tmp_path / "missing.sqlite3", create=False)
    assert not (tmp_path / "missing.sqlite3").exists()


def test_unsupported_urls_are_refused():
    for url, words in (("mysql://u@h/db", "not supported"), ("sqlite://", "must be a file"),
                       ("", "is empty")):
        with pytest.raises(HandoutsError, match=words):
            Record.open(url)


def test_a_password_never_appears_in_a_message():
    with pytest.raises(HandoutsError) as err:
        Record.open("postgresql://clerk:s3cret-pw@127.0.0.1:1/none")
    assert "s3cret-pw" not in str(err.value) and "***" in str(err.value)


def test_a_record_from_a_newer_handouts_is_refused(record_url):
    Record.open(record_url).close()
    rec = Record.open(record_url)
    with rec.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff9999'"))
    rec.close()
    with pytest.raises(HandoutsError, match="newer handouts"):
        Record.open(record_url)


def test_a_database_with_other_tables_is_not_taken_over(record_url):
    from sqlalchemy import create_engine
    url = store._url(record_url)
    if url.get_backend_name() == "sqlite":
        store._sqlite_file(url, True, "--record-db")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE prints (x INTEGER)"))
    engine.dispose()
    with pytest.raises(HandoutsError, match="not a handouts print record"):
        Record.open(record_url)


def test_latest_print_per_patient_document_and_language(record_url, model, sample_patient):
    a, b = mrn_key("A1", "urn:test"), keyed_digest(sample_patient, SECRET)
    with Record.open(record_url) as rec:
        first = _card(rec, model, sample_patient, a, at=T0)
        second = _card(rec, model, sample_patient, a, at=T0 + dt.timedelta(days=1))
        chinese = _card(rec, model, sample_patient, a, locale="zh-Hans", at=T0 + dt.timedelta(days=2))
        other = _card(rec, model, sample_patient, b, at=T0)
        stock1 = _card(rec, model, None, None, at=T0)
        stock2 = _card(rec, model, None, None, at=T0 + dt.timedelta(hours=1))
        latest = {r.uid for r in rec.latest()}
        assert latest == {second.uid, chinese.uid, other.uid, stock2.uid}
        assert second.replaces == first.uid and chinese.replaces is None and stock2.replaces is None
        assert {r.uid for r in rec.latest(a.value)} == {second.uid, chinese.uid}
        rows = {r.uid: r for r in rec.prints()}
        assert rows[first.uid].printed_at == T0 and rows[first.uid].printed_at.tzinfo is not None
        assert rows[stock1.uid].patient_key is None and rows[stock1.uid].key_kind is None
        # Ten cards from one content version share one stored set of what they printed.
        assert rec.counts()["printed_sets"] == 2  # the English card; the Chinese card (two languages)


def test_naive_times_are_refused(record_url, model, sample_patient):
    with Record.open(record_url) as rec, pytest.raises(Exception, match="time zone"):
        _card(rec, model, sample_patient, mrn_key("A", "s"), at=dt.datetime(2026, 1, 1))


def test_forget_deletes_everything_about_one_patient(record_url, model, sample_patient):
    a, b = mrn_key("A1", "urn:test"), mrn_key("B2", "urn:test")
    with Record.open(record_url) as rec:
        _card(rec, model, sample_patient, a, keep_details=sample_patient)
        _card(rec, model, sample_patient, a, locale="zh-Hant", keep_details=sample_patient)
        kept = _card(rec, model, sample_patient, b, keep_details=sample_patient)
        assert rec.details([a.value])[a.value]["name"] == sample_patient.name
        assert rec.forget(a.value) == 2
        assert rec.prints(a.value) == [] and rec.details([a.value]) == {}
        assert [r.uid for r in rec.prints(b.value)] == [kept.uid] and rec.details([b.value])
        with rec.engine.connect() as conn:  # no row anywhere names the forgotten key
            for table in schema.metadata.sorted_tables:
                for row in conn.execute(table.select()):
                    assert a.value not in " ".join(map(str, row)), table.name


def test_details_are_kept_only_when_asked(record_url, model, sample_patient):
    with Record.open(record_url) as rec:
        _card(rec, model, sample_patient, keyed_digest(sample_patient, SECRET))
        assert rec.counts()["kept_details"] == 0
        with rec.engine.connect() as conn:
            dump = "\n".join(" ".join(map(str, row)) for t in schema.metadata.sorted_tables
                             for row in conn.execute(t.select()))
        for value in (sample_patient.name, sample_patient.phone, sample_patient.oncologist):
            assert value not in dump


def test_prune_forgets_patients_not_seen_since(record_url, model, sample_patient):
    old, recent = mrn_key("OLD", "s"), mrn_key("NEW", "s")
    with Record.open(record_url) as rec:
        _card(rec, model, sample_patient, old, at=T0 - dt.timedelta(days=900))
        _card(rec, model, sample_patient, recent, at=T0 - dt.timedelta(days=900))
        _card(rec, model, sample_patient, recent, at=T0)
        s_old = _card(rec, model, None, None, at=T0 - dt.timedelta(days=900))
        s_new = _card(rec, model, None, None, at=T0 - dt.timedelta(days=800))
        patients, prints = rec.prune(T0 - dt.timedelta(days=730))
        assert patients == 1 and prints == 2  # OLD's card; the superseded stock print
        assert rec.prints(old.value) == [] and len(rec.prints(recent.value)) == 2
        stock = [r.uid for r in rec.prints() if r.patient_key is None]
        assert stock == [s_new.uid] and s_old.uid not in stock


def test_a_different_key_file_is_refused(record_url):
    Record.open(record_url, secret=SECRET).close()
    Record.open(record_url, secret=SECRET).close()
    with pytest.raises(HandoutsError, match="not the one") as err:
        Record.open(record_url, secret=bytes(32))
    assert err.value.field == "key_file"


def test_writers_at_once_share_new_content(record_url, model, sample_patient):
    """Two counters recording the first print of a new content version at the same time:
    both prints are kept, the content once."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def work(i: int) -> None:
        try:
            with Record.open(record_url) as rec:
                barrier.wait()
                _card(rec, model, sample_patient, mrn_key(f"P{i}", "s"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    Record.open(record_url).close()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Record.open(record_url) as rec:
        assert rec.counts()["prints"] == 4 and rec.counts()["printed_sets"] == 1


def test_a_batch_records_all_or_nothing_in_one_transaction(record_url, model, sample_patient):
    with Record.open(record_url) as rec:
        with pytest.raises(RuntimeError), rec.transaction():
            for i in range(3):
                _card(rec, model, sample_patient, mrn_key(f"T{i}", "s"))
            raise RuntimeError("the batch was interrupted")
        assert rec.prints() == [] and rec.counts()["printed_sets"] == 0
        with rec.transaction():
            for i in range(3):
                with rec.transaction():  # nested: joins the batch's transaction
                    _card(rec, model, sample_patient, mrn_key(f"T{i}", "s"))
        assert len(rec.prints()) == 3 and rec.counts()["printed_sets"] == 1
