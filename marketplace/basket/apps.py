from oscar.apps.basket import apps


class BasketConfig(apps.BasketConfig):
    name = "marketplace.basket"

    def ready(self) -> None:
        super().ready()
        from marketplace.basket import offers

        offers.connect()
