"""The checkout keeps nothing besides Oscar's models."""

from oscar.apps.checkout.models import *  # noqa: E402,F403
