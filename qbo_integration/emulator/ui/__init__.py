"""The human UI at ``/_emulator/``: server-rendered HTML; forms POST then redirect (PRG).

``pages`` (what each URL shows), ``tables`` (one per list), ``actions`` (the forms), ``html`` (layout).
"""

from .pages import render

__all__ = ["render"]
