"""Streaming an export: the service writes into a pipe in its own thread; the response reads chunks from it.

Why a pipe and not a spooled temp file: the response starts as soon as the first 64 KiB are
written, and neither memory nor disk grows with the export. The pipe is a bounded queue of
chunks, so a slow client slows the writer down (memory stays near DEPTH x CHUNK), and the
store's point-in-time is held only while the client reads. The endpoint waits for the first
chunk (or the end, or an error) before it answers, so a store that is down or a bad request
still gets a proper 503 or 400. An error after that can only cut the response short: the
connection is closed without the final chunk, which clients report as an incomplete download.
A client that goes away cancels the export (its next write raises BrokenPipeError).
"""

from __future__ import annotations

import io
import logging
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
DEPTH = 8  # chunks in flight
STALL_SECONDS = 300.0  # a writer blocked this long (nobody reading) gives up


class _End:
    pass


END = _End()


class Pipe(io.RawIOBase):
    """A write-only binary file whose bytes come out of `next_item()` as chunks, then END or an exception."""

    def __init__(self, chunk: int = CHUNK, depth: int = DEPTH, stall: float = STALL_SECONDS) -> None:
        super().__init__()
        self._queue: queue.Queue[bytes | _End | BaseException] = queue.Queue(maxsize=depth)
        self._buf = bytearray()
        self._pos = 0
        self._chunk, self._stall = chunk, stall
        self.cancelled = threading.Event()

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def write(self, b: Any) -> int:
        if self.cancelled.is_set():
            raise BrokenPipeError("the client went away")
        data = bytes(b)
        self._buf += data
        self._pos += len(data)
        while len(self._buf) >= self._chunk:
            self._put(bytes(self._buf[: self._chunk]))
            del self._buf[: self._chunk]
        return len(data)

    def close(self) -> None:
        """Writers may close the file (pyarrow, TextIOWrapper do); the stream ends only with `finish`."""
        super().close()

    def finish(self, error: BaseException | None = None) -> None:
        """Called once by the writer thread: flush the rest, then END (or the error)."""
        try:
            if error is None and self._buf:
                self._put(bytes(self._buf))
            self._buf.clear()
            self._put(END if error is None else error)
        except BrokenPipeError:
            pass

    def _put(self, item: bytes | _End | BaseException) -> None:
        deadline = time.monotonic() + self._stall
        while True:
            if self.cancelled.is_set():
                raise BrokenPipeError("the client went away")
            try:
                self._queue.put(item, timeout=0.25)
                return
            except queue.Full:
                if time.monotonic() > deadline:
                    self.cancelled.set()
                    raise BrokenPipeError("nobody read the export for too long") from None

    def next_item(self) -> bytes | _End | BaseException:
        """The next chunk, END, or the writer's error; END once cancelled."""
        while not self.cancelled.is_set():
            try:
                return self._queue.get(timeout=0.25)
            except queue.Empty:
                continue
        return END

    def cancel(self) -> None:
        self.cancelled.set()
        while True:  # unblock a writer waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return


def start(write: Callable[[Pipe], Any], done: Callable[[], None]) -> tuple[Pipe, bytes | _End]:
    """Run `write(pipe)` in a thread; return the pipe and its first item (raising the writer's error if that
    came first). `done` runs when the writer thread ends, however it ends."""
    pipe = Pipe()

    def run() -> None:
        try:
            write(pipe)
        except BrokenPipeError as exc:
            log.info("export stopped: %s", exc)
            pipe.finish(exc)
        except BaseException as exc:  # handed to the reader
            pipe.finish(exc)
        else:
            pipe.finish()
        finally:
            done()

    try:
        threading.Thread(target=run, name="dfwatch-export", daemon=True).start()
    except BaseException:
        done()
        raise
    first = pipe.next_item()
    if isinstance(first, BaseException):
        raise first
    return pipe, first


async def body(pipe: Pipe, first: bytes | _End) -> AsyncIterator[bytes]:
    """The response body: chunks until END; a later error cuts the stream (and is logged)."""
    item: bytes | _End | BaseException = first
    try:
        while True:
            if isinstance(item, BaseException):
                log.error("export failed after it started streaming: %s", item)
                raise item
            if isinstance(item, _End):
                return
            yield item
            item = await anyio.to_thread.run_sync(pipe.next_item, abandon_on_cancel=True)
    finally:
        pipe.cancel()
