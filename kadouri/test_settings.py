"""Settings for the test suite: production settings with a throwaway key and no TLS redirects."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
# QuickBooks: tests talk to the in-process emulator (qbo_integration/emulator/testing.py), never to Intuit.
os.environ.setdefault("QBO_ENVIRONMENT", "emulator")
os.environ.setdefault("QBO_EMULATOR_URL", "http://qbo.emulator.test")
os.environ.setdefault("QBO_CLIENT_ID", "test-client-id")
os.environ.setdefault("QBO_CLIENT_SECRET", "test-client-secret-do-not-leak")
os.environ.setdefault("QBO_REDIRECT_URI", "http://testserver/api/quickbooks/callback")
os.environ.setdefault("QBO_WEBHOOK_VERIFIER_TOKEN", "test-verifier-token-do-not-leak")
os.environ.setdefault("QBO_TOKEN_KEYS", "wx_KI4qRjAJ5gXqhg7iNcqAwIjfkYvZbfR5wVQeoyyM=")
os.environ.setdefault("Q_SYNC", "true")
# One process: the suite counts the request budget in-process, fresh for each test (conftest.py). The harnesses'
# children (loadtest/) set the shared store they test.
os.environ.setdefault("QBO_REQUEST_BUDGET", "process")

from kadouri.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve static files from the app directories (no collectstatic before tests; no "No directory" warning).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not shared-cache memory: threads in concurrency tests then wait on locks instead of failing.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test-db-{os.getpid()}.sqlite3")}  # noqa: F405
    (BASE_DIR / "var").mkdir(exist_ok=True)  # noqa: F405
