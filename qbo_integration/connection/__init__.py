"""The stored QuickBooks connection: its tokens (vault), the API calls made with it, connecting and
disconnecting a company. Imports only `client` and models, so every layer above may call QuickBooks through it."""
