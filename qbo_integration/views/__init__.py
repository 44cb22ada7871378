"""Pages and JSON endpoints of the QuickBooks integration."""
