"""The UI's pages: the companies index (clock, webhooks), a company's overview, and one list page per kind."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qsl

from ..core import EmulatorCore
from ..web.responses import Response
from .actions import post
from .delivery_pages import MAIL_TAB, mail_page, pay, pay_page
from .html import KINDS, ROOT, esc, flash, page, tabs, title
from .tables import TABLES


def render(emu: EmulatorCore, method: str, path: str, params: dict[str, str], body: bytes) -> Response:
    parts = [part for part in path[len(ROOT) :].split("/") if part]
    if method == "POST":
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if len(parts) == 3 and parts[0] == "pay":
            return pay(emu, parts[1], parts[2], form)
        return post(emu, parts, form)
    if method not in ("GET", "HEAD"):
        return page(405, "Method not allowed", "<p>Use GET or POST.</p>")
    if not parts:
        return _index(emu, params)
    if len(parts) == 3 and parts[0] == "pay":
        return pay_page(emu, parts[1], parts[2], params)
    if parts[0] == "company" and len(parts) >= 2 and parts[1] in emu.api.companies:
        realm = parts[1]
        if len(parts) == 2:
            return _company(emu, realm, params)
        if len(parts) == 3 and parts[2] in KINDS:
            return _list(emu, realm, parts[2], params)
        if len(parts) == 3 and parts[2] == MAIL_TAB:
            return mail_page(emu, realm, params)
    return page(404, "Not found", f"<p>No page at {html.escape(path)}.</p>")


def _index(emu: EmulatorCore, params: dict[str, str]) -> Response:
    rows = "".join(
        f'<tr id="company-{esc(c["realm_id"])}"><td>{esc(c["realm_id"])}</td>'
        f'<td><a href="{ROOT}/company/{esc(c["realm_id"])}/">{esc(c["name"])}</a>'
        f'<br><small class="muted">{esc(c["summary"])}</small></td>'
        + "".join(f'<td><a href="{ROOT}/company/{esc(c["realm_id"])}/{kind}">{title(kind)}</a></td>' for kind in KINDS)
        + "</tr>"
        for c in emu.companies()
    )
    hook = emu.webhooks.config
    pending = len(emu.webhooks.pending_events())
    body = f"""{flash(params)}
<h1>Companies</h1>
<table id="companies"><thead><tr><th>Realm ID</th><th>Company</th><th colspan="{len(KINDS)}">Browse</th></tr></thead>\
<tbody>{rows}</tbody></table>
<div class="card"><h2>Clock</h2><p>Emulator time: \
<strong id="clock-now">{esc(emu.now().isoformat(timespec="seconds"))}</strong>
(offset {emu.clock.offset_seconds:.0f} s)</p>
<form method="post" action="{ROOT}/clock/advance" class="inline"><label for="advance-seconds">Advance seconds</label>
<input type="number" id="advance-seconds" name="seconds" value="3600" step="1">\
<button type="submit" id="advance-clock">Advance clock</button></form></div>
<div class="card"><h2>Webhooks</h2><p>Target: <code id="webhook-url">{esc(hook.url or "(none)")}</code>, format \
<code>{esc(hook.format)}</code>,
pending events: <strong id="webhook-pending">{pending}</strong>, attempts so far: {len(emu.webhooks.history)}</p>
<form method="post" action="{ROOT}/webhooks/flush" class="inline">\
<button type="submit" id="flush-webhooks">Flush webhooks</button></form></div>
<p class="muted">JSON control API under <code>{ROOT}/api/</code>; discovery document at
<a href="/.well-known/openid_configuration">/.well-known/openid_configuration</a>.</p>"""
    return page(200, "QuickBooks Online emulator", body)


def _company(emu: EmulatorCore, realm: str, params: dict[str, str]) -> Response:
    counts = "".join(
        f'<tr><td><a href="{ROOT}/company/{esc(realm)}/{kind}">{title(kind)}</a></td>'
        f'<td class="num" id="count-{kind}">{len(_records(emu, realm, entity))}</td></tr>'
        for kind, entity in KINDS.items()
    )
    body = f"""{tabs(realm, None)}{flash(params)}
<h1>{esc(emu.api.companies[realm].name)} <span class="muted">({esc(realm)})</span></h1>
<table id="summary"><thead><tr><th>List</th><th>Count</th></tr></thead><tbody>{counts}</tbody></table>"""
    return page(200, emu.api.companies[realm].name, body)


def _list(emu: EmulatorCore, realm: str, kind: str, params: dict[str, str]) -> Response:
    records = _records(emu, realm, KINDS[kind])
    body = f"""{tabs(realm, kind)}{flash(params)}
<h1>{title(kind)} <span class="muted">— {esc(emu.api.companies[realm].name)}</span></h1>
{TABLES[kind](realm, records)}"""
    return page(200, f"{title(kind)} — {emu.api.companies[realm].name}", body)


def _records(emu: EmulatorCore, realm: str, entity: str) -> list[dict]:
    """Live (not deleted) objects of one entity, by numeric Id."""
    dump = emu.dump(realm)
    raw: Any = dump.get(entity)
    if raw is None and isinstance(dump.get("entities"), dict):
        raw = dump["entities"].get(entity)
    if isinstance(raw, dict):
        raw = list(raw.values())
    objects = [obj for obj in (raw or []) if isinstance(obj, dict) and obj.get("status") != "Deleted" and "Id" in obj]
    return sorted(objects, key=lambda obj: (len(str(obj["Id"])), str(obj["Id"])))
