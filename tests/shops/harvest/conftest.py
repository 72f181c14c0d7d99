from tests.logistics.conftest import demo_logistics, peach_shop, peaches  # noqa: F401  (shared fixtures)
from tests.payments.conftest import localstripe, stripe_settings  # noqa: F401  (shared fixtures)
