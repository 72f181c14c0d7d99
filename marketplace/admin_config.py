"""The admin app, installed in place of ``django.contrib.admin``: the same admin on the marketplace's own
default site (marketplace/admin_site.py). Kept apart from the site, which needs the apps loaded."""

from django.contrib.admin.apps import AdminConfig


class MarketplaceAdminConfig(AdminConfig):
    default_site = "marketplace.admin_site.MarketplaceAdminSite"
