"""What a new company starts with: CompanyInfo, a small chart of accounts and the usual Terms."""

from __future__ import annotations

from .books import Books

SEED_ACCOUNTS = (  # "Undeposited Funds" is id 4 as in Intuit's Payment sample (docs/quickbooks/entities.md#payment)
    ("Services", "Income", "ServiceFeeIncome"),
    ("Sales of Product Income", "Income", "SalesOfProductIncome"),
    ("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable"),
    ("Undeposited Funds", "Other Current Asset", "UndepositedFunds"),
    ("Checking", "Bank", "Checking"),
)
SEED_TERMS = (("Due on receipt", 0), ("Net 15", 15), ("Net 30", 30), ("Net 60", 60))


def seed_company(books: Books, name: str) -> None:
    today = books.now.date().isoformat()
    info = {
        "CompanyName": name,
        "LegalName": name,
        "Country": "US",
        "CompanyStartDate": today,
        "FiscalYearStartMonth": "January",
        "SupportedLanguages": "en",
        "CompanyAddr": {
            "Line1": "1 Emulator Way",
            "City": "Mountain View",
            "CountrySubDivisionCode": "CA",
            "PostalCode": "94043",
        },
    }
    books.insert("CompanyInfo", info)
    for account_name, account_type, subtype in SEED_ACCOUNTS:
        books.create("Account", {"Name": account_name, "AccountType": account_type, "AccountSubType": subtype})
    for term_name, days in SEED_TERMS:
        books.create("Term", {"Name": term_name, "DueDays": days})
