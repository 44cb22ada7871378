"""Item (docs/quickbooks/entities.md#item): Service, NonInventory and Inventory products
(docs/quickbooks/beyond.md#stock), their accounts and sub-items."""

from __future__ import annotations

from decimal import Decimal

from ..errors import business, invalid_enum, required, unsupported
from ..ledger import Ledger
from ..values import Obj, check_lengths, check_separators, names, ref_value, to_bool, to_decimal
from .names import NameList
from .preferences import tax_model
from .stock import check_tracking, inventory_fields

LIMITS = {"Name": 100, "Description": 4000, "Sku": 100}  # docs/quickbooks/entities.md#item
ACCOUNT_REFS = ("IncomeAccountRef", "ExpenseAccountRef", "AssetAccountRef")


class Item(NameList):
    name = "Item"
    hierarchical = True
    ref_keys = ("ItemRef",)
    writable = names(
        "Name Description Active SubItem ParentRef UnitPrice Type IncomeAccountRef "
        "ExpenseAccountRef AssetAccountRef PurchaseDesc PurchaseCost Taxable "
        "SalesTaxIncluded PurchaseTaxIncluded SalesTaxCodeRef PurchaseTaxCodeRef "
        "TrackQtyOnHand QtyOnHand InvStartDate Sku ServiceType AbatementRate "
        "ReverseChargeRate ItemCategoryType ReorderPoint PrefVendorRef ClassRef "
        "TaxClassificationRef"
    )
    read_only = names("FullyQualifiedName Level")

    def build(self, books: Ledger, fields: Obj, old: Obj | None, body: Obj, include: frozenset[str]) -> Obj:
        obj = dict(fields)
        if not obj.get("Name"):
            raise required("Name")
        obj["Name"] = str(obj["Name"])
        check_lengths(obj, LIMITS)
        check_separators(obj, ("Name",))
        self.check_unique_name(books, obj["Name"], old["Id"] if old else None, "product or service")
        item_type = obj.get("Type")
        if not item_type:  # docs/quickbooks/entities.md#item: Type must be explicit since minorversion 4
            raise required("Type")
        if item_type in ("Category", "Group"):
            raise unsupported(f"The emulator does not support Item Type {item_type}")
        if item_type not in ("Service", "NonInventory", "Inventory"):
            raise invalid_enum("Type", item_type)
        if old is not None and (old.get("Type") == "Inventory") != (item_type == "Inventory"):
            # docs/quickbooks/beyond.md#stock: an item's type stays what it was created as (see the README)
            raise business(f"You can't change the type of this item from {old.get('Type')} to {item_type}.", "Type")
        if item_type == "Inventory":
            check_tracking(books, old)
        for key in ACCOUNT_REFS:
            if key in obj:
                obj[key] = books.resolve_ref("Account", obj[key], key, [ref_value(old, key)])
        if item_type == "Service" and "IncomeAccountRef" not in obj:  # docs/quickbooks/entities.md#item
            raise required("IncomeAccountRef")
        obj["UnitPrice"] = to_decimal(obj.get("UnitPrice"), "UnitPrice") or Decimal(0)
        obj["Active"] = to_bool(obj.get("Active"), "Active", True)
        # Under Automated Sales Tax items are taxable unless they say not (docs/quickbooks/next.md#sales-tax-in-the-us)
        obj["Taxable"] = to_bool(obj.get("Taxable"), "Taxable", tax_model(books) == "automated")
        if "SalesTaxCodeRef" in obj:
            old_code = ref_value(old, "SalesTaxCodeRef")
            obj["SalesTaxCodeRef"] = books.resolve_ref("TaxCode", obj["SalesTaxCodeRef"], "SalesTaxCodeRef", [old_code])
        if item_type == "Inventory":
            inventory_fields(books, obj, old)
        else:
            obj["TrackQtyOnHand"] = to_bool(obj.get("TrackQtyOnHand"), "TrackQtyOnHand", False)
        obj["SubItem"] = self.check_parent(books, obj, old)
        return obj
