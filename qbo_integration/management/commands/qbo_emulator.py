"""``python manage.py qbo_emulator``: run the offline QuickBooks Online emulator (see
qbo_integration/emulator/README.md)."""

from __future__ import annotations

import os
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from qbo_integration.emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REDIRECT_URI,
    DEFAULT_VERIFIER_TOKEN,
    Emulator,
    LiveServer,
    StateFileError,
)


def _default(name: str, fallback: str) -> str:
    return os.environ.get(name) or getattr(settings, name, None) or fallback


class Command(BaseCommand):
    help = "Run the offline QuickBooks Online emulator (OAuth, Accounting API, webhooks, UI at /_emulator/)."
    # A separate system: the app's own QBO settings checks must not stop it.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument("--client-id", default=None, help="accepted client id (env QBO_CLIENT_ID)")
        parser.add_argument("--client-secret", default=None, help="accepted client secret (env QBO_CLIENT_SECRET)")
        parser.add_argument(
            "--redirect-uri",
            action="append",
            default=None,
            help="allowed redirect URI (repeatable; env QBO_REDIRECT_URI)",
        )
        parser.add_argument(
            "--webhook-url",
            action="append",
            default=None,
            help="where webhook notifications are delivered (repeatable: several app servers, each in turn)",
        )
        parser.add_argument(
            "--verifier-token", default=None, help="webhook verifier token (env QBO_WEBHOOK_VERIFIER_TOKEN)"
        )
        parser.add_argument("--webhook-format", choices=["legacy", "cloudevents"], default="legacy")
        parser.add_argument("--state-file", default=None, help="persist state here and reload it at start")
        parser.add_argument("--verbose-requests", action="store_true", help="log every HTTP request to stderr")
        parser.add_argument(
            "--seed",
            type=int,
            default=None,
            help="seed for the random choices of fault injection (fault rates, webhook drops/duplicates)",
        )

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        try:
            emulator = Emulator(
                client_id=options["client_id"] or _default("QBO_CLIENT_ID", DEFAULT_CLIENT_ID),
                client_secret=options["client_secret"] or _default("QBO_CLIENT_SECRET", DEFAULT_CLIENT_SECRET),
                redirect_uris=options["redirect_uri"] or [_default("QBO_REDIRECT_URI", DEFAULT_REDIRECT_URI)],
                webhook_url=(options["webhook_url"] or [None])[0],
                verifier_token=(
                    options["verifier_token"] or _default("QBO_WEBHOOK_VERIFIER_TOKEN", DEFAULT_VERIFIER_TOKEN)
                ),
                webhook_format=options["webhook_format"],
                state_file=options["state_file"],
                seed=options["seed"],
            )
        except StateFileError as exc:
            raise CommandError(str(exc)) from exc
        try:
            server = LiveServer(emulator, options["host"], options["port"], verbose=options["verbose_requests"]).start()
        except OSError as exc:
            raise CommandError(f"cannot listen on {options['host']}:{options['port']}: {exc}") from exc
        elapsed = time.monotonic() - started
        self.stdout.write(f"QBO emulator listening on {server.url} (started in {elapsed:.2f} s)")
        self.stdout.write(f"  discovery:  {server.url}/.well-known/openid_configuration")
        self.stdout.write(f"  API base:   {server.url}/v3  (python-quickbooks api_url_v3 / sandbox_api_url_v3)")
        self.stdout.write(f"  UI:         {server.url}/_emulator/")
        companies = ", ".join(f"{c['realm_id']} {c['name']}" for c in emulator.companies())
        self.stdout.write(f"  companies:  {companies}")
        if options["webhook_url"]:
            emulator.configure_webhooks(urls=options["webhook_url"])
            self.stdout.write(f"  webhooks:   {options['webhook_format']} -> {', '.join(options['webhook_url'])}")
        if options["state_file"]:
            self.stdout.write(f"  state file: {options['state_file']}")
        self.stdout.flush()
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            self.stdout.write("stopping")
        finally:
            server.stop()
