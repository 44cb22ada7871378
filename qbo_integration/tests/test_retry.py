"""The one retry rule (outbox/retry.py) that outbound jobs and inbox events share."""

from datetime import timedelta

import pytest
from django.utils import timezone

from qbo_integration.client.errors import QboPausedError, QboThrottledError, QboTransientError
from qbo_integration.outbox.retry import doubling_delay, next_try, stepped_delay

DELAY = timedelta(seconds=30)


def _close(moment, expected) -> bool:
    return abs((moment - expected).total_seconds()) < 2


def test_a_failed_attempt_waits_its_delay_and_counts():
    after = next_try(attempts=2, max_attempts=6, delay=DELAY, error=QboTransientError("busy"))
    assert (after.attempts, after.give_up) == (2, False)
    assert _close(after.not_before, timezone.now() + DELAY)


def test_quickbooks_asking_for_longer_wins_over_the_delay():
    asked = timezone.now() + timedelta(minutes=5)
    after = next_try(attempts=1, max_attempts=6, delay=DELAY, error=QboThrottledError("429", retry_at=asked))
    assert after.not_before == asked and after.attempts == 1


def test_waiting_out_a_pause_is_not_an_attempt_and_ends_with_the_pause():
    pause_end = timezone.now() + timedelta(seconds=45)
    after = next_try(
        attempts=6, max_attempts=6, delay=timedelta(hours=1), error=QboPausedError("p", retry_at=pause_end)
    )
    assert (after.attempts, after.give_up, after.not_before) == (5, False, pause_end)


def test_the_last_attempt_gives_up_and_a_crash_counts_like_any_failure():
    assert next_try(attempts=6, max_attempts=6, delay=DELAY, error=QboTransientError("busy")).give_up
    crashed = next_try(attempts=3, max_attempts=6, delay=DELAY, error=None)
    assert (crashed.attempts, crashed.give_up) == (3, False) and _close(crashed.not_before, timezone.now() + DELAY)


@pytest.mark.parametrize(("attempts", "seconds"), [(1, 30), (2, 60), (3, 120), (8, 3600)])
def test_doubling_delay_doubles_up_to_its_cap(attempts, seconds):
    assert doubling_delay(attempts, base=timedelta(seconds=30), cap=timedelta(hours=1)) == timedelta(seconds=seconds)


@pytest.mark.parametrize(("attempts", "seconds"), [(1, 30), (2, 120), (3, 600), (9, 600)])
def test_stepped_delay_takes_the_nth_step_and_repeats_the_last(attempts, seconds):
    assert stepped_delay(attempts, steps=(30, 120, 600)) == timedelta(seconds=seconds)
