"""`python -m loadtest.bench_client`: Django first, then the modules that import its models."""

from loadtest.bootstrap import django_setup

django_setup()

from loadtest.bench_client.bench import main  # noqa: E402  (imports models: after the set-up)

main()
