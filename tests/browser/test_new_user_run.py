"""New-user run (issue 7): on a fresh copy of the repository, the README's run command brings up the app, the
worker and the QuickBooks emulator; in Chromium the admin from the printed login connects QuickBooks, creates an
invoice, pays it in the emulator's bookkeeper UI and sees the order turn paid (webhook → worker).

Nothing here touches the test database: every process is the run command's own, on its own SQLite file.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
START_TIMEOUT = 90.0  # bootstrap (venv present), migrate, seed, three processes
PAID_TIMEOUT = 30.0  # webhook batch + delivery + the worker's inbox task
CTRL_C_GRACE = 10.0  # measured: everything is gone 1 s after Ctrl-C
# A new user's shell: none of pytest's DJANGO_SETTINGS_MODULE, DATABASE_URL (CI points it at PostgreSQL), QBO_*...
ENV_KEEP = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TERM", "TMPDIR", "SHELL")


# --- the fresh clone ----------------------------------------------------------------------------------


def _fresh_copy(target: Path) -> None:
    """The tracked files as they are in the working tree; no .env, db.sqlite3, var/ or anything untracked."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, check=True, capture_output=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = REPO / name
        if not source.is_file():  # deleted in the working tree: a clone of the next commit would not have it
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / name)
    for absent in (".env", "db.sqlite3", "var"):
        assert not (target / absent).exists(), f"{absent} is tracked: a fresh clone would not start clean"
    _borrow_venv(target)


def _borrow_venv(target: Path) -> None:
    """Reuse the project's installed packages: the copy's .venv links to each part of the project's .venv and
    holds its own requirements stamp, so scripts/bootstrap.sh installs nothing and nothing is written into the
    project's .venv. The stamp is only written after pip confirms, offline, that requirements.txt is installed."""
    venv = REPO / ".venv"
    assert (venv / "bin" / "python").exists(), "the project's .venv is missing: run `make test` once"
    (target / ".venv").mkdir()
    for part in venv.iterdir():
        if part.name != ".requirements.sha":
            (target / ".venv" / part.name).symlink_to(part)
    check = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--no-index",
            "--quiet",
            "-r",
            str(target / "requirements.txt"),
        ],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, (
        f"the project's .venv does not satisfy requirements.txt:\n{check.stdout}{check.stderr}"
    )
    stamp = hashlib.sha256((target / "requirements.txt").read_bytes()).hexdigest()
    (target / ".venv" / ".requirements.sha").write_text(stamp + "\n")


def _readme_run_command() -> str:
    """The command in the README's "Run it" code block, as a new user would copy it."""
    readme = (REPO / "README.md").read_text()
    section = re.search(r"^## Run it\n(.*?)(?=^## )", readme, re.S | re.M)
    assert section, "README.md has no '## Run it' section"
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", section.group(1), re.S)
    assert block, "README.md's 'Run it' section has no code block"
    lines = [line for line in block.group(1).splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert len(lines) == 1, f"expected one run command in the README, found {lines}"
    return lines[0].strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the run command as a process group -------------------------------------------------------------


class Run:
    def __init__(self, cwd: Path, log_path: Path, command: str, port: int, emulator_port: int):
        self.command = command
        self.log_path = log_path
        env = {k: os.environ[k] for k in ENV_KEEP if k in os.environ}
        env.update(PORT=str(port), QBO_EMULATOR_PORT=str(emulator_port), PYTHONUNBUFFERED="1")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            ["bash", "-c", command],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pgid = self.proc.pid

    def output(self, tail: int = 250) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines()
        cut = f"[... {len(lines) - tail} earlier lines ...]\n" if len(lines) > tail else ""
        return cut + "\n".join(lines[-tail:])

    def fail(self, message: str) -> None:
        pytest.fail(f"{message}\n\n--- output of `{self.command}` ---\n{self.output()}", pytrace=False)

    def wait_for_line(self, pattern: str, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.log_path.read_text(errors="replace"))
            if match:
                return match
            if self.proc.poll() is not None:
                self.fail(f"`{self.command}` exited with {self.proc.returncode} before printing /{pattern}/")
            time.sleep(0.1)
        self.fail(f"`{self.command}` printed no /{pattern}/ within {timeout:.0f} s")

    def wait_for_http(self, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.fail(f"`{self.command}` exited with {self.proc.returncode} before {url} answered")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
                    last = response.status
            except Exception as exc:  # refused while starting, or an HTTP error
                last = exc
            time.sleep(0.1)
        self.fail(f"{url} did not answer 200 within {timeout:.0f} s (last: {last!r})")

    def stop(self) -> list[str]:
        """Ctrl-C as a terminal sends it (SIGINT to the whole group: make, run.sh, runserver, emulator, qcluster and
        its workers), up to CTRL_C_GRACE seconds for a clean exit, then SIGKILL for whatever is left — always.
        Answers what Ctrl-C left running. (Not SIGTERM to the group: django-q2's cluster then waits forever for
        workers that already died.)"""
        left: list[str] = []
        for sig, grace in ((signal.SIGINT, CTRL_C_GRACE), (signal.SIGKILL, 3.0)):
            try:
                os.killpg(self.pgid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and _group_members(self.pgid):
                time.sleep(0.1)
            if sig == signal.SIGINT:
                left = _group_members(self.pgid)
            if not _group_members(self.pgid):
                break
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()
        return left


def _group_members(pgid: int) -> list[str]:
    """Live (non-zombie) processes still in the group, as "pid command"."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{stat.parent.name} {cmdline.strip()}")
        except (OSError, IndexError, ValueError):
            continue
    return found


@pytest.fixture
def new_user_run(tmp_path, request):
    clone = tmp_path / "kadouri"
    clone.mkdir()
    started = time.monotonic()
    _fresh_copy(clone)
    command = _readme_run_command()
    assert command == "make run", f"the README's run command changed to {command!r}; check this walk still fits"
    port = emulator_port = _free_port()
    while emulator_port == port:
        emulator_port = _free_port()
    run = Run(clone, tmp_path / "run-output.log", command, port, emulator_port)
    try:
        urls = run.wait_for_line(
            r"Kadouri CRM: (http://\S+/)\s+·\s+QuickBooks emulator: (http://\S+/_emulator/)", START_TIMEOUT
        )
        run.app_url, run.emulator_ui = urls.group(1), urls.group(2)
        if run.app_url != f"http://127.0.0.1:{port}/" or not run.emulator_ui.startswith(
            f"http://127.0.0.1:{emulator_port}/"
        ):
            run.fail(f"PORT={port} / QBO_EMULATOR_PORT={emulator_port} were not used: {urls.group(0)}")
        login = re.search(r"\badmin / ([^\s()]+)", run.log_path.read_text())
        if not login:
            run.fail("the run command printed no admin login")
        run.admin_password = login.group(1)
        run.wait_for_http(run.app_url + "login/", max(START_TIMEOUT - (time.monotonic() - started), 5))
        run.wait_for_http(run.emulator_ui, max(START_TIMEOUT - (time.monotonic() - started), 5))
        run.clone = clone
        run.ready_after = time.monotonic() - started
        yield run
    finally:
        left = run.stop()
        report = getattr(request.node, "rep_call", None)
        if report is None or report.failed or left:  # the whole output beside the page fixture's screenshot
            ARTIFACTS.mkdir(exist_ok=True)
            shutil.copy(run.log_path, ARTIFACTS / "new-user-run-output.log")
    if left and report is not None and report.passed:
        pytest.fail(f"Ctrl-C left these running for {CTRL_C_GRACE:.0f} s (killed since): {left}", pytrace=False)


# --- the walk -------------------------------------------------------------------------------------------


def _kadouri_csp(page, app_url: str) -> list[str]:
    """CSP reports and script errors seen on Kadouri's own pages (not on the emulator's)."""
    seen: list[str] = []
    page.on(
        "console",
        lambda msg: (
            "Content Security Policy" in msg.text
            and page.url.startswith(app_url)
            and seen.append(f"{page.url}: {msg.text}")
        ),
    )
    page.on("pageerror", lambda error: page.url.startswith(app_url) and seen.append(f"{page.url}: {error}"))
    return seen


def _webhook_report(run: Run) -> str:
    """What the emulator did with its webhooks, for the failure message."""
    base = run.emulator_ui.rstrip("/")
    try:
        with urllib.request.urlopen(f"{base}/api/webhooks", timeout=3) as response:
            return response.read().decode()[-4000:]
    except Exception as exc:
        return f"(could not read {base}/api/webhooks: {exc!r})"


def test_a_new_user_runs_the_readme_command_connects_invoices_and_sees_it_paid(new_user_run, page):
    run = new_user_run
    app = run.app_url
    timings = {"ready": run.ready_after}
    csp = _kadouri_csp(page, app)
    walk_started = time.monotonic()
    step = "start"
    try:
        # Kadouri's pages carry the Content-Security-Policy the walk is checked against.
        step = "security headers"
        with urllib.request.urlopen(app + "login/", timeout=5) as response:
            assert "default-src" in (response.headers.get("Content-Security-Policy") or ""), dict(response.headers)

        # Log in with the printed admin login.
        step = "log in"
        page.goto(app)
        expect(page).to_have_url(re.compile(r"/login/"))
        page.fill("#id_username", "admin")
        page.fill("#id_password", run.admin_password)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(app)

        # Settings → QuickBooks Integration → Connect to QuickBooks → the emulator's consent page.
        step = "connect QuickBooks"
        page.get_by_role("link", name="Settings", exact=True).click()
        expect(page.locator("h1")).to_contain_text("QuickBooks Integration")
        page.get_by_test_id("connect").click()
        page.wait_for_url(re.compile(r"/connect/oauth2"))
        assert page.url.startswith(run.emulator_ui.removesuffix("_emulator/")), page.url
        first = page.locator("input[type=radio][name=realm_id]").first
        first.check()
        company = page.locator(f"label[for='{first.get_attribute('id')}'] .name").inner_text().strip()
        page.click("#connect")
        page.wait_for_url(app + "settings/quickbooks/")
        expect(page.get_by_test_id("connection-state")).to_have_text("Connected")
        company_shown = page.get_by_test_id("company-name").inner_text().strip()
        assert company_shown == company, f"Settings shows {company_shown!r}; the consent page offered {company!r}"
        timings["connected"] = time.monotonic() - walk_started

        # A draft demo order → Create Invoice in QB → the QuickBooks invoice number.
        step = "create the invoice"
        page.get_by_role("link", name="Orders", exact=True).click()
        draft = page.locator("tbody tr").filter(has=page.get_by_test_id("status-badge").filter(has_text="Draft")).first
        number = draft.locator("td a").first.inner_text().strip()
        draft.locator("td a").first.click()
        expect(page.locator("h1")).to_contain_text(number)
        order_url = page.url.split("?")[0]
        page.locator("#qbo-panel").get_by_role("button", name="Create Invoice in QB").click()
        expect(page.get_by_test_id("qbo-outcome")).to_contain_text("created in QuickBooks")
        expect(page.get_by_test_id("qbo-doc")).to_have_text(re.compile(r"^Invoice #\S+$"))
        doc_number = page.get_by_test_id("qbo-doc").inner_text().split("#", 1)[1].strip()
        page.reload()  # the button swaps the QuickBooks panel only; the header badge is as of the page load
        expect(page.get_by_test_id("status-badge")).to_have_text("Posted to QuickBooks")
        timings["invoiced"] = time.monotonic() - walk_started

        # The bookkeeper, in the emulator's UI: find that invoice and record the full payment.
        step = "record the payment in the emulator"
        page.goto(run.emulator_ui)
        page.get_by_role("link", name=company_shown, exact=True).click()
        page.click("#tab-invoices")
        row = page.locator("tr[id^=invoice-]").filter(
            has=page.locator("td.docnumber", has_text=re.compile(rf"^{re.escape(doc_number)}$"))
        )
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Open")
        invoice_id = row.get_attribute("id").removeprefix("invoice-")
        page.click(f"#record-payment-{invoice_id}")
        expect(page.locator(f"#invoice-{invoice_id}")).to_contain_text("Paid")
        paid_in_qbo = time.monotonic()

        # Back in Kadouri: reload the order until the webhook has been processed by the worker.
        step = f"see the order paid within {PAID_TIMEOUT:.0f} s (webhook → worker)"
        deadline = paid_in_qbo + PAID_TIMEOUT
        while True:
            page.goto(order_url)
            if page.get_by_test_id("status-badge").inner_text().strip() == "Paid" or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        expect(page.get_by_test_id("status-badge")).to_have_text("Paid", timeout=1)
        timings["paid after payment"] = time.monotonic() - paid_in_qbo
        expect(page.get_by_test_id("payment-badge")).to_have_count(0)  # the status badge says Paid once
        expect(page.get_by_test_id("qbo-balance")).to_have_text("$0.00")
        page.goto(order_url + "?tab=activity")
        expect(page.get_by_test_id("activity-log")).to_contain_text("Payment received in QuickBooks")
        assert csp == [], f"CSP violations or script errors on Kadouri pages: {csp}"
    except Exception as exc:  # Playwright's and plain assertion errors; pytest.fail's outcome is not an Exception
        run.fail(
            f"New-user walk failed at step “{step}” ({page.url}):\n{type(exc).__name__}: {exc}\n\n"
            f"--- emulator webhooks ---\n{_webhook_report(run)}"
        )
    timings["walk"] = time.monotonic() - walk_started
    print("\nnew-user run timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
