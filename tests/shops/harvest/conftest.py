import pytest

from shops.orchard.models import Plot
from tests.logistics.conftest import demo_logistics, peach_shop, peaches  # noqa: F401  (shared fixtures)
from tests.payments.conftest import localstripe, stripe_settings  # noqa: F401  (shared fixtures)


@pytest.fixture
def plot(peach_shop):  # noqa: F811  (the shared fixture, as an argument)
    return Plot.objects.create(
        shop=peach_shop, name="东坡一号", name_en="East slope 1", village=peach_shop.village, altitude_m=120
    )
