"""outbox priority; workspace-led claim indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 04:40:00

Deliveries people wait for (incident rooms, reminders, broadcasts, replies) are claimed before
alert-channel notices; existing rows keep the default, the most urgent class, so nothing queued
before the upgrade falls behind.

Claims are scoped to the workspaces a process holds credentials for (outbox) or serves
(due jobs), so the due, lane and job indexes lead with the workspace.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("priority", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.create_index(
            "ix_outbox_claim", ["state", "platform", "priority", "id"], unique=False
        )
        batch_op.drop_index("ix_outbox_due")
        batch_op.create_index(
            "ix_outbox_ws_due", ["workspace", "state", "platform", "next_attempt_at"], unique=False
        )
        batch_op.drop_index("ix_outbox_order")
        batch_op.create_index(
            "ix_outbox_ws_order", ["workspace", "platform", "ordering_key", "id"], unique=False
        )
    with op.batch_alter_table("due_job", schema=None) as batch_op:
        batch_op.drop_index("ix_due_job_due")
        batch_op.create_index("ix_due_job_ws_due", ["workspace", "state", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("due_job", schema=None) as batch_op:
        batch_op.drop_index("ix_due_job_ws_due")
        batch_op.create_index("ix_due_job_due", ["state", "due_at"], unique=False)
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_ws_order")
        batch_op.create_index("ix_outbox_order", ["platform", "ordering_key", "id"], unique=False)
        batch_op.drop_index("ix_outbox_ws_due")
        batch_op.create_index(
            "ix_outbox_due", ["state", "platform", "next_attempt_at"], unique=False
        )
        batch_op.drop_index("ix_outbox_claim")
        batch_op.drop_column("priority")
