"""petitions, duplicates, quarantine and ingest runs

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None


def upgrade() -> None:

    op.create_table('ingest_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('paths', sa.Text(), server_default='', nullable=False),
    sa.Column('read', sa.Integer(), server_default='0', nullable=False),
    sa.Column('stored', sa.Integer(), server_default='0', nullable=False),
    sa.Column('duplicates', sa.Integer(), server_default='0', nullable=False),
    sa.Column('quarantined', sa.Integer(), server_default='0', nullable=False),
    sa.Column('report_dir', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('petitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('source_key', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('text_raw', sa.Text(), nullable=False),
    sa.Column('received_at', sa.Date(), nullable=True),
    sa.Column('area_raw', sa.Text(), nullable=True),
    sa.Column('area', sa.Text(), server_default='chưa xác định', nullable=False),
    sa.Column('village', sa.Text(), nullable=True),
    sa.Column('commune', sa.Text(), nullable=True),
    sa.Column('province', sa.Text(), nullable=True),
    sa.Column('source_type', sa.String(length=20), nullable=False),
    sa.Column('external_id', sa.Text(), nullable=True),
    sa.Column('sender_name', sa.Text(), nullable=True),
    sa.Column('sender_contact', sa.Text(), nullable=True),
    sa.Column('channel', sa.Text(), nullable=True),
    sa.Column('is_response', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('no_diacritics', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('legacy_encoding', sa.String(length=10), nullable=True),
    sa.Column('topics', sa.JSON(), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('signals', sa.JSON(), nullable=False),
    sa.Column('source_file', sa.Text(), nullable=False),
    sa.Column('source_row', sa.Integer(), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_runs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('content_hash'),
    sa.UniqueConstraint('source_key')
    )
    with op.batch_alter_table('petitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_petitions_area'), ['area'], unique=False)
        batch_op.create_index(batch_op.f('ix_petitions_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_petitions_source_type'), ['source_type'], unique=False)

    op.create_table('quarantine',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_key', sa.String(length=64), nullable=False),
    sa.Column('source_file', sa.Text(), nullable=False),
    sa.Column('source_row', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('raw', sa.Text(), server_default='', nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_runs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source_key')
    )
    op.create_table('duplicates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('petition_id', sa.Integer(), nullable=False),
    sa.Column('source_key', sa.String(length=64), nullable=False),
    sa.Column('source_file', sa.Text(), nullable=False),
    sa.Column('source_row', sa.Integer(), nullable=True),
    sa.Column('sender_name', sa.Text(), nullable=True),
    sa.Column('received_at', sa.Date(), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['petition_id'], ['petitions.id'], ),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_runs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source_key')
    )
    with op.batch_alter_table('duplicates', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_duplicates_petition_id'), ['petition_id'], unique=False
        )

    op.create_table('petition_signals',
    sa.Column('petition_id', sa.Integer(), nullable=False),
    sa.Column('signal', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['petition_id'], ['petitions.id'], ),
    sa.PrimaryKeyConstraint('petition_id', 'signal')
    )
    with op.batch_alter_table('petition_signals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_petition_signals_signal'), ['signal'], unique=False)

    op.create_table('petition_topics',
    sa.Column('petition_id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=40), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['petition_id'], ['petitions.id'], ),
    sa.PrimaryKeyConstraint('petition_id', 'topic')
    )
    with op.batch_alter_table('petition_topics', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_petition_topics_topic'), ['topic'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('petition_topics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_petition_topics_topic'))

    op.drop_table('petition_topics')
    with op.batch_alter_table('petition_signals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_petition_signals_signal'))

    op.drop_table('petition_signals')
    with op.batch_alter_table('duplicates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duplicates_petition_id'))

    op.drop_table('duplicates')
    op.drop_table('quarantine')
    with op.batch_alter_table('petitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_petitions_source_type'))
        batch_op.drop_index(batch_op.f('ix_petitions_received_at'))
        batch_op.drop_index(batch_op.f('ix_petitions_area'))

    op.drop_table('petitions')
    op.drop_table('ingest_runs')

