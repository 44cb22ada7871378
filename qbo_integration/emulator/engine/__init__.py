"""The Accounting API engine of the QBO emulator: companies, entities, query, batch, CDC, ``requestid``.

A separate system: pure Python, no Django, no network. ``AccountingApi.handle`` takes what follows
``/v3/company/<realm>/`` and answers ``(http_status, json_dict)`` the way QuickBooks Online does
(our notes in ``docs/quickbooks.md`` and the pages under ``docs/quickbooks/`` are the source for every
behaviour; comments cite them as page#anchor). Authentication, rate limits, fault injection, webhooks and HTTP
live outside the engine; they observe changes through the ``on_change`` listener. Every timestamp comes from
the shared ``Clock``.

The behaviours chosen where our notes are unverified or silent are listed once, in the emulator's
README.md ("Decisions where our notes are unsure"); its module map shows where each part lives.
"""

from .api import AccountingApi
from .company import Company
from .errors import QboFault
from .profiles import SEEDED, CompanyProfile, parse_profile

__all__ = ["SEEDED", "AccountingApi", "Company", "CompanyProfile", "QboFault", "parse_profile"]
