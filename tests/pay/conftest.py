from tests.pay.helpers import fresh_system_cache  # noqa: F401 - autouse fixture for every test here
