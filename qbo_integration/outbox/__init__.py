"""The outbox: QuickBooks-bound work recorded first, then run, retried and reclaimed by workers."""
