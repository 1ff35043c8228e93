"""The print record: prints, what each printed (sets of wordings), kept patient details.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "settings",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_settings"),
    )
    op.create_table(
        "wordings",
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("entry", sa.String(80), nullable=False),
        sa.Column("locale", sa.String(20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name="pk_wordings"),
    )
    op.create_table(
        "printed_sets",
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name="pk_printed_sets"),
    )
    op.create_table(
        "printed_set_entries",
        sa.Column("set_digest", sa.String(64), nullable=False),
        sa.Column("entry", sa.String(80), nullable=False),
        sa.Column("locale", sa.String(20), nullable=False),
        sa.Column("wording", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["set_digest"], ["printed_sets.digest"], ondelete="CASCADE",
                                name="fk_printed_set_entries_set_digest_printed_sets"),
        sa.ForeignKeyConstraint(["wording"], ["wordings.digest"],
                                name="fk_printed_set_entries_wording_wordings"),
        sa.PrimaryKeyConstraint("set_digest", "entry", "locale", name="pk_printed_set_entries"),
    )
    op.create_table(
        "patients",
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_patients"),
    )
    op.create_table(
        "prints",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("uid", sa.String(36), nullable=False),
        sa.Column("document_id", sa.String(80), nullable=False),
        sa.Column("patient_key", sa.String(160), nullable=True),
        sa.Column("key_kind", sa.String(8), nullable=True),
        sa.Column("document", sa.String(32), nullable=False),
        sa.Column("locale", sa.String(20), nullable=False),
        sa.Column("also", sa.String(20), nullable=True),
        sa.Column("paper", sa.String(32), nullable=False),
        sa.Column("large_print", sa.Boolean(), nullable=False),
        sa.Column("content_version", sa.String(32), nullable=False),
        sa.Column("label_revision", sa.String(32), nullable=False),
        sa.Column("printed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("printed_set", sa.String(64), nullable=False),
        sa.Column("pdf_sha256", sa.String(64), nullable=True),
        sa.Column("pdf_size", sa.Integer(), nullable=True),
        sa.Column("replaces", sa.String(36), nullable=True),
        sa.Column("translation_of", sa.String(36), nullable=True),
        sa.CheckConstraint("channel IN ('cli', 'batch', 'counter', 'recall')", name="ck_prints_channel"),
        sa.CheckConstraint("key_kind IS NULL OR key_kind IN ('mrn', 'keyed')", name="ck_prints_key_kind"),
        sa.CheckConstraint("(patient_key IS NULL) = (key_kind IS NULL)", name="ck_prints_key_and_kind"),
        sa.ForeignKeyConstraint(["printed_set"], ["printed_sets.digest"],
                                name="fk_prints_printed_set_printed_sets"),
        sa.PrimaryKeyConstraint("id", name="pk_prints"),
        sa.UniqueConstraint("uid", name="uq_prints_uid"),
    )
    op.create_index("ix_prints_document_id", "prints", ["document_id"])
    op.create_index("ix_prints_patient", "prints", ["patient_key", "document", "locale", "printed_at"])


def downgrade() -> None:
    op.drop_index("ix_prints_patient", table_name="prints")
    op.drop_index("ix_prints_document_id", table_name="prints")
    op.drop_table("prints")
    op.drop_table("patients")
    op.drop_table("printed_set_entries")
    op.drop_table("printed_sets")
    op.drop_table("wordings")
    op.drop_table("settings")
