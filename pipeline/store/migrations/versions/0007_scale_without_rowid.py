"""SQLite keeps the LSH buckets and the day term counts in their key order (WITHOUT ROWID)

Revision ID: 0007
Revises: 0006

Both tables are written by the thousand at every ingest, each row at a random place of its key.
As ordinary SQLite tables each row lived twice, in the table and in its primary-key index, and a
batch dirtied a page of each; keyed by their primary key alone they take half the pages and half
the writes. PostgreSQL is left as it is.
"""

from alembic import op

revision = '0007'
down_revision = '0006'

_TABLES = {
    "near_duplicate_bands": (
        "band_hash BIGINT NOT NULL, band SMALLINT NOT NULL, cluster_id INTEGER NOT NULL, "
        "petition_id INTEGER NOT NULL REFERENCES petitions (id), "
        "PRIMARY KEY (band_hash, band, cluster_id)",
        "band_hash, band, cluster_id, petition_id",
    ),
    "term_days": (
        "term VARCHAR(80) NOT NULL, day DATE NOT NULL, petitions INTEGER NOT NULL, "
        "PRIMARY KEY (term, day)",
        "term, day, petitions",
    ),
}


def _rebuild(rowid: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, (columns, names) in _TABLES.items():
        op.execute(f"CREATE TABLE {table}_new ({columns}){'' if rowid else ' WITHOUT ROWID'}")
        op.execute(f"INSERT INTO {table}_new ({names}) SELECT {names} FROM {table} "
                   f"ORDER BY {names.rsplit(',', 1)[0] if table == 'term_days' else names}")
        op.execute(f"DROP TABLE {table}")
        op.execute(f"ALTER TABLE {table}_new RENAME TO {table}")


def upgrade() -> None:
    _rebuild(rowid=False)


def downgrade() -> None:
    _rebuild(rowid=True)
