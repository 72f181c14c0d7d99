from tests.payments.conftest import localstripe, stripe_settings  # noqa: F401  (shared fixtures)
