import logging

from kadouri.logging import RedactSecretsFilter, redact


def test_it_redacts_the_oauth_callback_query():
    line = '"GET /api/quickbooks/callback?code=AB12-secret&state=xyz789&realmId=9130350000000001 HTTP/1.1" 302 0'

    assert (
        redact(line)
        == '"GET /api/quickbooks/callback?code=[redacted]&state=[redacted]&realmId=9130350000000001 HTTP/1.1" 302 0'
    )


def test_it_redacts_formatted_log_records():
    record = logging.LogRecord(
        "django.server", logging.INFO, __file__, 1, '"%s" %s', ("GET /cb?code=S3CR3T HTTP/1.1", 302), None
    )

    RedactSecretsFilter().filter(record)

    assert "S3CR3T" not in record.getMessage()
    assert "code=[redacted]" in record.getMessage()


def test_it_keeps_quickbooks_fault_codes_readable():
    line = "quickbooks POST batch failed: duplicate code=6240"

    assert redact(line) == line
