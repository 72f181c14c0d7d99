"""Logistics models arrive with the logistics issue; the region tree they route on is places.Region."""
