"""Checks the whole chain — settings, token keys, database, worker, QuickBooks — and prints a fix for every problem.
Exit code 1 when there is a problem (warnings alone exit 0). See qbo_integration/doctor.py."""

from django.core.management.base import BaseCommand, CommandError

from qbo_integration.doctor import OK, PROBLEM, WARNING, Finding, diagnose

LABELS = {OK: "ok", WARNING: "WARNING", PROBLEM: "PROBLEM"}
INDENT = " " * 12


class Command(BaseCommand):
    help = (
        "Check settings, token keys, database, worker and QuickBooks, with a fix for every problem. "
        "Exit code 1 when something is wrong."
    )

    def handle(self, *args, **options):
        findings = diagnose()
        area = None
        for finding in findings:
            if finding.area != area:
                area = finding.area
                self.stdout.write(self.style.MIGRATE_HEADING(area))
            self._show(finding)
        problems = sum(f.level == PROBLEM for f in findings)
        warnings = sum(f.level == WARNING for f in findings)
        summary = f"{problems} problem{'s' * (problems != 1)}, {warnings} warning{'s' * (warnings != 1)}."
        if problems:
            raise CommandError(f"{summary} Fix the problems above, then run qbo_doctor again.", returncode=1)
        self.stdout.write(self.style.SUCCESS(f"Kadouri looks healthy: {summary}"))

    def _show(self, finding: Finding) -> None:
        style = {OK: self.style.SUCCESS, WARNING: self.style.WARNING, PROBLEM: self.style.ERROR}[finding.level]
        self.stdout.write(f"  {style(f'[{LABELS[finding.level]}]'.ljust(10))}{finding.text}")
        if finding.fix:
            self.stdout.write(f"{INDENT}Fix: {finding.fix}")
