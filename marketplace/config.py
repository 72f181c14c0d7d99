"""Oscar's root app, without its dashboard.

Oscar's dashboard is not mounted: every job it does has an owner here that goes through the services
(and their audit, race-safe stock and status machines), which the dashboard's forms write around:
- listings, stock and photos: the farmer's console (/shop/);
- admitting shops, listing review, buyers' reviews, sales review: the association's workspace;
- orders: each shop fulfils its own part in the console; routing and legs: the logistics portal;
- categories, certifications, pages, offers and users: the Django admin (/admin/), for the site's admins.
"""

from django.urls import URLPattern, URLResolver
from oscar import config


class Shop(config.Shop):
    def get_urls(self) -> list[URLPattern | URLResolver]:
        return [pattern for pattern in super().get_urls() if str(pattern.pattern) != "dashboard/"]
