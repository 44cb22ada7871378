import pytest

from qbo_integration.testing import REALM_ID


@pytest.fixture(autouse=True)
def _no_resend_sleep(settings):
    # A bulk push resends a failed batch after a list of delays; tests keep the count but not the waiting.
    settings.QBO_BULK_RETRY_DELAYS = (0, 0, 0, 0, 0)


def entities(emu, entity: str, realm: str = REALM_ID) -> list[dict]:
    """What the emulator's company holds now."""
    return emu.dump(realm)["entities"][entity]
