"""Near-duplicate clusters, their LSH buckets and daily term counts

Revision ID: 0005
Revises: 0004

Petitions stored before this revision have no cluster and no term counts until
`tamtu rebuild-clusters` (pipeline.store.clusters.rebuild_index) places them.
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'


def upgrade() -> None:
    op.create_table('near_duplicate_clusters',
    sa.Column('petition_id', sa.Integer(), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.Column('matched_id', sa.Integer(), nullable=True),
    sa.Column('similarity', sa.Float(), nullable=True),
    sa.Column('signature', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['petition_id'], ['petitions.id'], ),
    sa.PrimaryKeyConstraint('petition_id')
    )
    with op.batch_alter_table('near_duplicate_clusters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_near_duplicate_clusters_cluster_id'), ['cluster_id'],
                              unique=False)

    op.create_table('near_duplicate_bands',
    sa.Column('band_hash', sa.BigInteger(), nullable=False),
    sa.Column('band', sa.SmallInteger(), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.Column('petition_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['petition_id'], ['petitions.id'], ),
    sa.PrimaryKeyConstraint('band_hash', 'band', 'cluster_id')
    )
    op.create_table('term_days',
    sa.Column('term', sa.String(length=80), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('petitions', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('term', 'day')
    )


def downgrade() -> None:
    op.drop_table('term_days')
    op.drop_table('near_duplicate_bands')
    with op.batch_alter_table('near_duplicate_clusters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_near_duplicate_clusters_cluster_id'))
    op.drop_table('near_duplicate_clusters')
