"""Where the per-text work of an ingest runs: in process, in a process pool, on a Dask cluster.

Every executor maps `process_records` over chunks of records and gives the results back in the
order of the chunks, so the one writer stores the same rows whichever executor ran the work.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol, TypeVar

from pipeline.process import (
    Outcome,
    Resources,
    ResourceSpec,
    process_records,
    process_with_spec,
    worker_resources,
)
from pipeline.records import Record

Chunk = Sequence[Record]
T = TypeVar("T")


class ChunkExecutor(Protocol):
    """Anything that maps the per-text work over chunks, results in the chunks' order."""

    def map_chunks(self, chunks: Iterable[Chunk]) -> Iterator[list[Outcome]]: ...


class InProcess:
    """The per-text work in the calling process, on resources it already holds."""

    def __init__(self, resources: Resources):
        self.resources = resources

    def map_chunks(self, chunks: Iterable[Chunk]) -> Iterator[list[Outcome]]:
        """Yield the outcomes of each chunk, processed here one after another."""
        for chunk in chunks:
            yield process_records(chunk, self.resources)


def in_order(
    submit: Callable[[T], Any], inputs: Iterable[T], window: int
) -> Iterator[Any]:
    """Yield the results of submitted futures in input order, at most `window` in flight.

    The window keeps memory flat on a backlog of millions while every worker stays busy.
    """
    in_flight: deque[Any] = deque()
    for item in inputs:
        in_flight.append(submit(item))
        if len(in_flight) >= window:
            yield in_flight.popleft().result()
    while in_flight:
        yield in_flight.popleft().result()


def default_workers() -> int:
    """Return the number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class ProcessPool:
    """The per-text work in `workers` processes, each loading the model and places once."""

    def __init__(self, spec: ResourceSpec, workers: int):
        if workers < 1:
            raise ValueError(f"số tiến trình phải từ 1 trở lên, nhận được {workers}")
        self.spec = spec
        self.workers = workers

    def map_chunks(self, chunks: Iterable[Chunk]) -> Iterator[list[Outcome]]:
        """Yield each chunk's outcomes in order; a single chunk runs here, without a pool."""
        pending = iter(chunks)
        first = next(pending, None)
        if first is None:
            return
        # Loaded before the workers start: forked workers inherit it instead of loading again.
        resources = worker_resources(self.spec)
        second = next(pending, None)
        if second is None:  # starting processes would cost more than the work itself
            yield process_records(first, resources)
            return
        context = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
        with ProcessPoolExecutor(
            max_workers=self.workers, mp_context=context, initializer=worker_resources,
            initargs=(self.spec,),
        ) as pool:
            yield from in_order(
                lambda chunk: pool.submit(process_with_spec, chunk, self.spec),
                _chain(first, second, pending), window=2 * self.workers,
            )


def _chain(first: Chunk, second: Chunk, rest: Iterator[Chunk]) -> Iterator[Chunk]:
    yield first
    yield second
    yield from rest
