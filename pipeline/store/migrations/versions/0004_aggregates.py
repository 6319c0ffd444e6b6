"""Daily counts, first-seen dates, source totals, data version; filled from stored petitions

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

_KEY = ("day", "area", "village", "commune", "province", "source_type", "topic")


def upgrade() -> None:
    op.create_table(
        "daily_counts",
        sa.Column("day", sa.Date(), nullable=False),
        *(sa.Column(name, sa.Text(), nullable=False)
          for name in ("area", "village", "commune", "province")),
        sa.Column("source_type", sa.String(length=20), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False)
          for name in ("count", "mass", "repeat", "escalated", "urgent")),
        sa.PrimaryKeyConstraint(*_KEY),
    )
    op.create_table(
        "first_seen",
        *(sa.Column(name, sa.Text(), nullable=False)
          for name in ("village", "commune", "province")),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("village", "commune", "province", "topic"),
    )
    op.create_table(
        "source_counts",
        sa.Column("source_type", sa.String(length=20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("source_type"),
    )
    op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # A database upgraded with petitions in it gets its aggregates at once (the same code as
    # `tamtu aggregates rebuild`, so both always agree).
    from pipeline.store.aggregates import rebuild_in

    rebuild_in(op.get_bind())


def downgrade() -> None:
    op.drop_table("data_version")
    op.drop_table("source_counts")
    op.drop_table("first_seen")
    op.drop_table("daily_counts")
