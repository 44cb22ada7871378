"""Benchmark: the bulk push vs. a naive python-quickbooks loop (`python -m loadtest.bench_outbound`; see bench.py)."""
