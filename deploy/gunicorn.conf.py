"""gunicorn's settings for Kadouri (`gunicorn -c deploy/gunicorn.conf.py kadouri.wsgi`), each from the environment
with a default fit for a 2-core machine. docs/deploy.md#gunicorn explains them.

The access log never shows a query string (where the OAuth callback's code and state travel) nor a referrer, and
goes through the same redaction as every other log line (kadouri/logging.py), plain or JSON like LOG_FORMAT.
"""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the redaction and formatters below live in the project


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


wsgi_app = "kadouri.wsgi:application"
chdir = str(REPO)
bind = os.environ.get("GUNICORN_BIND") or f"{os.environ.get('HOST', '127.0.0.1')}:{_int('PORT', 8000)}"
# Processes × threads: pages wait on PostgreSQL and, for a click, on one QuickBooks request; threads cover the wait.
workers = _int("WEB_CONCURRENCY", 2)
threads = _int("GUNICORN_THREADS", 4)
worker_class = "gthread"
# A click makes at most one QuickBooks attempt (read timeout QBO_HTTP_TIMEOUT, 30 s): room for it, then the worker
# is recycled rather than hanging on.
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 20)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then (jitter: never all at once), so a slow leak never grows.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)
# Whose X-Forwarded-* headers are believed: the TLS proxy's address only (BEHIND_TLS_PROXY in kadouri/settings.py).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or "127.0.0.1,::1"
proxy_allow_ips = forwarded_allow_ips
# Method, path without its query, protocol, status, bytes, milliseconds, user agent; the client's address as gunicorn
# saw it (the proxy's, behind one).
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or "-"
errorlog = os.environ.get("GUNICORN_ERROR_LOG") or "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL") or "info"
capture_output = False

_formatter = "json" if os.environ.get("LOG_FORMAT") == "json" else "plain"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"()": "kadouri.logging.PlainFormatter", "fmt": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "kadouri.logging.JsonFormatter"},
    },
    "filters": {"redact_secrets": {"()": "kadouri.logging.RedactSecretsFilter"}},
    "handlers": {
        "access": {
            "class": "logging.StreamHandler" if accesslog == "-" else "logging.handlers.WatchedFileHandler",
            **({"stream": "ext://sys.stdout"} if accesslog == "-" else {"filename": accesslog}),
            "formatter": _formatter,
            "filters": ["redact_secrets"],
        },
        "error": {
            "class": "logging.StreamHandler" if errorlog == "-" else "logging.handlers.WatchedFileHandler",
            **({"stream": "ext://sys.stderr"} if errorlog == "-" else {"filename": errorlog}),
            "formatter": _formatter,
            "filters": ["redact_secrets"],
        },
    },
    # gunicorn lays this over its own defaults, whose root logger names a handler this dict replaces.
    "root": {"level": "INFO", "handlers": ["error"]},
    "loggers": {
        "gunicorn.error": {"handlers": ["error"], "level": loglevel.upper(), "propagate": False},
        "gunicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
    },
}
