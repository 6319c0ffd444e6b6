"""Near-duplicate texts: MinHash signatures, LSH bands and the cluster a new text joins.

Everything here is pure: a signature is a tuple of plain ints computed from one text and
explicit parameters, so the per-text work can run in worker processes; `ClusterIndex` places
signatures one after another in memory and is used both at ingest (primed with the buckets
already stored) and on a bare petition frame.

Two texts are near-duplicates when the estimated Jaccard similarity of their sets of
`shingle_size`-syllable shingles (lower-cased, diacritics folded, so an unaccented copy
matches its accented original) is at least `NEAR_DUPLICATE_JACCARD`. With 128 permutations
in 32 bands of 4 rows, a pair at Jaccard 0.5 shares a band with probability 0.87, at 0.6
with 0.99; a pair at 0.2 only with 0.05, so few candidates need checking.

A band value shared by very many clusters is boilerplate (an opening or closing formula), not a
sign of a copy: a bucket keeps only the first `BUCKET_CAP` clusters that had its value, so the
candidates of a new text stay bounded however many petitions are stored (without the cap, ingest
slowed down as the database grew). A copy is still found through its other bands; the members
kept are the same whatever the batch split, since texts are placed in id order.
"""

from __future__ import annotations

import hashlib
import operator
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from datasketch import MinHash

from pipeline.intake.normalize import fold_diacritics

NUM_PERM = 128
BANDS = 32
SHINGLE_SIZE = 3
SEED = 20250316
# Estimated Jaccard similarity of the shingle sets from which two texts are near-duplicates:
# a letter copied with a different name, address or a few changed words stays above it, two
# letters that only share the opening and closing formulas fall below it.
NEAR_DUPLICATE_JACCARD = 0.5
# Clusters kept per LSH bucket (see the module's docstring).
BUCKET_CAP = 50

_SYLLABLE = re.compile(r"\w+", re.UNICODE)

Signature = tuple[int, ...]


def shingles(text: str, size: int = SHINGLE_SIZE) -> set[str]:
    """Return the set of `size`-syllable shingles of the folded text (the text if shorter)."""
    tokens = _SYLLABLE.findall(fold_diacritics(text))
    if len(tokens) < size:
        folded = " ".join(tokens) or " ".join(fold_diacritics(text).split())
        return {folded} if folded else set()
    return {" ".join(tokens[i:i + size]) for i in range(len(tokens) - size + 1)}


def signature(
    text: str, *, num_perm: int = NUM_PERM, shingle_size: int = SHINGLE_SIZE, seed: int = SEED
) -> Signature:
    """Return the MinHash signature of a text as `num_perm` plain ints (pure, picklable)."""
    if num_perm < 1 or shingle_size < 1:
        raise ValueError("num_perm và shingle_size phải ≥ 1")
    sketch = MinHash(num_perm=num_perm, seed=seed, permutations=_permutations(num_perm, seed),
                     scheme="affine32")
    sketch.update_batch([s.encode("utf-8") for s in sorted(shingles(text, shingle_size))])
    return tuple(int(v) for v in sketch.hashvalues)


@lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int) -> Any:
    # Drawing the permutations costs more than hashing a letter's shingles: draw them once
    # per (num_perm, seed); they are the very ones MinHash(num_perm, seed) draws itself.
    return MinHash(num_perm=num_perm, seed=seed).permutations


def estimated_jaccard(a: Sequence[int], b: Sequence[int]) -> float:
    """Return the share of equal positions of two signatures (the estimated Jaccard)."""
    if len(a) != len(b) or not a:
        raise ValueError("hai chữ ký MinHash phải cùng độ dài và không rỗng")
    return sum(map(operator.eq, a, b)) / len(a)


def band_hashes(sig: Sequence[int], bands: int = BANDS) -> list[int]:
    """Return one signed 64-bit hash per LSH band (fits a BIGINT column on every database)."""
    if bands < 1 or len(sig) % bands:
        raise ValueError(f"độ dài chữ ký {len(sig)} phải chia hết cho số dải {bands}")
    rows = len(sig) // bands
    hashes = []
    for band in range(bands):
        data = b"".join(int(v).to_bytes(8, "little") for v in sig[band * rows:(band + 1) * rows])
        digest = hashlib.blake2b(data, digest_size=8).digest()
        hashes.append(int.from_bytes(digest, "little", signed=True))
    return hashes


def pack_signature(sig: Sequence[int]) -> bytes:
    """Return a signature as bytes for storage (4 bytes a value: MinHash values are < 2**32)."""
    return struct.pack(f"<{len(sig)}I", *sig)


def unpack_signature(data: bytes) -> Signature:
    """Return the signature stored by `pack_signature`."""
    return struct.unpack(f"<{len(data) // 4}I", data)


def signature_array(data: bytes | Sequence[int]) -> np.ndarray:
    """Return a stored (packed) or plain signature as an unsigned 32-bit array."""
    if isinstance(data, bytes | bytearray | memoryview):
        return np.frombuffer(bytes(data), dtype="<u4")
    return np.asarray(data, dtype=np.uint32)


@dataclass(frozen=True)
class Placement:
    """Where one text went: its cluster, the member it matched best (None if it started one)."""

    petition_id: int
    cluster_id: int
    matched_id: int | None
    similarity: float | None
    new_buckets: tuple[tuple[int, int], ...]  # (band, band hash) first seen for this cluster


@dataclass
class ClusterIndex:
    """LSH buckets → (cluster, first member with that band value), and members' signatures.

    `add` places texts one by one: the candidates are the members sharing a band, the best
    candidate at or above `threshold` (highest similarity, then lowest id) gives its cluster,
    otherwise the text starts a cluster named by its own id. The result depends only on the
    order of the texts, never on how they were split into batches.
    """

    bands: int = BANDS
    threshold: float = NEAR_DUPLICATE_JACCARD
    cap: int = BUCKET_CAP
    buckets: dict[tuple[int, int], dict[int, int]] = field(default_factory=dict)
    signatures: dict[int, np.ndarray] = field(default_factory=dict)
    clusters: dict[int, int] = field(default_factory=dict)

    def prime(self, band: int, band_hash: int, cluster_id: int, petition_id: int,
              sig: bytes | Sequence[int]) -> None:
        """Record a stored bucket entry (read from the database before placing new texts).

        Entries must come in petition id order: a full bucket ignores later ones, as `add` does.
        """
        members = self.buckets.setdefault((band, band_hash), {})
        if cluster_id in members or len(members) >= self.cap:
            return
        members[cluster_id] = petition_id
        if petition_id not in self.signatures:
            self.signatures[petition_id] = signature_array(sig)
        self.clusters[petition_id] = cluster_id

    def add(self, petition_id: int, sig: Signature,
            hashes: Sequence[int] | None = None) -> Placement:
        """Place one text after every text added or primed before it.

        `hashes` are the signature's band hashes when the caller has them already.
        """
        keys = list(enumerate(hashes if hashes is not None else band_hashes(sig, self.bands)))
        candidates = sorted({pid for key in keys for pid in self.buckets.get(key, {}).values()})
        values = signature_array(sig)
        best: tuple[float, int] | None = None
        if candidates:
            # All candidates at once: the share of equal positions, as estimated_jaccard.
            equal = np.count_nonzero(np.stack([self.signatures[pid] for pid in candidates])
                                     == values, axis=1)
            top = int(np.argmax(equal))  # the first of the best: the lowest id
            score = int(equal[top]) / len(values)
            if score >= self.threshold:
                best = (score, candidates[top])
        cluster = self.clusters[best[1]] if best else petition_id
        fresh = []
        for key in keys:
            members = self.buckets.setdefault(key, {})
            if cluster not in members and len(members) < self.cap:
                members[cluster] = petition_id
                fresh.append(key)
        self.signatures[petition_id] = values
        self.clusters[petition_id] = cluster
        return Placement(petition_id, cluster, best[1] if best else None,
                         best[0] if best else None, tuple(fresh))


def cluster_texts(items: Iterable[tuple[int, str]], **options: float | int) -> dict[int, int]:
    """Return {id: cluster id} for (id, text) pairs placed in id order, in memory."""
    index = ClusterIndex(**options)  # type: ignore[arg-type]
    return {pid: index.add(pid, signature(text)).cluster_id for pid, text in sorted(items)}
