"""Work handed to one second thread, in order, a bounded number of pieces behind: writing new
pages costs this kind of machine's kernel about as much time as making them
(benchmarks/README.md), and leaves Python's lock, so the writes overlap the making of what
comes next. Used for the output's large pieces (`io.digest`) and the bounded audit text."""

from __future__ import annotations

from collections import deque
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

from .. import signals

T = TypeVar("T")


def result(future: Future[T]) -> T:
    """The future's result, waited for with signals deferred (as `io.publish` waits for its
    writers: an exception raised inside a lock of `threading` can hang the process)."""
    with signals.deferred():
        while not wait([future], timeout=0.05, return_when=FIRST_EXCEPTION).done:
            if signals.pending() is not None:
                signals.raise_pending()
        return future.result()


class Behind:
    """Jobs run in order in a second thread, at most `ahead` waiting; a job's error is raised
    to the caller at its next submit, drain or close."""

    def __init__(self, name: str, ahead: int) -> None:
        self.name = name
        self.ahead = ahead
        self._pool: ThreadPoolExecutor | None = None
        self._pending: deque[Future[Any]] = deque()

    def submit(self, job: Any, *args: Any) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.name)
        while len(self._pending) >= self.ahead:
            result(self._pending.popleft())
        self._pending.append(self._pool.submit(job, *args))

    def drain(self) -> None:
        """Wait until every job given is done (raising the first one's error)."""
        while self._pending:
            result(self._pending.popleft())

    def close(self, wait: bool = True) -> None:
        """Drain, then stop the thread; `wait=False` (after an error or a signal) waits for
        nothing and drops the jobs not started."""
        try:
            if wait:
                self.drain()
        finally:
            self._pending.clear()
            if self._pool is not None:
                self._pool.shutdown(wait=wait, cancel_futures=True)
                self._pool = None

    def __enter__(self) -> Behind:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: Any) -> None:
        self.close(wait=kind is None)
