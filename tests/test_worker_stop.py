"""The worker stops within a few seconds of Ctrl-C even while its tasks are busy (issue 16, item 10).

django-q2's own stop waits for every running task and every task already handed to a worker; this runs the
worker `make run` starts, as its own processes on a throwaway SQLite database, keeps both workers busy with
30-second tasks (a third queued behind them), sends Ctrl-C to its process group and times how long until every
one of its processes is gone.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STOP_WITHIN = 6.0  # the grace (3 s) plus the kill, with room for a loaded machine


def _manage(env: dict, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def _group_alive(pgid: int) -> list[str]:
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive.append(stat.parent.name)
        except (OSError, IndexError, ValueError):
            continue
    return alive


def _wait_for(log: Path, text: str, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.read_text(errors="replace").count(text) >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"no {count}× {text!r} within {timeout} s:\n{log.read_text(errors='replace')[-3000:]}")


def _env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'worker.sqlite3'}",
        Q_SYNC="false",
        Q_WORKERS="2",
        DJANGO_SETTINGS_MODULE="kadouri.test_settings",
        PYTHONUNBUFFERED="1",
        QBO_WORKER_STOP_GRACE_SECONDS="3",
    )
    return env


def _start_worker(env: dict, log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "manage.py", "qbo_worker"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(worker: subprocess.Popen, signum: int) -> tuple[float, list[str]]:
    """Sends `signum` to the worker's whole process group; how long until none is left, and who is left."""
    started = time.monotonic()
    os.killpg(worker.pid, signum)
    while _group_alive(worker.pid) and time.monotonic() - started < 20:
        time.sleep(0.1)
    return time.monotonic() - started, _group_alive(worker.pid)


def _reap(worker: subprocess.Popen) -> None:
    if _group_alive(worker.pid):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


def test_ctrl_c_stops_a_busy_worker_within_seconds(tmp_path):
    env = _env(tmp_path)
    _manage(env, "migrate", "--noinput", "-v0")
    _manage(
        env, "shell", "-c", "from django_q.tasks import async_task\nfor _ in range(3): async_task('time.sleep', 30)"
    )
    log = tmp_path / "worker.log"
    worker = _start_worker(env, log)
    try:
        _wait_for(log, "processing", 2, timeout=60)  # both workers are inside a 30-second task
        took, left = _stop(worker, signal.SIGINT)  # Ctrl-C: the whole group
    finally:
        _reap(worker)
    assert not left and took < STOP_WITHIN, (
        f"the worker took {took:.1f} s to stop (left: {left}):\n{log.read_text(errors='replace')[-3000:]}"
    )
    assert "killing" in log.read_text()  # it said what it did


def test_sigterm_to_the_whole_group_stops_an_idle_worker(tmp_path):
    """systemd's stop and `kill -- -PGID` send SIGTERM to every process of the worker at once; django-q2's own
    processes die of it, and the worker once waited for ever on a lock one of them held."""
    env = _env(tmp_path)
    _manage(env, "migrate", "--noinput", "-v0")
    log = tmp_path / "worker.log"
    worker = _start_worker(env, log)
    try:
        _wait_for(log, "running", 1, timeout=60)
        time.sleep(6)  # past the cluster's start-up: its processes now poll the shared stop event in their loops
        took, left = _stop(worker, signal.SIGTERM)
    finally:
        _reap(worker)
    assert not left and took < STOP_WITHIN, (
        f"the worker took {took:.1f} s to stop (left: {left}):\n{log.read_text(errors='replace')[-3000:]}"
    )
