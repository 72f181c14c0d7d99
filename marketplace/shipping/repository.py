"""The only shipping method offered: every shop ships its own parcel at its own rule
(marketplace/shipping/parcels.py)."""

from oscar.apps.shipping.repository import Repository as OscarRepository

from marketplace.shipping.methods import ShopByShop


class Repository(OscarRepository):
    methods = (ShopByShop(),)
