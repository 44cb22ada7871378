"""`python -m loadtest.bench_staff`: the database and the shared secrets first (the app and this process must agree
on them), then Django, then the modules that import its models."""

from loadtest.bench_staff.bench import parse_args, prepare_environment
from loadtest.bootstrap import django_setup

ARGS = parse_args()
DATABASE = prepare_environment(ARGS)
django_setup()

from loadtest.bench_staff.bench import run  # noqa: E402
from loadtest.bench_staff.seed import seed  # noqa: E402  (imports models: after the set-up)

run(ARGS, DATABASE, seed)
