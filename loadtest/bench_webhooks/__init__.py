"""Benchmark: QuickBooks webhooks into Kadouri over real HTTP (`python -m loadtest.bench_webhooks`; see bench.py)."""
