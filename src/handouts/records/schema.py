"""The print record's tables (SQLAlchemy Core). The migrations in migrations/versions
create exactly these; tests/records/test_store.py compares the two on SQLite and
PostgreSQL, so a change here needs a new migration.

What a printed document printed is stored once per distinct content, not once per
print: the wording of each fact as printed in a locale (`wordings`), and the set of
(fact, locale, wording) a document printed (`printed_sets`). Ten thousand cards printed
from one content version share one set; recall compares each set once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Column, DateTime, ForeignKey, Index, Integer,
                        MetaData, String, Table, Text, TypeDecorator)

# Constraint names the same on every database, so that migrations can name them.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

CHANNELS = ("cli", "batch", "counter", "recall")
KEY_KINDS = ("mrn", "keyed")


class UTCDateTime(TypeDecorator):
    """A point in time, stored in UTC and read back as an aware datetime on every
    database (SQLite keeps no time zone; PostgreSQL's timestamptz converts to the
    session's zone)."""
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a naive datetime would be stored as if it were UTC; give a time zone")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


# An autoincrementing 64-bit key (SQLite autoincrements only INTEGER PRIMARY KEY).
Id = BigInteger().with_variant(Integer(), "sqlite")

# Settings of this record: the fingerprint of the key that keyed its patient digests.
settings = Table(
    "settings", metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
)

# A fact's (or list's) wording as printed in one locale: "22 to 24 hours", the items of
# a list one per line. Content, not personal data; keyed by the digest recall compares.
wordings = Table(
    "wordings", metadata,
    Column("digest", String(64), primary_key=True),
    Column("entry", String(80), nullable=False),
    Column("locale", String(20), nullable=False),
    Column("text", Text, nullable=False),
)

printed_sets = Table(
    "printed_sets", metadata,
    Column("digest", String(64), primary_key=True),
    Column("entries", Integer, nullable=False),
)

printed_set_entries = Table(
    "printed_set_entries", metadata,
    Column("set_digest", String(64), ForeignKey("printed_sets.digest", ondelete="CASCADE"), primary_key=True),
    Column("entry", String(80), primary_key=True),
    Column("locale", String(20), primary_key=True),
    Column("wording", String(64), ForeignKey("wordings.digest"), nullable=False),
)

# Patients whose details the clinic chose to keep (`keep_patient_details`): what a
# reprint needs. Without that choice the record has no row here, only keys.
patients = Table(
    "patients", metadata,
    Column("key", String(160), primary_key=True),
    Column("details", Text, nullable=False),  # the patient's fields as JSON
    Column("updated_at", UTCDateTime, nullable=False),
)

prints = Table(
    "prints", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("uid", String(36), nullable=False, unique=True),  # DocumentReference id
    Column("document_id", String(80), nullable=False, index=True),
    # None: stock, printed for no patient (a poster, a blank card)
    Column("patient_key", String(160), nullable=True),
    Column("key_kind", String(8), nullable=True),
    Column("document", String(32), nullable=False),
    Column("locale", String(20), nullable=False),
    Column("also", String(20), nullable=True),
    Column("paper", String(32), nullable=False),
    Column("large_print", Boolean, nullable=False, default=False),
    Column("content_version", String(32), nullable=False),
    Column("label_revision", String(32), nullable=False),
    Column("printed_at", UTCDateTime, nullable=False),
    Column("channel", String(8), nullable=False),
    Column("printed_set", String(64), ForeignKey("printed_sets.digest"), nullable=False),
    Column("pdf_sha256", String(64), nullable=True),
    Column("pdf_size", Integer, nullable=True),
    Column("replaces", String(36), nullable=True),  # uid of the print this one replaces
    Column("translation_of", String(36), nullable=True),  # uid of the print this one translates
    CheckConstraint(f"channel IN ({', '.join(repr(c) for c in CHANNELS)})", name="channel"),
    CheckConstraint(f"key_kind IS NULL OR key_kind IN ({', '.join(repr(k) for k in KEY_KINDS)})",
                    name="key_kind"),
    CheckConstraint("(patient_key IS NULL) = (key_kind IS NULL)", name="key_and_kind"),
)
Index("ix_prints_patient", prints.c.patient_key, prints.c.document, prints.c.locale, prints.c.printed_at)
