"""person aliases: other ids a person is known by (an Entra object id → their Teams id)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 08:00:00

``person_alias`` maps an alias such as ``entra:<tenant>/<object id>`` to the actor id the
person acts as (their Teams ``29:…`` id), so a sign-in with Microsoft Entra ID on the web is the
same actor as the Teams user (bot.people).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from storage.tables import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "person_alias",
        sa.Column("workspace", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("alias", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace", "alias"),
    )


def downgrade() -> None:
    op.drop_table("person_alias")
