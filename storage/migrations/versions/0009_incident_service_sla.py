"""incident service; dashboard index

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 08:00:00

``incident.service`` names the affected service (from the declare body, chat's
``service:payments`` or an alert's ``service``/``job``/``app`` label) so dashboards can group
response times by it. Existing incidents get "" (no service). Dashboards read a workspace's
incidents by declaration time, hence ``ix_incident_workspace_declared``, which also carries
the columns the figures read so the scan never leaves the index. SLA breach warnings
need no table of their own: they are ``due_job`` rows (kinds ``sla_ack`` and ``sla_resolve``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "service",
                sqlmodel.sql.sqltypes.AutoString(length=100),
                nullable=False,
                server_default="",
            )
        )
        batch_op.create_index(
            "ix_incident_workspace_declared",
            [
                "workspace",
                "declared_at",
                "severity",
                "service",
                "acknowledged_at",
                "resolved_at",
                "private",
            ],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_workspace_declared")
        batch_op.drop_column("service")
