"""Logistics partners, coverage, routing and tracking on the Suichang model (built in its own issue)."""
