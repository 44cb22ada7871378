"""Changes made in QuickBooks, coming into Kadouri.

`intake` verifies, parses and stores webhook deliveries; `inbox` runs each company's stored events in order
(one worker per company, retries, replay) through `handlers` (one module per entity); `catchup` asks QuickBooks
what changed (CDC) when webhooks were lost, and feeds the same inbox.
"""
