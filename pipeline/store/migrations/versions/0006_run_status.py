"""Ingest runs say whether they finished, failed or still run, and which process runs them

Revision ID: 0006
Revises: 0005

Runs left unfinished before this revision are marked failed: no process of an older version
can still be writing once the database has been upgraded by a newer one.
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'


def upgrade() -> None:
    # Plain ADD COLUMN: rebuilding the table would trip the foreign keys that point at it.
    op.add_column('ingest_runs', sa.Column('status', sa.String(10), nullable=False,
                                           server_default='running'))
    op.add_column('ingest_runs', sa.Column('host', sa.Text(), nullable=True))
    op.add_column('ingest_runs', sa.Column('pid', sa.Integer(), nullable=True))
    op.add_column('ingest_runs', sa.Column('failure', sa.Text(), nullable=True))
    op.execute("UPDATE ingest_runs SET status = 'finished' WHERE finished_at IS NOT NULL")
    op.execute("UPDATE ingest_runs SET status = 'failed', "
               "failure = 'dừng giữa chừng trước khi có theo dõi tiến trình' "
               "WHERE finished_at IS NULL")


def downgrade() -> None:
    with op.batch_alter_table('ingest_runs') as batch:
        batch.drop_column('failure')
        batch.drop_column('pid')
        batch.drop_column('host')
        batch.drop_column('status')
