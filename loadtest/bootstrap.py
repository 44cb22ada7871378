"""Django for the harness: `python -m loadtest.…` runs outside manage.py, so Django is set up here first."""

from __future__ import annotations

import os

import django


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kadouri.test_settings")
    django.setup()
