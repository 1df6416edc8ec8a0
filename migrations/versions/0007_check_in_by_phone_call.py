"""check-in by phone call

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 10:02:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbound_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("to_hash", sa.String(length=64), nullable=False),
        sa.Column("to_enc", sa.LargeBinary(), nullable=False),
        sa.Column("from_number", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("call_sid", sa.String(length=64), nullable=True),
        sa.Column("answered_by", sa.String(length=20), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error_detail", sa.String(length=200), nullable=True),
        sa.Column("fallback_sent", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("calling_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_outbound_calls_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_calls")),
        sa.UniqueConstraint("call_sid", name=op.f("uq_outbound_calls_call_sid")),
    )
    with op.batch_alter_table("outbound_calls", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbound_calls_member_id"), ["member_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outbound_calls_to_hash"), ["to_hash"], unique=False)
        batch_op.create_index("ix_outbound_calls_due", ["status", "next_attempt_at"], unique=False)

    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("checkin_by", sa.String(length=5), nullable=False, server_default="sms")
        )


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("checkin_by")
    with op.batch_alter_table("outbound_calls", schema=None) as batch_op:
        batch_op.drop_index("ix_outbound_calls_due")
        batch_op.drop_index(batch_op.f("ix_outbound_calls_to_hash"))
        batch_op.drop_index(batch_op.f("ix_outbound_calls_member_id"))
    op.drop_table("outbound_calls")
