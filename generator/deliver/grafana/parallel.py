"""Bounded concurrency: at most N requests to Grafana in flight at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

Advance = Callable[[int], None]  # the progress bar moves on by n


def bounded_map(
    function: Callable[[T], R],
    items: Sequence[T],
    concurrency: int,
    advance: Advance | None = None,
) -> list[R]:
    """[function(item) for item in items], `concurrency` at a time, in the items' order.

    The first exception stops what has not started yet and is raised."""
    if not items:
        return []
    executor = ThreadPoolExecutor(
        max_workers=max(1, min(concurrency, len(items))), thread_name_prefix="obsgen-grafana"
    )
    futures: list[Future[R]] = []
    try:
        futures = [executor.submit(function, item) for item in items]
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            if advance is not None:
                advance(len(done))
            for future in done:
                if future.exception() is not None:
                    raise future.exception()  # type: ignore[misc]
        return [future.result() for future in futures]
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
