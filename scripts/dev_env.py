"""Writes a development .env on first run: random secrets, QuickBooks pointed at the local emulator."""

import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet

TEMPLATE = """# Written by `make run` for local development. Not for production (see .env.example).
DEBUG=true
SECRET_KEY={secret_key}
QBO_ENVIRONMENT=emulator
QBO_EMULATOR_URL=http://127.0.0.1:8001
QBO_CLIENT_ID=kadouri-dev-client
QBO_CLIENT_SECRET={client_secret}
QBO_REDIRECT_URI=http://127.0.0.1:8000/api/quickbooks/callback
QBO_WEBHOOK_VERIFIER_TOKEN={verifier}
QBO_TOKEN_KEYS={token_key}
"""


def main(path: str) -> None:
    target = Path(path)
    if target.exists():
        return
    target.write_text(TEMPLATE.format(
        secret_key=secrets.token_urlsafe(50),
        client_secret=secrets.token_urlsafe(24),
        verifier=secrets.token_hex(32),
        token_key=Fernet.generate_key().decode(),
    ))
    target.chmod(0o600)
    print(f"Wrote {target} with development settings.")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".env")
