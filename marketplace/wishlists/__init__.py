default_app_config = "marketplace.wishlists.apps.WishlistsConfig"
