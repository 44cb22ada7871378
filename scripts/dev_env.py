"""Writes a development .env on first run: random secrets, QuickBooks pointed at the local emulator.

The ports come from PORT (the app, default 8000) and QBO_EMULATOR_PORT (the emulator, default 8001), as
scripts/run.sh uses them. An existing .env is never rewritten (its QBO_TOKEN_KEYS encrypts stored tokens); if it
points at other ports, a warning says so.
"""

import os
import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet

TEMPLATE = """# Written by `make run` for local development. Not for production (see .env.example).
DEBUG=true
SECRET_KEY={secret_key}
QBO_ENVIRONMENT=emulator
QBO_EMULATOR_URL={emulator_url}
QBO_CLIENT_ID=kadouri-dev-client
QBO_CLIENT_SECRET={client_secret}
QBO_REDIRECT_URI={redirect_uri}
QBO_WEBHOOK_VERIFIER_TOKEN={verifier}
QBO_TOKEN_KEYS={token_key}
"""


def urls() -> dict[str, str]:
    port = os.environ.get("PORT") or "8000"
    emulator_port = os.environ.get("QBO_EMULATOR_PORT") or "8001"
    return {
        "emulator_url": f"http://127.0.0.1:{emulator_port}",
        "redirect_uri": f"http://127.0.0.1:{port}/api/quickbooks/callback",
    }


def main(path: str) -> None:
    target = Path(path)
    wanted = urls()
    if target.exists():
        text = target.read_text()
        for name, key in (("QBO_EMULATOR_URL", "emulator_url"), ("QBO_REDIRECT_URI", "redirect_uri")):
            if f"{name}={wanted[key]}\n" not in text:
                print(
                    f"Warning: {target} does not set {name}={wanted[key]} for PORT / QBO_EMULATOR_PORT; "
                    f"edit {target} to match.",
                    file=sys.stderr,
                )
        return
    target.write_text(
        TEMPLATE.format(
            secret_key=secrets.token_urlsafe(50),
            client_secret=secrets.token_urlsafe(24),
            verifier=secrets.token_hex(32),
            token_key=Fernet.generate_key().decode(),
            **wanted,
        )
    )
    target.chmod(0o600)
    print(f"Wrote {target} with development settings.")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".env")
