"""Customers and items in QuickBooks for Kadouri's accounts and products: linked by name, created and updated
in batches, paced under the company's limits; the company's terms and income account."""
