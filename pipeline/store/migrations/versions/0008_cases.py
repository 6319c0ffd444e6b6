"""Petitions become cases (status, owner, due date, review) and alerts get an assignee; both
keep a history of who changed what

Revision ID: 0008
Revises: 0007

Existing petitions start as 'received' and unreviewed; their due date follows from their
source type and receipt day until someone sets one.
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'


def upgrade() -> None:
    # Plain ADD COLUMN: rebuilding the table would trip the foreign keys that point at it.
    op.add_column('petitions', sa.Column('case_status', sa.String(20), nullable=False,
                                         server_default='received'))
    op.add_column('petitions', sa.Column('owner', sa.Text(), nullable=True))
    op.add_column('petitions', sa.Column('due_on', sa.Date(), nullable=True))
    op.add_column('petitions', sa.Column('answered_on', sa.Date(), nullable=True))
    op.add_column('petitions', sa.Column('reviewed_at', sa.DateTime(), nullable=True))
    op.add_column('petitions', sa.Column('reviewed_by', sa.Text(), nullable=True))
    op.add_column('petitions', sa.Column('model_topics', sa.JSON(), nullable=True))
    op.add_column('petitions', sa.Column('model_signals', sa.JSON(), nullable=True))
    op.create_index('ix_petitions_case_status', 'petitions', ['case_status'])
    op.create_index('ix_petitions_reviewed_at', 'petitions', ['reviewed_at'])
    op.add_column('alerts', sa.Column('assignee', sa.Text(), nullable=True))
    op.create_table(
        'petition_events',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('petition_id', sa.Integer(), sa.ForeignKey('petitions.id'), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('user_name', sa.Text(), nullable=False),
        sa.Column('action', sa.String(20), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
    )
    op.create_index('ix_petition_events_petition_id', 'petition_events', ['petition_id'])
    op.create_table(
        'alert_events',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('alert_id', sa.Integer(), sa.ForeignKey('alerts.id'), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('user_name', sa.Text(), nullable=False),
        sa.Column('action', sa.String(20), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
    )
    op.create_index('ix_alert_events_alert_id', 'alert_events', ['alert_id'])


def downgrade() -> None:
    op.drop_index('ix_alert_events_alert_id', 'alert_events')
    op.drop_table('alert_events')
    op.drop_index('ix_petition_events_petition_id', 'petition_events')
    op.drop_table('petition_events')
    with op.batch_alter_table('alerts') as batch:
        batch.drop_column('assignee')
    op.drop_index('ix_petitions_reviewed_at', 'petitions')
    op.drop_index('ix_petitions_case_status', 'petitions')
    with op.batch_alter_table('petitions') as batch:
        for column in ('model_signals', 'model_topics', 'reviewed_by', 'reviewed_at',
                       'answered_on', 'due_on', 'owner', 'case_status'):
            batch.drop_column(column)
