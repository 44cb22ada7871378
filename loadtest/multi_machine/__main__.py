"""`python -m loadtest.multi_machine`: Django first (the soak's parts it reuses import models), then the run."""

from loadtest.bootstrap import django_setup

django_setup()

from loadtest.multi_machine.cli import main  # noqa: E402  (after the set-up)

main()
