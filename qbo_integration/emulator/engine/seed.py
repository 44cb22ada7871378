"""What a new company starts with: CompanyInfo and Preferences from its profile, a small chart of accounts and
the usual Terms and payment methods, then what its profile adds (names, tax codes, currencies)."""

from __future__ import annotations

from .books import Books
from .entities.payment_method import SEED_METHODS
from .entities.preferences import preferences_of
from .profiles import CompanyProfile
from .seed_currency import seed_currencies
from .seed_names import seed_names
from .seed_tax import seed_tax

SEED_ACCOUNTS = (  # "Undeposited Funds" is id 4 as in Intuit's Payment sample (docs/quickbooks/entities.md#payment)
    ("Services", "Income", "ServiceFeeIncome"),
    ("Sales of Product Income", "Income", "SalesOfProductIncome"),
    ("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable"),
    ("Undeposited Funds", "Other Current Asset", "UndepositedFunds"),
    ("Checking", "Bank", "Checking"),
    ("Savings", "Bank", "Savings"),
    # Bills: what the company owes and what it buys (docs/quickbooks/beyond.md#the-brokers-own-books)
    ("Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable"),
    ("Purchases", "Cost of Goods Sold", "SuppliesMaterialsCogs"),
    ("Commissions & fees", "Expense", "OtherMiscellaneousServiceCost"),
)
# What a company that tracks quantities has besides (docs/quickbooks/beyond.md#stock); "Sales of Product Income"
# is in every company's chart above.
INVENTORY_ACCOUNTS = (
    ("Inventory Asset", "Other Current Asset", "Inventory"),
    ("Sales of Product Income", "Income", "SalesOfProductIncome"),
    ("Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs"),
)
SEED_NAME_KEYS = {
    "vendors": "vendors",
    "employees": "employees",
    "classes": "classes",
    "inactiveItems": "inactive_items",
}
SEED_TERMS = (("Due on receipt", 0), ("Net 15", 15), ("Net 30", 30), ("Net 60", 60))
COMPANY_ADDRESSES = {
    "US": {"Line1": "1 Emulator Way", "City": "Mountain View", "CountrySubDivisionCode": "CA", "PostalCode": "94043"},
    "CA": {"Line1": "100 King St W", "City": "Toronto", "CountrySubDivisionCode": "ON", "PostalCode": "M5X 1A9"},
    "GB": {"Line1": "1 Covent Garden", "City": "London", "PostalCode": "WC2E 8RF"},
}


def seed_company(books: Books, name: str, profile: CompanyProfile) -> None:
    today = books.now.date().isoformat()
    info = {
        "CompanyName": name,
        "LegalName": name,
        "Country": profile.country,
        "CompanyStartDate": today,
        "FiscalYearStartMonth": "January",
        "SupportedLanguages": "en",
        "CompanyAddr": {**COMPANY_ADDRESSES[profile.country], "Country": profile.country},
    }
    books.insert("CompanyInfo", info)
    books.insert("Preferences", preferences_of(profile.describe()))
    for account_name, account_type, subtype in SEED_ACCOUNTS:
        books.create("Account", {"Name": account_name, "AccountType": account_type, "AccountSubType": subtype})
    if profile.inventory:
        seed_inventory_accounts(books)
    for term_name, days in SEED_TERMS:
        books.create("Term", {"Name": term_name, "DueDays": days})
    for method_name, method_type in SEED_METHODS:
        books.create("PaymentMethod", {"Name": method_name, "Type": method_type})
    seed_tax(books, profile)
    if profile.names:
        seed_names(books, {SEED_NAME_KEYS[key]: names for key, names in profile.names.items()})
    seed_currencies(books, profile)


def seed_inventory_accounts(books: Books) -> None:
    """The accounts Inventory items need, those the company does not have yet (by name)."""
    have = {str(account.get("Name", "")).casefold() for account in books.table("Account").values()}
    for account_name, account_type, subtype in INVENTORY_ACCOUNTS:
        if account_name.casefold() not in have:
            books.create("Account", {"Name": account_name, "AccountType": account_type, "AccountSubType": subtype})
