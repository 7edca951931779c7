"""server-side web sessions; audit log indexes for filtering and keyset pages

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 08:00:00

``web_session`` holds each signed-in browser by the SHA-256 of its cookie's secret, so a
session can be revoked (sign-out, the person's session list, an admin) before it expires.

The audit log gains an index per filter of the admin page (actor, incident, surface, each
ending in seq for keyset paging) and one on time, so a page never reads the whole log.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from storage.tables import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AUDIT_INDEXES = {
    "ix_audit_entry_ws_actor": ["workspace", "actor", "seq"],
    "ix_audit_entry_ws_incident": ["workspace", "incident", "seq"],
    "ix_audit_entry_ws_surface": ["workspace", "surface", "seq"],
    "ix_audit_entry_ws_at": ["workspace", "at"],
}


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "web_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace", text(length=64), nullable=False),
        sa.Column("session_hash", text(length=64), nullable=False),
        sa.Column("person", text(length=200), nullable=False),
        sa.Column("name", text(length=200), nullable=False),
        sa.Column("role", text(length=16), nullable=False),
        sa.Column("user_agent", text(length=300), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.create_index("ix_web_session_session_hash", ["session_hash"], unique=True)
        batch_op.create_index("ix_web_session_ws_person", ["workspace", "person"], unique=False)
        batch_op.create_index(
            "ix_web_session_ws_expires", ["workspace", "expires_at"], unique=False
        )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        for name, columns in _AUDIT_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        for name in _AUDIT_INDEXES:
            batch_op.drop_index(name)
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.drop_index("ix_web_session_ws_expires")
        batch_op.drop_index("ix_web_session_ws_person")
        batch_op.drop_index("ix_web_session_session_hash")
    op.drop_table("web_session")
