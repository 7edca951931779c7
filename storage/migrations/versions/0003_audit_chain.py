"""audit log hash chain; personal and service API tokens

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 06:00:00

Audit entries gain their surface, incident, before/after and a per-workspace hash chain
(seq, prev_hash, hash; bot.audit). Entries written before this revision are chained here, in
the order they were written, so an upgraded log verifies from its first entry.

api_token holds personal and service tokens by the SHA-256 of their secret only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from bot.audit import GENESIS, AuditDraft, seal
from storage.tables import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("surface", sa.String(length=16), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("incident", sa.String(length=40), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("before", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("after", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("prev_hash", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("hash", sa.String(length=64), nullable=False, server_default="")
        )
    _chain_existing()
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index("ux_audit_entry_chain", ["workspace", "seq"], unique=True)

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("owner_name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("shown", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index("ix_api_token_workspace", ["workspace"], unique=False)
        batch_op.create_index("ix_api_token_token_hash", ["token_hash"], unique=True)


def _chain_existing() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, workspace, at, actor, action, target, detail FROM audit_entry ORDER BY id"
        )
    ).all()
    heads: dict[str, tuple[int, str]] = {}
    for row in rows:
        # A raw query hands back what the driver stores: text on SQLite, naive or aware times.
        at = datetime.fromisoformat(row.at) if isinstance(row.at, str) else row.at
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        detail = json.loads(row.detail) if isinstance(row.detail, str) else row.detail
        seq, prev = heads.get(row.workspace, (0, GENESIS))
        entry = seal(
            AuditDraft(
                workspace=row.workspace,
                at=at,
                actor=row.actor,
                action=row.action,
                target=row.target,
                detail=detail or {},
            ),
            seq=seq + 1,
            prev_hash=prev,
        )
        conn.execute(
            sa.text(
                "UPDATE audit_entry SET seq = :seq, prev_hash = :prev, hash = :h WHERE id = :id"
            ),
            {"seq": entry.seq, "prev": entry.prev_hash, "h": entry.hash, "id": row.id},
        )
        heads[row.workspace] = (entry.seq, entry.hash)


def downgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index("ix_api_token_token_hash")
        batch_op.drop_index("ix_api_token_workspace")
    op.drop_table("api_token")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ux_audit_entry_chain")
        for column in ("hash", "prev_hash", "after", "before", "incident", "surface", "seq"):
            batch_op.drop_column(column)
