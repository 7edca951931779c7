"""postmortem editor: a lessons section and who reviewed the postmortem when

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 08:00:00

``lessons`` joins the other postmortem sections on ``incident``; ``postmortem_reviewed_at`` and
``postmortem_reviewed_by`` record "mark reviewed", and ``postmortem_edited_at`` the last section
edit, so a page can say the postmortem was edited since its review.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from storage.tables import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incident") as batch_op:
        batch_op.add_column(sa.Column("lessons", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("postmortem_reviewed_at", UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "postmortem_reviewed_by",
                sqlmodel.sql.sqltypes.AutoString(length=200),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column("postmortem_edited_at", UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("incident") as batch_op:
        batch_op.drop_column("postmortem_edited_at")
        batch_op.drop_column("postmortem_reviewed_by")
        batch_op.drop_column("postmortem_reviewed_at")
        batch_op.drop_column("lessons")
