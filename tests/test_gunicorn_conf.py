"""deploy/gunicorn.conf.py as gunicorn loads it: settings from the environment, and an access log that shows no
query string and no referrer, plain or one JSON object per line (LOG_FORMAT=json)."""

from __future__ import annotations

import json
import logging
import runpy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

CONF = Path(__file__).resolve().parents[1] / "deploy" / "gunicorn.conf.py"
OAUTH_URL = {"PATH_INFO": "/api/quickbooks/callback", "QUERY_STRING": "code=C0DE-1234567&state=ST4TE-7654321"}


def _config(monkeypatch, **env) -> Config:
    for name in ("PORT", "HOST", "GUNICORN_BIND", "WEB_CONCURRENCY", "GUNICORN_THREADS", "LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cfg = Config()
    for name, value in runpy.run_path(str(CONF)).items():
        if name in cfg.settings:
            cfg.set(name, value)
    return cfg


def _access_line(cfg: Config, capfd) -> str:
    logger = Logger(cfg)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"{OAUTH_URL['PATH_INFO']}?{OAUTH_URL['QUERY_STRING']}",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": "https://crm.example.com/settings/?state=REF-SECRET-99",
        "HTTP_USER_AGENT": "probe/1.0",
        **OAUTH_URL,
    }
    response = SimpleNamespace(status="302 Found", sent=0, headers=[])
    logger.access(response, SimpleNamespace(headers=[]), environ, timedelta(milliseconds=12))
    for handler in logging.getLogger("gunicorn.access").handlers:
        handler.flush()
    out = capfd.readouterr().out.strip().splitlines()
    assert out, "gunicorn wrote no access line"
    return out[-1]


@pytest.fixture(autouse=True)
def _restore_logging():
    loggers = {name: logging.getLogger(name) for name in ("gunicorn.access", "gunicorn.error", "")}
    saved = {name: (list(lg.handlers), lg.level, lg.propagate) for name, lg in loggers.items()}
    yield
    for name, (handlers, level, propagate) in saved.items():
        loggers[name].handlers, loggers[name].level, loggers[name].propagate = handlers, level, propagate


def test_it_takes_its_settings_from_the_environment(monkeypatch):
    cfg = _config(monkeypatch, PORT="8123", WEB_CONCURRENCY="3", GUNICORN_THREADS="6")

    assert cfg.bind == ["127.0.0.1:8123"]
    assert (cfg.workers, cfg.threads, cfg.worker_class_str) == (3, 6, "gthread")
    assert cfg.timeout == 60 and cfg.wsgi_app == "kadouri.wsgi:application"
    assert _config(monkeypatch, GUNICORN_BIND="unix:/run/kadouri.sock").bind == ["unix:/run/kadouri.sock"]


def test_the_access_log_shows_the_path_without_its_query_or_referrer(monkeypatch, capfd):
    line = _access_line(_config(monkeypatch), capfd)

    assert 'gunicorn.access: 127.0.0.1 "GET /api/quickbooks/callback HTTP/1.1" 302 0 12ms "probe/1.0"' in line
    assert "C0DE-1234567" not in line and "ST4TE-7654321" not in line and "REF-SECRET-99" not in line


def test_log_format_json_makes_the_access_log_one_json_object_per_line(monkeypatch, capfd):
    entry = json.loads(_access_line(_config(monkeypatch, LOG_FORMAT="json"), capfd))

    assert entry["logger"] == "gunicorn.access" and entry["level"] == "INFO"
    assert entry["message"] == '127.0.0.1 "GET /api/quickbooks/callback HTTP/1.1" 302 0 12ms "probe/1.0"'
