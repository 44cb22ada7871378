"""System checks: QuickBooks settings that are missing or inconsistent fail loudly at start-up."""

from urllib.parse import urlparse

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, Warning, register

ENVIRONMENTS = {"sandbox", "production", "emulator"}


def _fernet_key_errors() -> list[Error]:
    keys = settings.QBO_TOKEN_KEYS
    if not keys:
        return [
            Error(
                "QBO_TOKEN_KEYS is empty.",
                hint="Set one or more Fernet keys, newest first (see .env.example).",
                id="qbo.E004",
            )
        ]
    errors = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            errors.append(
                Error(
                    f"QBO_TOKEN_KEYS entry {position} is not a valid Fernet key.",
                    hint='Generate one: python -c "from cryptography.fernet import Fernet; '
                    'print(Fernet.generate_key().decode())"',
                    id="qbo.E005",
                )
            )
    return errors


def _redirect_uri_errors() -> list:
    uri = urlparse(settings.QBO_REDIRECT_URI or "")
    if uri.scheme not in {"http", "https"} or not uri.netloc:
        return [Error("QBO_REDIRECT_URI must be an absolute http(s) URL.", id="qbo.E006")]
    problems = []
    if not uri.path.endswith("/api/quickbooks/callback"):
        problems.append(Warning("QBO_REDIRECT_URI does not end with /api/quickbooks/callback.", id="qbo.W002"))
    if settings.QBO_ENVIRONMENT == "production" and uri.scheme != "https":
        problems.append(Error("QBO_REDIRECT_URI must use https in production (Intuit refuses http).", id="qbo.E007"))
    return problems


@register()
def quickbooks_settings(app_configs, **kwargs) -> list:
    problems: list = []
    if settings.QBO_ENVIRONMENT not in ENVIRONMENTS:
        problems.append(
            Error(f"QBO_ENVIRONMENT={settings.QBO_ENVIRONMENT!r} is not one of {sorted(ENVIRONMENTS)}.", id="qbo.E001")
        )
    if not settings.QBO_CLIENT_ID or not settings.QBO_CLIENT_SECRET:
        problems.append(
            Error(
                "QBO_CLIENT_ID and QBO_CLIENT_SECRET must be set.",
                hint="From the Intuit developer dashboard (or the emulator's --client-id/--client-secret).",
                id="qbo.E002",
            )
        )
    if settings.QBO_ENVIRONMENT == "emulator" and not urlparse(settings.QBO_EMULATOR_URL).netloc:
        problems.append(
            Error("QBO_ENVIRONMENT=emulator needs QBO_EMULATOR_URL (e.g. http://127.0.0.1:8001).", id="qbo.E003")
        )
    problems += _fernet_key_errors()
    problems += _redirect_uri_errors()
    if not settings.QBO_WEBHOOK_VERIFIER_TOKEN:
        problems.append(
            Warning(
                "QBO_WEBHOOK_VERIFIER_TOKEN is empty: QuickBooks webhooks are refused (503) until it is set.",
                id="qbo.W001",
            )
        )
    return problems


@register(deploy=True)
def quickbooks_deploy_settings(app_configs, **kwargs) -> list:
    if settings.QBO_ENVIRONMENT == "emulator":
        return [
            Warning(
                "QBO_ENVIRONMENT=emulator in a deployment: QuickBooks calls go to the offline emulator.", id="qbo.W003"
            )
        ]
    return []


@register()
def quickbooks_job_timing(app_configs, **kwargs) -> list:
    task_timeout = settings.Q_CLUSTER.get("timeout") or 0
    if settings.QBO_JOB_STUCK_AFTER_SECONDS <= task_timeout:
        return [
            Warning(
                f"QBO_JOB_STUCK_AFTER_SECONDS ({settings.QBO_JOB_STUCK_AFTER_SECONDS:g}) is not above the task timeout "
                f"({task_timeout} s): a slow job still running could be taken for a dead worker's and sent again "
                "(requestid and the DocNumber look-up then have to catch it).",
                id="qbo.W004",
            )
        ]
    return []


@register()
def quickbooks_request_budget(app_configs, **kwargs) -> list:
    """The request budget every process shares (docs/multi-machine.md#the-request-budget)."""
    store = settings.QBO_REQUEST_BUDGET
    if store not in ("database", "redis", "process"):
        return [Error(f"QBO_REQUEST_BUDGET={store!r} is not one of database, redis, process.", id="qbo.E020")]
    if store == "redis" and not settings.REDIS_URL:
        return [Error("QBO_REQUEST_BUDGET=redis needs REDIS_URL.", id="qbo.E021")]
    return []


@register(deploy=True)
def quickbooks_request_budget_deploy(app_configs, **kwargs) -> list:
    if settings.QBO_REQUEST_BUDGET == "process":
        return [
            Warning(
                "QBO_REQUEST_BUDGET=process counts QuickBooks requests per process: several web and worker processes "
                "together can go over QuickBooks' limits.",
                hint="Use PostgreSQL (QBO_REQUEST_BUDGET=database) or Redis (QBO_REQUEST_BUDGET=redis).",
                id="qbo.W020",
            )
        ]
    return []
