"""The per-text work on a Dask distributed cluster; results come back to the one writer.

Imported only when `--dask` (or TAMTU_DASK_ADDRESS) is used: dask.distributed is a heavy import.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from distributed import Client, WorkerPlugin

from pipeline.executors import Chunk, in_order
from pipeline.process import Outcome, ResourceSpec, process_with_spec, worker_resources

PLUGIN_NAME = "tamtu-resources"


class DaskClusterError(RuntimeError):
    """The Dask scheduler cannot be reached or its workers cannot load the resources."""


class ResourcesPlugin(WorkerPlugin):
    """Loads the model and places once in each worker, including workers that join later."""

    name = PLUGIN_NAME

    def __init__(self, spec: ResourceSpec):
        self.spec = spec

    def setup(self, worker: Any) -> None:
        """Load the resources into this worker process's cache before any task runs."""
        worker_resources(self.spec)


class DaskCluster:
    """The per-text work on the workers of a scheduler; use as a context manager."""

    def __init__(self, address: str, spec: ResourceSpec, *, timeout: float = 20.0):
        self.address = address
        self.spec = spec
        self.timeout = timeout
        self.client: Client | None = None

    def __enter__(self) -> DaskCluster:
        try:
            self.client = Client(self.address, timeout=self.timeout)
        except (OSError, TimeoutError) as error:
            raise DaskClusterError(
                f"không kết nối được bộ điều phối Dask tại '{self.address}' ({error})"
            ) from error
        try:
            self.client.register_plugin(ResourcesPlugin(self.spec), name=PLUGIN_NAME)
        except Exception as error:
            self.client.close()
            raise DaskClusterError(
                f"máy xử lý Dask không nạp được mô hình hoặc danh mục địa danh ({error})"
            ) from error
        return self

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def workers(self) -> int:
        """Return the number of worker threads the scheduler knows now (at least 1)."""
        assert self.client is not None, "use DaskCluster as a context manager"
        return max(1, sum(self.client.nthreads().values()))

    def map_chunks(self, chunks: Iterable[Chunk]) -> Iterator[list[Outcome]]:
        """Yield each chunk's outcomes in order, computed on the cluster's workers."""
        client = self.client
        assert client is not None, "use DaskCluster as a context manager"
        if not client.nthreads():
            raise DaskClusterError(f"bộ điều phối Dask '{self.address}' chưa có máy xử lý nào")
        yield from in_order(
            lambda chunk: client.submit(process_with_spec, list(chunk), self.spec, pure=False),
            chunks, window=2 * self.workers(),
        )
