"""Pre-aggregated daily sales facts: what the sales review, its exports and the open data read instead of
order lines. Each row is rebuilt from the source rows (shop orders, their lines, refunds) for one shop
and one Asia/Shanghai day by ``shops.sales.facts``; nothing else writes them. The monthly roll-ups
(``SalesMonth``, ``BuyerSalesMonth``, ``ProductSalesMonth``, ``CategorySalesMonth``) are the sums of a
calendar month's daily rows, rebuilt with them, so that a long period reads one row per shop (buyer,
product, category) and month instead of one per day."""

from django.db import models
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 14, "decimal_places": 2, "default": 0}


class SalesDay(models.Model):
    """One shop's sales on one day: its sales (paid shop orders, by the day they were paid), their lines
    and shipping, and the refunds that succeeded that day (whatever day their sale was)."""

    day = models.DateField()
    shop = models.ForeignKey("partner.Partner", on_delete=models.CASCADE, related_name="+")
    sales = models.PositiveIntegerField(default=0)
    units = models.PositiveIntegerField(default=0)
    goods = models.DecimalField(**MONEY)
    shipping = models.DecimalField(**MONEY)
    presale_goods = models.DecimalField(**MONEY)
    refunds = models.DecimalField(**MONEY)
    # The part of ``refunds`` paid back for named order lines (RefundLine); the rest is not itemised.
    refunds_itemised = models.DecimalField(**MONEY)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "shop"], name="sales_day_one_per_shop")]
        verbose_name = _("Daily sales of a shop")
        verbose_name_plural = _("Daily sales of shops")

    def __str__(self) -> str:
        return f"{self.day} shop {self.shop_id}"


class ProductSalesDay(models.Model):
    """One product's part of a shop's day: units and goods sold, how many sales contained it, its
    pre-sale goods (the product shipped later than the sale day, frozen when the row is built) and the
    refunds itemised to its lines. ``category`` is the product's primary category when built."""

    day = models.DateField()
    shop = models.ForeignKey("partner.Partner", on_delete=models.CASCADE, related_name="+")
    # Null when the order line's product was deleted since (Oscar keeps the line).
    product = models.ForeignKey("catalogue.Product", null=True, on_delete=models.SET_NULL, related_name="+")
    category = models.ForeignKey("catalogue.Category", null=True, on_delete=models.SET_NULL, related_name="+")
    sales = models.PositiveIntegerField(default=0)
    units = models.PositiveIntegerField(default=0)
    goods = models.DecimalField(**MONEY)
    presale_goods = models.DecimalField(**MONEY)
    refunds_itemised = models.DecimalField(**MONEY)

    class Meta:
        indexes = [
            models.Index(fields=["day", "shop"], name="sales_product_day_shop"),
            models.Index(fields=["day", "category"], name="sales_product_day_category"),
        ]

    def __str__(self) -> str:
        return f"{self.day} shop {self.shop_id} product {self.product_id}"


class CategorySalesDay(models.Model):
    """How many of one buyer's sales at a shop on a day contained a category: with ``scope`` "own", a
    product whose primary category it is; with "tree", a product in it or under it (so a category filter
    counts a sale once even when it holds two of its sub-categories)."""

    class Scope(models.TextChoices):
        OWN = "own", _("Primary category")
        TREE = "tree", _("Category and its sub-categories")

    day = models.DateField()
    shop = models.ForeignKey("partner.Partner", on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey("catalogue.Category", null=True, on_delete=models.SET_NULL, related_name="+")
    scope = models.CharField(max_length=4, choices=Scope.choices)
    buyer_key = models.CharField(max_length=40)
    sales = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["day", "shop"], name="sales_category_day_shop"),
            models.Index(fields=["day", "scope", "category"], name="sales_category_day_scope"),
            # A buyer's days, to rebuild its chains by category when one of them changes.
            models.Index(fields=["buyer_key", "day"], name="sales_category_buyer_day"),
            # One category's rows over a period (a category filter's edge days, and its buyers summed
            # where the chains cannot count them), answered from the index on PostgreSQL.
            models.Index(
                fields=["scope", "category", "day"],
                include=["shop", "buyer_key", "sales"],
                name="sales_category_scope_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} shop {self.shop_id} category {self.category_id} ({self.scope})"


class BuyerSalesDay(models.Model):
    """How many sales one buyer made at a shop on a day, for repeat buyers. ``buyer_key`` is "u" and the
    user's id, or "g" and a hash of a guest's e-mail: never shown, never reversible to an address."""

    day = models.DateField()
    shop = models.ForeignKey("partner.Partner", on_delete=models.CASCADE, related_name="+")
    buyer_key = models.CharField(max_length=40)
    sales = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["day", "shop"], name="sales_buyer_day_shop"),
            # A buyer's days, to rebuild its ``BuyerSalesChain`` rows when one of them changes.
            models.Index(fields=["buyer_key", "day"], name="sales_buyer_key_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} shop {self.shop_id} buyer {self.buyer_key}"


class SalesMonth(models.Model):
    """One shop's sales in one calendar month (Asia/Shanghai): the sums of its ``SalesDay`` rows of that
    month, recomputed from them whenever one of them is."""

    month = models.DateField()  # the first day of the month
    shop = models.ForeignKey("partner.Partner", on_delete=models.CASCADE, related_name="+")
    sales = models.PositiveIntegerField(default=0)
    units = models.PositiveIntegerField(default=0)
    goods = models.DecimalField(**MONEY)
    shipping = models.DecimalField(**MONEY)
    presale_goods = models.DecimalField(**MONEY)
    refunds = models.DecimalField(**MONEY)
    refunds_itemised = models.DecimalField(**MONEY)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["month", "shop"], name="sales_month_one_per_shop")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} shop {self.shop_id}"


class BuyerSalesMonth(models.Model):
    """How many sales one buyer made at a shop in a calendar month: the sum of its ``BuyerSalesDay`` rows
    of that month. A buyer's sales over any period are the sum over its whole months and edge days, so
    repeat buyers counted from these rows are exact."""

    month = models.DateField()  # the first day of the month
    shop = models.ForeignKey("partner.Partner", on_delete=models.CASCADE, related_name="+")
    buyer_key = models.CharField(max_length=40)
    sales = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "shop", "buyer_key"], name="sales_buyer_month_one")
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} shop {self.shop_id} buyer {self.buyer_key}"


class ProductSalesMonth(models.Model):
    """One product's part of a shop's calendar month: the sums of its ``ProductSalesDay`` rows of that
    month with the same category (the category each day's row was built with), recomputed from them."""

    month = models.DateField()  # the first day of the month
    shop = models.ForeignKey("partner.Partner", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey("catalogue.Product", null=True, on_delete=models.SET_NULL, related_name="+")
    category = models.ForeignKey("catalogue.Category", null=True, on_delete=models.SET_NULL, related_name="+")
    sales = models.PositiveIntegerField(default=0)
    units = models.PositiveIntegerField(default=0)
    goods = models.DecimalField(**MONEY)
    presale_goods = models.DecimalField(**MONEY)
    refunds_itemised = models.DecimalField(**MONEY)

    class Meta:
        indexes = [
            models.Index(fields=["month", "shop"], name="sales_product_month_shop"),
            models.Index(fields=["month", "category"], name="sales_product_month_category"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} shop {self.shop_id} product {self.product_id}"


class CategorySalesMonth(models.Model):
    """How many of a shop's sales in a calendar month contained a category (``scope`` as in
    ``CategorySalesDay``): the sum of that month's ``CategorySalesDay`` rows over its buyers. Who bought is
    not kept: repeat buyers by category are counted from the buyers' chains by category."""

    month = models.DateField()  # the first day of the month
    shop = models.ForeignKey("partner.Partner", on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey("catalogue.Category", null=True, on_delete=models.SET_NULL, related_name="+")
    scope = models.CharField(max_length=4, choices=CategorySalesDay.Scope.choices)
    sales = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["month", "shop"], name="sales_category_month_shop"),
            models.Index(fields=["month", "scope", "category"], name="sales_category_month_scope"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} shop {self.shop_id} category {self.category_id} ({self.scope})"


class BuyerSalesChain(models.Model):
    """One buyer's sales on one day, at one shop (``scope`` "shop"), at the shops of one village, town or
    county ("village", "town", "county": ``place``) or at all shops together ("all"), with the day of the
    buyer's previous sale in that scope and the day of its second sale counting from this day (this day
    when it holds two, else the next sale's day; None when there is none). A buyer made two or more sales
    in a period [S, E] exactly when its first row on or after S (``previous_day`` before S or None) has
    ``second_day`` on or before E: so repeat buyers over any period are a count of rows, not a sum per
    buyer over every row of the period (see ``BuyerSalesChainMonth`` for the long periods)."""

    class Scope(models.TextChoices):
        SHOP = "shop", "shop"
        VILLAGE = "village", "village"
        TOWN = "town", "town"
        COUNTY = "county", "county"
        ALL = "all", "all"
        # The sales at all shops that contained a product of the category (``CategorySalesDay``'s "own"
        # scope), or of the category or one under it ("tree").
        CATEGORY = "cat", "category"
        CATEGORY_TREE = "tree", "category and under"
        # The sales at one shop, or at the shops of one village, town or county, that contained a product
        # of the category or one under it: a category filter broken down by shop or place, or within one.
        SHOP_TREE = "shtree", "shop, category and under"
        VILLAGE_TREE = "vtree", "village, category and under"
        TOWN_TREE = "ttree", "town, category and under"
        COUNTY_TREE = "ctree", "county, category and under"

    scope = models.CharField(max_length=7, choices=Scope.choices)
    # The shop for scopes "shop" and "shtree"; None otherwise.
    shop = models.ForeignKey("partner.Partner", null=True, on_delete=models.CASCADE, related_name="+")
    # The village, town or county for those scopes and their "…tree" ones (the shops' places when the
    # row was built, see ``ChainPlace``); None otherwise.
    place = models.ForeignKey("places.Region", null=True, on_delete=models.CASCADE, related_name="+")
    # The category for the category scopes and the "…tree" ones (None there: the sales of products with
    # no category); None otherwise.
    category = models.ForeignKey("catalogue.Category", null=True, on_delete=models.CASCADE, related_name="+")
    buyer_key = models.CharField(max_length=40)
    day = models.DateField()
    sales = models.PositiveIntegerField(default=0)
    previous_day = models.DateField(null=True)
    second_day = models.DateField(null=True)

    class Meta:
        indexes = [
            # Only rows with a second sale can make a repeat buyer; on PostgreSQL the indexes hold the
            # other columns the counts read, so they are answered from the index alone.
            models.Index(
                fields=["scope", "second_day"],
                include=["day", "previous_day", "shop", "place", "category"],
                condition=models.Q(second_day__isnull=False),
                name="sales_chain_second",
            ),
            # The days at the head of a long period (before its first whole month).
            models.Index(
                fields=["scope", "day"],
                include=["previous_day", "second_day", "shop", "place", "category"],
                condition=models.Q(second_day__isnull=False),
                name="sales_chain_day",
            ),
            # Each buyer's first sale in its scope, for the buyers who had none before a long period.
            models.Index(
                fields=["scope", "second_day"],
                include=["day", "shop", "place", "category"],
                condition=models.Q(second_day__isnull=False, previous_day__isnull=True),
                name="sales_chain_first",
            ),
            # The rows of chosen categories (a category filter) at the head of a period.
            models.Index(
                fields=["scope", "category", "day"],
                include=["previous_day", "second_day", "shop", "place"],
                condition=models.Q(second_day__isnull=False, category__isnull=False),
                name="sales_chain_category_day",
            ),
            # Their first sales in the scope, for the buyers who had none before a long period.
            models.Index(
                fields=["scope", "category", "second_day"],
                include=["day", "shop", "place"],
                condition=models.Q(
                    second_day__isnull=False, previous_day__isnull=True, category__isnull=False
                ),
                name="sales_chain_first_category",
            ),
            models.Index(fields=["buyer_key"], name="sales_chain_buyer"),
        ]

    def __str__(self) -> str:
        unit = self.shop_id or self.place_id or self.category_id or ""
        return f"{self.scope} {unit} {self.buyer_key} {self.day}"


# The chains of a category's tree at each unit the chains group buyers by: a category filter's repeat
# buyers by shop or by place (or within one) are counted from them.
CHAIN_TREE_OF: dict[str, str] = {
    BuyerSalesChain.Scope.SHOP: BuyerSalesChain.Scope.SHOP_TREE,
    BuyerSalesChain.Scope.VILLAGE: BuyerSalesChain.Scope.VILLAGE_TREE,
    BuyerSalesChain.Scope.TOWN: BuyerSalesChain.Scope.TOWN_TREE,
    BuyerSalesChain.Scope.COUNTY: BuyerSalesChain.Scope.COUNTY_TREE,
}


class BuyerSalesChainMonth(models.Model):
    """A buyer's chain row as seen from the first day of a month: for each month start M that falls in
    the gap after a buyer's sale and up to its next one in a scope (``previous_day`` < M <= that next
    day), that next row's ``previous_day`` and ``second_day``, kept only when ``second_day`` is set. A
    period whose first whole month starts on M counts the buyers with no sale between its start and M
    and their second sale from M by its end with one index range on (scope, month, second_day): one row
    per repeat buyer, instead of every chain row of the period. Derived from ``BuyerSalesChain``, rebuilt
    with it."""

    scope = models.CharField(max_length=7, choices=BuyerSalesChain.Scope.choices)
    shop = models.ForeignKey("partner.Partner", null=True, on_delete=models.CASCADE, related_name="+")
    place = models.ForeignKey("places.Region", null=True, on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey("catalogue.Category", null=True, on_delete=models.CASCADE, related_name="+")
    buyer_key = models.CharField(max_length=40)
    month = models.DateField()  # the first day of the month
    previous_day = models.DateField()
    second_day = models.DateField()

    class Meta:
        indexes = [
            models.Index(
                fields=["scope", "month", "second_day"],
                include=["previous_day", "shop", "place", "category"],
                name="sales_chain_month",
            ),
            # The same for chosen categories (a category filter).
            models.Index(
                fields=["scope", "category", "month", "second_day"],
                include=["previous_day", "shop", "place"],
                condition=models.Q(category__isnull=False),
                name="sales_chain_month_category",
            ),
            models.Index(fields=["buyer_key"], name="sales_chain_month_buyer"),
        ]

    def __str__(self) -> str:
        unit = self.shop_id or self.place_id or self.category_id or ""
        return f"{self.scope} {unit} {self.buyer_key} {self.month:%Y-%m}"


class SalesFactsPending(models.Model):
    """A shop's day whose facts are behind its sales: written by the paid-order subscriber, taken away by
    the next catch-up (``shops.sales.facts.sales_facts_catch_up``), which rebuilds each day once for all
    of its pending shops and only the chains of the buyers named here. Under a burst of orders one
    rebuild covers every sale that arrived while the previous one ran."""

    day = models.DateField()
    shop = models.ForeignKey("partner.Partner", on_delete=models.CASCADE, related_name="+")
    buyer_key = models.CharField(max_length=40)  # whose chains changed (BuyerSalesDay.buyer_key)
    # The sale (a shop order paid): added to the day's facts as it is, unless already counted (SaleCounted).
    # Empty on rows noted before sales were added one by one: their shop's day is rebuilt whole.
    shop_order = models.ForeignKey("order.ShopOrder", null=True, on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"{self.day} shop {self.shop_id} buyer {self.buyer_key}"


class SaleCounted(models.Model):
    """A sale (a shop order paid) that the daily facts count: written by the catch-up that adds it and by
    every rebuild of its shop's day (for each sale it read), in their transaction. The catch-up adds only
    sales without one, so a sale is counted once however often its event is delivered and whether or not
    a rebuild of its day came first."""

    shop_order = models.OneToOneField(
        "order.ShopOrder", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField()
    shop = models.ForeignKey("partner.Partner", on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["day", "shop"], name="sales_counted_day_shop")]

    def __str__(self) -> str:
        return f"{self.day} shop order {self.shop_order_id}"


class ChainPlace(models.Model):
    """The village, town and county each shop's sales were counted in when the buyers' chains by place
    were last built: a shop whose places differ now (it moved) has its buyers' chains by place rebuilt by
    the next refresh, and until then the review counts repeat buyers by place without the chains."""

    shop = models.OneToOneField(
        "partner.Partner", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    village = models.ForeignKey("places.Region", null=True, on_delete=models.CASCADE, related_name="+")
    town = models.ForeignKey("places.Region", null=True, on_delete=models.CASCADE, related_name="+")
    county = models.ForeignKey("places.Region", null=True, on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"shop {self.shop_id}: {self.village_id} {self.town_id} {self.county_id}"
