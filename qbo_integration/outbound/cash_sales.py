"""cash_sales: filled by its work (docs/quickbooks/money.md)."""
