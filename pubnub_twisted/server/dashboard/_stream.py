"""Server-Sent Events to one browser, with a bounded buffer.

Each stream registers itself as the push producer of its response, so the
transport tells it when the browser stops reading (``pauseProducing``).
While paused, batches are not written but dropped, and the stream is only
marked as behind; once the transport drains (``resumeProducing``) the
browser is told to ``resync`` (fetch a fresh snapshot).  A slow or vanished
browser therefore holds at most one transport buffer of memory.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet.interfaces import IPushProducer
from twisted.web.server import Request
from zope.interface import implementer

__all__ = ["EventStream"]


@implementer(IPushProducer)
class EventStream:
    """One open ``text/event-stream`` response; :meth:`send` writes an event to it."""

    def __init__(self, request: Request, gone: Callable[[EventStream], object]) -> None:
        self._request = request
        self._gone = gone
        self.paused = False
        self.behind = False
        self.closed = False
        request.setHeader(b"Content-Type", b"text/event-stream; charset=utf-8")
        request.setHeader(b"Cache-Control", b"no-cache")
        request.setHeader(b"X-Accel-Buffering", b"no")
        request.registerProducer(self, True)
        request.notifyFinish().addBoth(self._finished)
        request.write(b"retry: 2000\n\n")

    def send(self, data: bytes, event: bytes | None = None) -> None:
        """Write one event (``data`` is one line of JSON), or drop it if the browser lags."""
        if self.closed:
            return
        if self.paused:
            self.behind = True
            return
        head = b"event: " + event + b"\n" if event else b""
        self._request.write(head + b"data: " + data + b"\n\n")

    def close(self) -> None:
        """End the response (the server is stopping)."""
        if not self.closed:
            self.closed = True
            self._request.unregisterProducer()
            self._request.finish()
            self._gone(self)

    def _finished(self, _: object) -> None:
        if not self.closed:
            self.closed = True
            self._gone(self)

    # -- IPushProducer ----------------------------------------------------------

    def pauseProducing(self) -> None:
        """The transport's buffer is full: stop writing."""
        self.paused = True

    def resumeProducing(self) -> None:
        """The buffer drained: write again, first telling a lagging browser to resync."""
        self.paused = False
        if self.behind and not self.closed:
            self.behind = False
            self.send(b"{}", b"resync")

    def stopProducing(self) -> None:
        """The connection is going away."""
        self._finished(None)
