import pytest

from lanbill.paysys import systems


@pytest.fixture(autouse=True)
def _fresh_system_cache():
    """Each test's database starts without systems: forget the cached ones."""
    systems.forget_cached()
    yield
    systems.forget_cached()
