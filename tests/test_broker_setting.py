"""Q_BROKER picks django-q2's broker for every process (docs/multi-machine.md#the-task-queue)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SHOW = "from django.conf import settings; import json; print(json.dumps(settings.Q_CLUSTER))"


def _cluster(**env: str) -> subprocess.CompletedProcess:
    keep = {k: v for k, v in os.environ.items() if k not in ("Q_BROKER", "REDIS_URL")}
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {SHOW}"],
        cwd=BASE_DIR,
        env=keep | {"DJANGO_SETTINGS_MODULE": "kadouri.test_settings"} | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_database_is_the_queue_by_default():
    cluster = json.loads(_cluster().stdout)
    assert cluster["orm"] == "default" and "redis" not in cluster


def test_redis_is_the_queue_when_asked():
    cluster = json.loads(_cluster(Q_BROKER="redis", REDIS_URL="redis://10.0.0.5:6379/2").stdout)
    assert cluster["redis"] == "redis://10.0.0.5:6379/2" and "orm" not in cluster


def test_redis_without_its_url_or_another_broker_is_refused_at_start():
    for env in (
        {"Q_BROKER": "redis", "REDIS_URL": ""},
        {"Q_BROKER": "rabbitmq", "REDIS_URL": "redis://127.0.0.1:6379/0"},
    ):
        result = _cluster(**env)
        assert result.returncode != 0 and "Q_BROKER must be orm, or redis with REDIS_URL set." in result.stderr
