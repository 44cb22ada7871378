"""The state file: what survives a restart (companies, tokens and grants, the clock offset, token stats).

Written after every mutating request by writing a temp file in the same directory, fsync, then ``os.replace``.
A file that cannot be used stops the emulator with ``StateFileError``: it is never reset silently. Not persisted:
fault rules, the request log, rate-limit windows, the webhook queue and configuration.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from .clock import Clock
from .engine import AccountingApi
from .oauth import OAuthServer

STATE_FORMAT = "qbo-emulator-state"
STATE_VERSION = 1
SECTIONS = ("clock_offset", "accounting", "oauth")


class StateFileError(Exception):
    """The state file cannot be used; the emulator refuses to start rather than reset it."""


def read_state_file(path: Path | None) -> dict | None:
    """The saved state, checked for shape; None when there is no file (yet)."""
    if path is None or not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise StateFileError(
            f"QBO emulator state file {path} is unreadable or corrupt ({exc}); refusing to start. "
            "Fix it, or move it away to start from a fresh seed."
        ) from exc
    if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
        raise StateFileError(f"QBO emulator state file {path} is not an emulator state file; refusing to start.")
    if data.get("version") != STATE_VERSION:
        raise StateFileError(
            f"QBO emulator state file {path} has version {data.get('version')!r}, "
            f"expected {STATE_VERSION}; refusing to start."
        )
    missing = [key for key in SECTIONS if key not in data]
    if missing:
        raise StateFileError(
            f"QBO emulator state file {path} is corrupt (missing {', '.join(missing)}); refusing to start."
        )
    return data


def snapshot(clock: Clock, api: AccountingApi, oauth: OAuthServer) -> dict:
    return {
        "format": STATE_FORMAT,
        "version": STATE_VERSION,
        "saved_at": datetime.now(UTC).isoformat(),
        "clock_offset": clock.offset_seconds,
        "accounting": api.to_state(),
        "oauth": oauth.to_state(),
    }


def restore(path: Path | None, state: dict, api: AccountingApi, oauth: OAuthServer) -> None:
    """Load the engine's and OAuth's sections (the clock offset is read when the clock is made)."""
    try:
        api.load_state(state["accounting"])
        oauth.load_state(state["oauth"])
    except Exception as exc:
        raise StateFileError(
            f"QBO emulator state file {path} is corrupt ({type(exc).__name__}: {exc}); refusing to start."
        ) from exc


def write_state_file(path: Path, state: dict) -> None:
    """Write atomically: a reader sees the old file or the new one, never half of one."""
    payload = json.dumps(state, indent=1, default=str)
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
