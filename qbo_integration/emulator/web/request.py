"""One HTTP request as the emulator reads it, whichever way it came in (in-process, socket, WSGI)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from ..limits import Slot

# Set by the live server and the WSGI app; in-process calls have no socket and no Host of their own.
LIVE_MARKER_HEADER = "X-Qbo-Emulator-Live"


class Request:
    def __init__(
        self, method: str, path: str, params: dict[str, str], headers: dict[str, str], body: bytes, from_socket: bool
    ) -> None:
        self.method = method
        self.path = path
        self.params = params
        self.headers = headers
        self.body = body
        self.from_socket = from_socket
        self.delay = 0.0
        self.slot: Slot | None = None

    @classmethod
    def parse(cls, method: str, path_with_query: str, headers: dict[str, str], body: bytes | str | None) -> Request:
        parts = urlsplit(path_with_query)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        lowered = {str(key).lower(): str(value) for key, value in headers.items()}
        from_socket = lowered.pop(LIVE_MARKER_HEADER.lower(), "") == "1"
        raw = body.encode("utf-8") if isinstance(body, str) else (body or b"")
        return cls(method.upper(), parts.path or "/", params, lowered, raw, from_socket)

    @property
    def is_emulator_path(self) -> bool:
        return self.path == "/_emulator" or self.path.startswith("/_emulator/")

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def from_another_site(self) -> bool:
        """Browsers say where a request comes from; scripts and test clients send neither header."""
        fetch_site = self.headers.get("sec-fetch-site", "")
        if fetch_site and fetch_site not in ("same-origin", "none"):
            return True
        origin = self.headers.get("origin")
        return origin is not None and urlsplit(origin).netloc != self.headers.get("host", "")

    @property
    def bearer(self) -> str | None:
        value = self.headers.get("authorization", "")
        return value[7:].strip() or None if value[:7].lower() == "bearer " else None
