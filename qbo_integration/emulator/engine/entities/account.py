"""Account (docs/quickbooks/entities.md#account): the chart of accounts; types, sub-types and their classification."""

from __future__ import annotations

from decimal import Decimal

from ..errors import QboFault, invalid_enum, required
from ..ledger import Ledger
from ..values import ZERO, Obj, check_lengths, check_separators, names, to_bool
from .names import NameList

LIMITS = {"Name": 100}  # docs/quickbooks/entities.md#account
CLASSIFICATION = {  # docs/quickbooks/entities.md#account
    "Bank": "Asset",
    "Other Current Asset": "Asset",
    "Fixed Asset": "Asset",
    "Other Asset": "Asset",
    "Accounts Receivable": "Asset",
    "Equity": "Equity",
    "Expense": "Expense",
    "Other Expense": "Expense",
    "Cost of Goods Sold": "Expense",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Long Term Liability": "Liability",
    "Other Current Liability": "Liability",
    "Income": "Revenue",
    "Other Income": "Revenue",
}
TYPE_OF_SUBTYPE = {
    "AccountsReceivable": "Accounts Receivable",
    "UndepositedFunds": "Other Current Asset",
    "Inventory": "Other Current Asset",
    "SalesOfProductIncome": "Income",
    "ServiceFeeIncome": "Income",
    "OtherPrimaryIncome": "Income",
    "DiscountsRefundsGiven": "Income",
    "Checking": "Bank",
    "Savings": "Bank",
    "SuppliesMaterialsCogs": "Cost of Goods Sold",
    "AccountsPayable": "Accounts Payable",
}


class Account(NameList):
    name = "Account"
    hierarchical = True
    ref_keys = (
        "IncomeAccountRef",
        "ExpenseAccountRef",
        "AssetAccountRef",
        "DepositToAccountRef",
        "ARAccountRef",
        "DiscountAccountRef",
        # bills and bill payments (docs/quickbooks/beyond.md#the-brokers-own-books)
        "APAccountRef",
        "AccountRef",
        "BankAccountRef",
        "CCAccountRef",
    )
    writable = names(
        "Name AcctNum Description Active SubAccount ParentRef AccountType "
        "AccountSubType CurrencyRef TaxCodeRef AccountAlias TxnLocationType"
    )
    read_only = names("FullyQualifiedName Classification CurrentBalance CurrentBalanceWithSubAccounts")

    def build(self, books: Ledger, fields: Obj, old: Obj | None, body: Obj, include: frozenset[str]) -> Obj:
        obj = dict(fields)
        if not obj.get("Name"):
            raise required("Name")
        check_lengths(obj, LIMITS)
        check_separators(obj, ("Name",), ':"\t\n')  # docs/quickbooks/entities.md#account: no '"' or ':'
        check_separators(obj, ("AcctNum",), ":")
        self.check_unique_name(books, obj["Name"], old["Id"] if old else None, "account")
        account_type = obj.get("AccountType")
        if account_type is None:
            account_type = TYPE_OF_SUBTYPE.get(str(obj.get("AccountSubType")))
        if account_type is None:  # docs/quickbooks/entities.md#account
            raise QboFault(
                400,
                "6010",
                "Invalid account type",
                "Invalid Account.AccountType && Account.SubType",
                "AccountType",
            )
        if account_type not in CLASSIFICATION:
            raise invalid_enum("AccountType", account_type)
        obj["AccountType"] = account_type
        obj["Active"] = to_bool(obj.get("Active"), "Active", True)
        obj["SubAccount"] = self.check_parent(books, obj, old)
        return obj

    def render(self, books: Ledger, obj: Obj, out: Obj, balances: dict[str, Decimal] | None) -> None:
        super().render(books, obj, out, balances)
        out["Classification"] = CLASSIFICATION[obj["AccountType"]]
        out["CurrentBalance"] = out["CurrentBalanceWithSubAccounts"] = ZERO
