"""Load harness: the fault-injection soak and the benchmarks. They print figures; they are not tests.

    python -m loadtest.soak [--orders 300 …]     (make soak)
    python -m loadtest.bench_outbound [--orders 1000 …]  (make bench)
    python -m loadtest.bench_webhooks [--database-url postgres://…]  (make bench)

Each entry point sets Django up itself (kadouri.test_settings unless DJANGO_SETTINGS_MODULE says otherwise)
before the modules that import models are imported.
"""
