"""Kadouri CRM settings. Every variable read here is documented in .env.example."""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from kadouri.sentry import init_sentry

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-change-me" if DEBUG else None) or ""
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_q",
    "axes",
    "accounts",
    "products",
    "orders",
    "qbo_integration",
]

MIDDLEWARE = [
    "kadouri.middleware.UnreadableContentLengthMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "kadouri.middleware.NoStoreWhenLoggedInMiddleware",
    "kadouri.middleware.OneHomeCurrencyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "kadouri.middleware.ApiErrorsAsJsonMiddleware",
    "kadouri.middleware.SecurityHeadersMiddleware",
    # Last, as axes asks: it turns a refused log-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kadouri.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # The money, plain-number and date-time filters every page uses (kadouri/display.py).
            "builtins": ["kadouri.display"],
        },
    },
]

WSGI_APPLICATION = "kadouri.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite ignores SELECT ... FOR UPDATE; IMMEDIATE transactions take the write lock up front instead,
    # so the token refresh and the per-order locks stay single-flight in development too.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 30})

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="America/New_York")
USE_I18N = True
USE_TZ = True
# One date and time style everywhere ("Dec 6, 2026, 5:41 PM"), Django's defaults included.
FORMAT_MODULE_PATH = ["kadouri.formats"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Log-in throttling (django-axes, see kadouri/login_throttle.py). Failures are counted per username and client
# address together, so an attacker cannot lock a colleague out from elsewhere; the Django admin log-in counts too.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
# 0 minutes: locked until an administrator unlocks it.
AXES_COOLOFF_TIME = timedelta(minutes=env.float("LOGIN_COOLOFF_MINUTES", default=15)) or None
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Only failed attempts are stored; a successful log-in is already on the user row (last_login).
AXES_DISABLE_ACCESS_LOG = True
AXES_CLIENT_IP_CALLABLE = "kadouri.http.client_ip"
AXES_LOCKOUT_CALLABLE = "kadouri.login_throttle.lockout_response"
AXES_HANDLER = "kadouri.login_throttle.LoginAttemptHandler"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False  # no start-up banner on every command; lock-outs are still logged

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "orders:list"
LOGOUT_REDIRECT_URL = "login"

# Security: production values unless DEBUG; each switch can be overridden by env.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
# The preload flag only allows submitting the domain to browsers' preload list (done by hand); check --deploy wants it.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)

DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
# An order has at most ORDER_MAX_LINES lines. Its forms send up to 10 fields per line (the page: product,
# quantity, unit price, size, grade, remove; the admin's inline adds id, order and position), and an order typed
# past the limit must still reach the form so it comes back with an error and every line kept: room for 50 more.
ORDER_MAX_LINES = 200
ORDER_LINES_SHOWN_BACK = ORDER_MAX_LINES + 50
ORDER_FORM_FIELDS_PER_LINE = 10
DATA_UPLOAD_MAX_NUMBER_FIELDS = ORDER_LINES_SHOWN_BACK * ORDER_FORM_FIELDS_PER_LINE + 100  # + the header fields

# Redis, when used: django-q2's broker (Q_BROKER=redis) and/or the QuickBooks request budget
# (QBO_REQUEST_BUDGET=redis). docs/multi-machine.md.
REDIS_URL = env("REDIS_URL", default="")
# django-q2's broker: "orm" (the database; nothing else to run) or "redis" (lower latency; REDIS_URL). Every web
# and worker process must use the same one (docs/multi-machine.md#the-task-queue).
Q_BROKER = env("Q_BROKER", default="orm")
if Q_BROKER not in ("orm", "redis") or (Q_BROKER == "redis" and not REDIS_URL):
    raise ImproperlyConfigured("Q_BROKER must be orm, or redis with REDIS_URL set.")

# django-q2: the QuickBooks job rows own retry state, so the queue
# itself never redelivers a task forever (docs/quickbooks/libraries.md#django-q2).
Q_CLUSTER = {
    "name": "kadouri",
    **({"redis": REDIS_URL} if Q_BROKER == "redis" else {"orm": "default"}),
    "workers": env.int("Q_WORKERS", default=2),
    # Bulk pushes, full catch-ups and reconciliations pace themselves under QuickBooks' limits and can run
    # for minutes; every HTTP call inside has its own timeout, so this only bounds a runaway task.
    "timeout": 900,
    "retry": 960,
    "max_attempts": 1,
    "ack_failures": True,
    "save_limit": 1000,
    "catch_up": False,
    "sync": env.bool("Q_SYNC", default=False),
    "poll": 0.5,
}

# LOG_FORMAT: "plain" lines, or "json" (one JSON object per line); both redacted (kadouri/logging.py).
LOG_FORMAT = env("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"()": "kadouri.logging.PlainFormatter", "fmt": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "kadouri.logging.JsonFormatter"},
    },
    "filters": {
        "redact_secrets": {"()": "kadouri.logging.RedactSecretsFilter"},
        "quiet_polls": {"()": "kadouri.logging.QuietPollsFilter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["redact_secrets"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # runserver's request lines include the OAuth callback's ?code=…&state=…
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False, "filters": ["quiet_polls"]},
    },
}

# Order number prefix: numbers look like KD-2026-000123 (DocNumber allows 21 characters).
ORDER_NUMBER_PREFIX = env("ORDER_NUMBER_PREFIX", default="KD")
CSRF_FAILURE_VIEW = "kadouri.views.csrf_failure"
# Secrets stay out of error reports, the DEBUG page included (kadouri/debug.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "kadouri.debug.SecretsExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "kadouri.debug.SecretsExceptionReporter"

# --- QuickBooks Online (qbo_integration) ---
# QBO_ENVIRONMENT: "sandbox" or "production" talk to Intuit; "emulator" points every Intuit URL at QBO_EMULATOR_URL.
QBO_ENVIRONMENT = env("QBO_ENVIRONMENT", default="emulator")
QBO_EMULATOR_URL = env("QBO_EMULATOR_URL", default="http://127.0.0.1:8001").rstrip("/")
QBO_CLIENT_ID = env("QBO_CLIENT_ID", default="")
QBO_CLIENT_SECRET = env("QBO_CLIENT_SECRET", default="")
QBO_REDIRECT_URI = env("QBO_REDIRECT_URI", default="http://127.0.0.1:8000/api/quickbooks/callback")
QBO_WEBHOOK_VERIFIER_TOKEN = env("QBO_WEBHOOK_VERIFIER_TOKEN", default="")
# Fernet keys that encrypt stored tokens, newest first; older keys still decrypt during a rotation.
QBO_TOKEN_KEYS = env.list("QBO_TOKEN_KEYS", default=[])
# Income account for new QuickBooks items: an Account Id; blank = the company's first Income account.
QBO_INCOME_ACCOUNT_ID = env("QBO_INCOME_ACCOUNT_ID", default="")
QBO_HTTP_TIMEOUT = env.float("QBO_HTTP_TIMEOUT", default=30.0)
# Background timing (seconds). Keep the defaults in production; the soak (`make soak`) compresses them to fit
# a test run.
QBO_RETRY_BASE_SECONDS = env.float(
    "QBO_RETRY_BASE_SECONDS", default=30.0
)  # sync jobs: base × 2^(attempt-1), at most 1 h
# A job whose worker died is retried after this long; keep it above Q_CLUSTER's task timeout (a system check says so).
QBO_JOB_STUCK_AFTER_SECONDS = env.float("QBO_JOB_STUCK_AFTER_SECONDS", default=1200.0)
QBO_THROTTLE_PAUSE_SECONDS = env.float(
    "QBO_THROTTLE_PAUSE_SECONDS", default=60.0
)  # pause after a 429 without Retry-After
QBO_INBOX_BACKOFF_SECONDS = env.list("QBO_INBOX_BACKOFF_SECONDS", cast=float, default=[30, 120, 600, 1800, 7200])
QBO_INBOX_LEASE_SECONDS = env.float("QBO_INBOX_LEASE_SECONDS", default=300.0)  # one worker per company's inbox
# The request budget every process shares, per company, under QuickBooks' limits (docs/multi-machine.md):
# "database" (PostgreSQL; counted per process on SQLite), "redis" (REDIS_URL) or "process" (this process only).
QBO_REQUEST_BUDGET = env("QBO_REQUEST_BUDGET", default="database")
# What the budget lets through per company (0 = no limit): QuickBooks allows 500 a minute, 120 batch requests a
# minute and 10 in flight (docs/quickbooks/limits.md#request-limits); 10 a second is stated for the sandbox.
QBO_BUDGET_PER_MINUTE = env.int("QBO_BUDGET_PER_MINUTE", default=480)
QBO_BUDGET_BATCH_PER_MINUTE = env.int("QBO_BUDGET_BATCH_PER_MINUTE", default=110)
QBO_BUDGET_CONCURRENT = env.int("QBO_BUDGET_CONCURRENT", default=8)
QBO_BUDGET_PER_SECOND = env.int("QBO_BUDGET_PER_SECOND", default=0)
# A request waits this long at most for the budget; then its work is put back until the budget frees.
QBO_BUDGET_WAIT_SECONDS = env.float("QBO_BUDGET_WAIT_SECONDS", default=30.0)
# Inbox events taken at once; what they need from QuickBooks is read with one query per entity and 1,000 ids.
QBO_INBOX_BATCH = env.int("QBO_INBOX_BATCH", default=1000)
# `manage.py qbo_worker` (what `make run` starts): after Ctrl-C / SIGTERM the worker finishes what it can for this
# long, then kills what is still running (leased jobs and inbox events are picked up again).
QBO_WORKER_STOP_GRACE_SECONDS = env.float("QBO_WORKER_STOP_GRACE_SECONDS", default=3.0)

TEMPLATES[0]["OPTIONS"]["context_processors"].append("qbo_integration.context_processors.qbo_banners")

# --- /healthz (qbo_integration/health.py): answers 503 naming the check past its limit ---
HEALTHZ_WORKER_MAX_AGE_SECONDS = env.int("HEALTHZ_WORKER_MAX_AGE_SECONDS", default=300)  # the worker beats every minute
HEALTHZ_INBOX_MAX_PENDING = env.int("HEALTHZ_INBOX_MAX_PENDING", default=500)
HEALTHZ_INBOX_MAX_AGE_SECONDS = env.int("HEALTHZ_INBOX_MAX_AGE_SECONDS", default=3600)
# Load balancers and monitors probe it over plain HTTP on the machine itself.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Error reports to Sentry: only with a DSN; every event is scrubbed with the logs' redaction (kadouri/sentry.py) ---
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    init_sentry(
        SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT", default="production"),
        release=env("SENTRY_RELEASE", default=""),
    )
