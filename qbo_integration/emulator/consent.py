"""The emulator's OAuth consent step: the authorize URL answers with the consent page (a company to pick,
Connect or Cancel) and, on a decision, redirects back with a code or an error
(docs/quickbooks/oauth.md#consent-and-callback).
Mixed into ``OAuthServer``, which holds the codes, the clock and the company list."""

from __future__ import annotations

import html
import secrets
from urllib.parse import parse_qsl, urlencode

from .web.responses import Response

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
CODE_SECONDS = 300
AUTHORIZE_PATH = "/connect/oauth2"
_PAGE_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;background:#f4f5f7;color:#1f2933;margin:0}
main{max-width:520px;margin:48px auto;background:#fff;border-radius:10px;\
padding:28px 32px;box-shadow:0 2px 10px rgba(0,0,0,.08)}
h1{font-size:1.3rem;margin-top:0}.brand{color:#2ca01c;font-weight:700}
fieldset{border:1px solid #d9dde3;border-radius:8px;padding:12px 16px;margin:16px 0}
label{display:block;padding:6px 0}.buttons{display:flex;gap:12px;margin-top:16px}
button{padding:10px 18px;border-radius:6px;border:1px solid #2ca01c;font-size:1rem;cursor:pointer}
#connect{background:#2ca01c;color:#fff}#cancel{background:#fff;color:#2ca01c}.muted{color:#616e7c;font-size:.9rem}
.error{color:#b42318}
"""


class ConsentEndpoint:
    """The authorize endpoint: needs ``config``, ``companies``, ``stats``, ``_codes``, ``_lock`` and ``_now``."""

    def _authorize(self, method: str, params: dict[str, str], body: bytes) -> Response:
        if method == "POST":
            params = {**params, **dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))}
        problem = self._client_problem(params)
        if problem:
            # Never redirect to an unverified redirect_uri (RFC 6749, section 4.1.2.1).
            return html_answer(400, _error_page(problem))
        redirect_uri, state = params["redirect_uri"], params.get("state", "")
        if params.get("response_type") != "code":
            return _redirect(redirect_uri, {"error": "unsupported_response_type", "state": state})
        if ACCOUNTING_SCOPE not in params.get("scope", "").split():
            return _redirect(redirect_uri, {"error": "invalid_scope", "state": state})
        if method != "POST":
            return html_answer(200, _consent_page(params, self.companies()))
        return self._decide(params, redirect_uri, state)

    def _client_problem(self, params: dict[str, str]) -> str | None:
        if params.get("client_id") != self.config.client_id:
            return "The client_id is not recognised."
        if params.get("redirect_uri") not in self.config.redirect_uris:
            return "The redirect_uri is not registered for this app."
        return None

    def _decide(self, params: dict[str, str], redirect_uri: str, state: str) -> Response:
        if params.get("action") != "connect":
            self.stats["denials"] += 1
            # RFC 6749 denial; Intuit specifics unverified (docs/quickbooks/oauth.md#consent-and-callback).
            return _redirect(redirect_uri, {"error": "access_denied", "state": state})
        realms = {company[0] for company in self.companies()}
        realm = params.get("realm_id", "")
        if realm not in realms:
            return html_answer(400, _error_page("Choose a company to connect."))
        code = "AB11" + secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = {
                "realm": realm,
                "client_id": params["client_id"],
                "redirect_uri": redirect_uri,
                "scope": params.get("scope", ACCOUNTING_SCOPE),
                "expires_at": self._now() + CODE_SECONDS,
                "used": False,
            }
            self.stats["authorizations"] += 1
        return _redirect(redirect_uri, {"code": code, "state": state, "realmId": realm})


def html_answer(status: int, text: str) -> Response:
    return status, {"Content-Type": "text/html; charset=utf-8"}, text.encode()


def _redirect(uri: str, params: dict[str, str]) -> Response:
    separator = "&" if "?" in uri else "?"
    return 302, {"Location": uri + separator + urlencode(params), "Content-Type": "text/plain"}, b""


def _consent_page(params: dict[str, str], companies: list[tuple[str, str, str]]) -> str:
    esc = html.escape
    hidden = "".join(
        f'<input type="hidden" name="{esc(key)}" value="{esc(params.get(key, ""))}">'
        for key in ("client_id", "redirect_uri", "response_type", "scope", "state")
    )
    choices = "".join(
        f'<label for="realm-{esc(realm)}">'
        f'<input type="radio" id="realm-{esc(realm)}" name="realm_id" value="{esc(realm)}"'
        f'{" checked" if index == 0 else ""}> <span class="name">{esc(name)}</span>'
        f' <span class="muted">({esc(realm)})</span>'
        f'<br><small class="muted">{esc(summary)}</small></label>'
        for index, (realm, name, summary) in enumerate(companies)
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Connect to QuickBooks (emulator)\
</title>
<style>{_PAGE_STYLE}</style></head><body><main>
<p class="brand">intuit quickbooks &middot; emulator</p>
<h1>Connect your QuickBooks company</h1>
<p class="muted">The app <strong id="client-id">{esc(params.get("client_id", ""))}\
</strong> wants access to your accounting data
(<code>{esc(params.get("scope", ""))}</code>).</p>
<form method="post" action="{AUTHORIZE_PATH}" id="consent-form">{hidden}
<fieldset><legend>Choose a company</legend>{choices}</fieldset>
<div class="buttons"><button type="submit" name="action" value="connect" id="connect">Connect</button>
<button type="submit" name="action" value="cancel" id="cancel">Cancel</button></div>
</form></main></body></html>"""


def _error_page(message: str) -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Authorization error</title>
<style>{_PAGE_STYLE}</style></head><body><main><h1>Authorization error</h1>
<p class="error" id="error">{html.escape(message)}</p></main></body></html>"""
