"""credits: filled by its work (docs/quickbooks/money.md)."""
