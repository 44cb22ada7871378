"""Talking to Intuit: HTTP to the Accounting API and to OAuth, and sorting every failure into an error class.

Nothing here reads or writes Kadouri's database: the realm and the access token are passed in. The stored
connection (tokens, refresh, the company's 429 pause) is `qbo_integration.connection`.
"""
