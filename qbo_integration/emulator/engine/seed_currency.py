"""The currencies a new company starts with: its profile's foreign currencies (docs/quickbooks/next.md#multicurrency),
each a ``CompanyCurrency``."""

from __future__ import annotations

from .books import Books
from .profiles import CompanyProfile


def seed_currencies(books: Books, profile: CompanyProfile) -> None:
    for code in profile.currencies:
        books.create("CompanyCurrency", {"Code": code})
