"""Oscar's basket messages, forked: the "new total" shown after an addition or a change of quantities
reads the lines with what their prices need only (marketplace.basket.models.Basket.lines_priced)."""

from typing import TYPE_CHECKING

from oscar.apps.basket import utils as oscar_utils
from oscar.apps.basket.utils import *  # noqa: F403  (Oscar's other basket helpers, unchanged)

if TYPE_CHECKING:  # Oscar's basket models import this module
    from marketplace.basket.models import Basket


class BasketMessageGenerator(oscar_utils.BasketMessageGenerator):
    def get_new_total_messages(self, basket: "Basket", include_buttons: bool = True) -> list[tuple[int, str]]:
        with basket.lines_priced():
            new_total: list[tuple[int, str]] = super().get_new_total_messages(basket, include_buttons)
        return new_total
