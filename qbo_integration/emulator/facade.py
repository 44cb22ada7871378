"""``Emulator``: the one object that is the emulator — every part (``EmulatorCore``) behind one HTTP entry.

Used two ways: in-process (``handle``, behind the ``responses`` mock of ``testing``) or live (``serve`` /
``web.live.LiveServer``). Nothing below imports this module.
"""

from __future__ import annotations

from .core import EmulatorCore
from .limits import Slot
from .web import router
from .web.live import LiveServer
from .web.responses import Response


class Emulator(EmulatorCore):
    def take_slot(self, method: str, path_with_query: str, headers: dict[str, str]) -> Slot | None:
        """For a server, as soon as a request's headers arrive: an authorized Accounting API call takes its
        company's concurrency slot (or is refused one) before its body is read. Pass the slot to ``handle`` and
        release it when the answer is ready to be written. None for anything the limits don't cover."""
        return router.take_slot(self, method, path_with_query, headers)

    def handle(
        self,
        method: str,
        path_with_query: str,
        headers: dict[str, str] | None = None,
        body: bytes | str | None = b"",
        slot: Slot | None = None,
    ) -> Response:
        """Answer one HTTP request: ``(status, headers, body)``. Raises ``ConnectionDropped`` for a drop fault.
        ``slot``: the request's concurrency slot from ``take_slot``; without one, the call itself is counted."""
        return router.handle(self, method, path_with_query, headers, body, slot)

    def serve(self, host: str = "127.0.0.1", port: int = 0, webhook_thread: bool = True) -> LiveServer:
        return LiveServer(self, host, port, webhook_thread).start()
