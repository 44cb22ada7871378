"""An offline QuickBooks Online: see README.md in this package."""
