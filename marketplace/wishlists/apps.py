from oscar.apps.wishlists import apps


class WishlistsConfig(apps.WishlistsConfig):
    name = "marketplace.wishlists"
