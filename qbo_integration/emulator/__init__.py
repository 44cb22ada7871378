"""An offline QuickBooks Online: the Accounting API, Intuit OAuth and webhooks (see README.md).

The names other code uses are importable from here; README.md has the module map.
"""

from .core import (
    DEFAULT_BASE_URL,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_COMPANIES,
    DEFAULT_REDIRECT_URI,
    DEFAULT_VERIFIER_TOKEN,
)
from .facade import Emulator
from .persistence import StateFileError
from .web.live import LiveServer, make_wsgi_app
from .web.responses import ConnectionDropped

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_COMPANIES",
    "DEFAULT_REDIRECT_URI",
    "DEFAULT_VERIFIER_TOKEN",
    "ConnectionDropped",
    "Emulator",
    "LiveServer",
    "StateFileError",
    "make_wsgi_app",
]
