"""Near-duplicate clusters and daily term counts, kept at ingest in the petitions' transaction.

`index_petitions` is called by `PetitionStore.write_batch` with the rows it has just inserted:
each citizen petition is placed in a cluster (MinHash LSH, see pipeline.text.neardup) after
every petition stored before it, and the day's term counts grow by its terms. Officials'
answers are neither clustered nor counted. The reads here serve the petition page and the
emerging-issue detector (`StoredEmergingHistory`), which never compares texts pairwise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from pipeline.store.database import chunks, write_rows
from pipeline.store.schema import (
    near_duplicate_bands,
    near_duplicate_clusters,
    petitions,
    term_days,
)
from pipeline.text.neardup import (
    BANDS,
    ClusterIndex,
    Placement,
    band_hashes,
    pack_signature,
    signature,
)
from pipeline.text.terms import day_terms

_CHUNK = 500


def index_petitions(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[Placement]:
    """Cluster the new citizen petitions and count their terms; return where each went.

    Each row needs `id`, `text`, `received_at` and `is_response`; `minhash` (a signature from
    pipeline.text.neardup.signature) and `day_terms` are used when the caller computed them.
    """
    citizen = sorted((r for r in rows if not r.get("is_response")), key=lambda r: int(r["id"]))
    placements = place_in_clusters(conn, citizen)
    add_day_terms(conn, citizen)
    return placements


def place_in_clusters(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[Placement]:
    """Place rows (in id order) after every stored petition; write clusters and new buckets."""
    if not rows:
        return []
    sigs = {int(r["id"]): tuple(r.get("minhash") or signature(str(r["text"]))) for r in rows}
    bands = {pid: band_hashes(sig, BANDS) for pid, sig in sigs.items()}
    index = ClusterIndex()
    _prime(conn, index, {h for hashes in bands.values() for h in hashes})
    placements = [index.add(pid, sig, bands[pid]) for pid, sig in sorted(sigs.items())]
    write_rows(conn, near_duplicate_clusters, [
        {"petition_id": p.petition_id, "cluster_id": p.cluster_id, "matched_id": p.matched_id,
         "similarity": p.similarity,
         # Only a member that opened a bucket can be a candidate later: others keep no signature.
         "signature": pack_signature(sigs[p.petition_id]) if p.new_buckets else None}
        for p in placements
    ])
    band_rows = [
        {"band_hash": band_hash, "band": band, "cluster_id": p.cluster_id,
         "petition_id": p.petition_id}
        for p in placements for band, band_hash in p.new_buckets
    ]
    write_rows(conn, near_duplicate_bands, band_rows)
    return placements


def _prime(conn: Connection, index: ClusterIndex, hashes: set[int]) -> None:
    # Integer lists written into the statement: tens of thousands of bucket probes per batch
    # cost one query per 5,000 instead of one compiled statement with as many parameters.
    entries: list[tuple[int, int, int, int]] = []
    for chunk in chunks(sorted(hashes), 5000):  # type: ignore[arg-type]
        entries.extend(conn.exec_driver_sql(
            "SELECT band, band_hash, cluster_id, petition_id FROM near_duplicate_bands "
            f"WHERE band_hash IN ({','.join(str(int(h)) for h in chunk)})"
        ).all())
    stored: dict[int, bytes] = {}
    for chunk in chunks(sorted({e[3] for e in entries}), 5000):  # type: ignore[arg-type]
        stored.update((int(pid), bytes(sig)) for pid, sig in conn.exec_driver_sql(
            "SELECT petition_id, signature FROM near_duplicate_clusters "
            f"WHERE petition_id IN ({','.join(str(int(p)) for p in chunk)})"
        ))
    # In id order: a bucket keeps its first members (a database written before the cap may
    # hold more; they are ignored as the cap would have kept them out).
    for band, band_hash, cluster_id, petition_id in sorted(entries, key=lambda e: e[3]):
        index.prime(int(band), int(band_hash), int(cluster_id), int(petition_id),
                    stored[petition_id])


def add_day_terms(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Add the dated rows' terms to the per-day petition counts (an upsert on both databases)."""
    counts: Counter[tuple[str, date | str]] = Counter()
    # SQLite stores a date as its ISO text: converted once a petition, not once a term.
    as_text = conn.dialect.name == "sqlite"
    for row in rows:
        received = row.get("received_at")
        if received is None:
            continue
        day = received.isoformat() if as_text else received
        terms = row.get("day_terms")
        counts.update((term, day) for term in (
            terms if terms is not None else day_terms(str(row["text"]))))
    if not counts:
        return
    # Sorted keys: two concurrent ingests lock the same rows in the same order.
    write_rows(conn, term_days, [{"term": t, "day": d, "petitions": n}
                                 for (t, d), n in sorted(counts.items())],
               conflict=("term", "day"), add=("petitions",))


def rebuild_index(engine: Engine, *, batch_size: int = 1000,
                  progress: Callable[[int], None] | None = None) -> int:
    """Rebuild clusters, buckets and term counts from the stored petitions; return how many.

    For databases upgraded to migration 0005 and for repairs: petitions are placed again in id
    order, batch after batch, which gives what ingest gives whatever the batch size.
    """
    with engine.begin() as conn:
        for table in (near_duplicate_bands, near_duplicate_clusters, term_days):
            conn.execute(table.delete())
    done, last = 0, 0
    columns = (petitions.c.id, petitions.c.text, petitions.c.received_at, petitions.c.is_response)
    while True:
        with engine.begin() as conn:
            rows = [dict(r._mapping) for r in conn.execute(
                sa.select(*columns).where(petitions.c.id > last)
                .order_by(petitions.c.id).limit(batch_size))]
            if not rows:
                return done
            index_petitions(conn, rows)
        done += len(rows)
        last = int(rows[-1]["id"])
        if progress is not None:
            progress(len(rows))


# ---------------------------------------------------------------------- reads
def count_near_duplicates(engine: Engine, run_id: int) -> int:
    """Return how many petitions stored by a run joined a cluster that already had members."""
    query = (
        sa.select(sa.func.count())
        .select_from(near_duplicate_clusters.join(
            petitions, petitions.c.id == near_duplicate_clusters.c.petition_id))
        .where(petitions.c.run_id == run_id, near_duplicate_clusters.c.matched_id.is_not(None))
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def cluster_of(conn: Connection, petition_id: int) -> tuple[int | None, list[dict[str, Any]]]:
    """Return a petition's cluster id and the other members (id, received_at, area), by id."""
    cluster_id = conn.execute(
        sa.select(near_duplicate_clusters.c.cluster_id)
        .where(near_duplicate_clusters.c.petition_id == petition_id)
    ).scalar_one_or_none()
    if cluster_id is None:
        return None, []
    members = conn.execute(
        sa.select(petitions.c.id, petitions.c.received_at, petitions.c.area)
        .join(near_duplicate_clusters, near_duplicate_clusters.c.petition_id == petitions.c.id)
        .where(near_duplicate_clusters.c.cluster_id == cluster_id, petitions.c.id != petition_id)
        .order_by(petitions.c.id)
    )
    return int(cluster_id), [dict(m._mapping) for m in members]


def cluster_ids(engine: Engine, petition_ids: Sequence[int]) -> dict[int, int]:
    """Return {petition id: cluster id} for the given petitions that have a cluster."""
    found: dict[int, int] = {}
    with engine.connect() as conn:
        for chunk in chunks(sorted(set(petition_ids)), _CHUNK):  # type: ignore[arg-type]
            found.update((pid, cid) for pid, cid in conn.execute(
                sa.select(near_duplicate_clusters.c.petition_id,
                          near_duplicate_clusters.c.cluster_id)
                .where(near_duplicate_clusters.c.petition_id.in_(chunk))
            ))
    return found


_CITIZEN = petitions.c.is_response.is_(False)


def clustered_rows_between(engine: Engine, start: date, end: date) -> list[dict[str, Any]]:
    """Return the citizen petitions received between two dates (inclusive), without their text.

    Each row has what hot-spot evidence needs: id, received_at, the areas, topics, signals,
    sender_name and `cluster` (its near-duplicate cluster id, None when it has none).
    """
    query = (
        sa.select(petitions.c.id, petitions.c.received_at, petitions.c.area,
                  petitions.c.village, petitions.c.commune, petitions.c.province,
                  petitions.c.source_type, petitions.c.topics, petitions.c.signals,
                  petitions.c.sender_name, near_duplicate_clusters.c.cluster_id.label("cluster"))
        .select_from(petitions.outerjoin(
            near_duplicate_clusters, near_duplicate_clusters.c.petition_id == petitions.c.id))
        .where(_CITIZEN, petitions.c.received_at >= start, petitions.c.received_at <= end)
        .order_by(petitions.c.id)
    )
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


class StoredEmergingHistory:
    """The time before an emerging-issue window, from stored clusters and term counts.

    Implements the `EmergingHistory` protocol of pipeline.monitor.emerging; dates inclusive.
    """

    def __init__(self, engine: Engine):
        self.engine = engine

    def _scalar(self, query: sa.Select[Any]) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(query).scalar_one()

    def first_day(self) -> date | None:
        """Return the oldest date of a stored citizen petition."""
        return self._scalar(sa.select(sa.func.min(petitions.c.received_at)).where(_CITIZEN))

    def petitions_between(self, start: date, end: date) -> int:
        """Return how many citizen petitions were received between two days."""
        return int(self._scalar(sa.select(sa.func.count()).select_from(petitions).where(
            _CITIZEN, petitions.c.received_at >= start, petitions.c.received_at <= end)))

    def cluster_members_between(self, clusters: Sequence[int], start: date, end: date
                                ) -> dict[int, int]:
        """Return {cluster id: citizen members received between two days}."""
        return self._grouped(
            near_duplicate_clusters.c.cluster_id, clusters,
            lambda chunk: sa.select(near_duplicate_clusters.c.cluster_id, sa.func.count())
            .join(petitions, petitions.c.id == near_duplicate_clusters.c.petition_id)
            .where(_CITIZEN, petitions.c.received_at >= start, petitions.c.received_at <= end,
                   near_duplicate_clusters.c.cluster_id.in_(chunk)))

    def term_petitions_between(self, terms: Sequence[str], start: date, end: date
                               ) -> dict[str, int]:
        """Return {term: citizen petitions holding it received between two days}."""
        return self._grouped(
            term_days.c.term, terms,
            lambda chunk: sa.select(term_days.c.term, sa.func.sum(term_days.c.petitions))
            .where(term_days.c.day >= start, term_days.c.day <= end,
                   term_days.c.term.in_(chunk)))

    def _grouped(self, key: Any, values: Sequence[Any],
                 query: Callable[[list[Any]], sa.Select[Any]]) -> dict[Any, int]:
        found: dict[Any, int] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(sorted(set(values)), _CHUNK):  # type: ignore[arg-type]
                found.update({k: int(n) for k, n in conn.execute(query(chunk).group_by(key))})
        return found
