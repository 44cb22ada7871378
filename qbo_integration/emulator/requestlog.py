"""The request log: every OAuth and Accounting API request the emulator answered (not ``/_emulator/``)."""

from __future__ import annotations

import re
import threading


class RequestLog:
    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock  # the emulator's own lock, shared with every change to its state
        self._entries: list[dict] = []
        self._seq = 0

    def add(self, entry: dict) -> None:
        with self._lock:
            self._seq += 1
            self._entries.append({"seq": self._seq, **entry})

    def entries(
        self,
        method: str | None = None,
        path: str | None = None,
        realm: str | None = None,
        status: int | None = None,
        subpath: str | None = None,
    ) -> list[dict]:
        with self._lock:
            entries = list(self._entries)
        return [entry for entry in entries if _matches(entry, method, path, realm, status, subpath)]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def _matches(
    entry: dict, method: str | None, path: str | None, realm: str | None, status: int | None, subpath: str | None
) -> bool:
    if method and entry["method"] != method.upper():
        return False
    if path and not re.search(path, entry["path"]):
        return False
    if realm and entry["realm"] != realm:
        return False
    if status is not None and entry["status"] != status:
        return False
    return not (subpath is not None and entry["subpath"] != subpath.strip("/"))
