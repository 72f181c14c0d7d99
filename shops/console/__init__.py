"""The farmer's shop console at /shop/: listings, photos, stock, orders and sales of the farmer's own
shop, on a phone, in Chinese first."""
