"""The storefront's read model: each product's card as HTML, per language (``storefront/cards.py``)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ProductCard(models.Model):
    """A product's card (storefront/partials/product_card.html) as one language's HTML, kept in the database
    so a list page drawn from the database reads its cards instead of rendering them.

    ``generation`` moves on with every change to what the card shows (the product, its price, photos,
    certifications, shop or places), in the change's transaction, and empties ``html``; a page that drew a
    missing or stale card stores it only where the generation is still the one it read before reading the
    product (``cards.product_cards_html``), so a card drawn from data a change has since replaced is never
    kept. ``drawn_for`` names the day and the card's format it was drawn for: the in-season and pre-sale
    flags follow the date, the markup and its translations follow the release."""

    # No database constraint, and no cascade: a deleted product's photos and stock records, deleted before it,
    # mark its cards stale on their way out (an emptied row for a product about to go). Its own post_delete,
    # the last of the cascade, deletes its cards (``receivers``).
    product = models.ForeignKey(
        "catalogue.Product",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="storefront_cards",
        verbose_name=_("Product"),
    )
    language = models.CharField(_("Language"), max_length=15)
    generation = models.PositiveIntegerField(_("Generation"), default=1)
    html = models.TextField(_("HTML"), blank=True)
    drawn_for = models.CharField(_("Drawn for"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("Product card")
        verbose_name_plural = _("Product cards")
        constraints = [
            models.UniqueConstraint(fields=["product", "language"], name="storefront_card_one_per_language")
        ]

    def __str__(self) -> str:
        return f"{self.product_id} ({self.language})"


class SeasonPick(models.Model):
    """The home page's "fresh this season" products for a month, in their order (``season_pick.py``): kept
    by the catalogue-change subscriber, so the home page reads twelve ids instead of ordering every product
    in season (52 ms at 100,000 products on SQLite, whose planner does not read it from an index)."""

    month = models.PositiveSmallIntegerField(_("Month"), primary_key=True)
    product_ids = models.JSONField(_("Products"), default=list)

    class Meta:
        verbose_name = _("Season pick")
        verbose_name_plural = _("Season picks")

    def __str__(self) -> str:
        return str(self.month)


class CategoryPick(models.Model):
    """A category's first page of products on sale, newest first, with one more than a page holds
    (``category_pick.py``): kept by the catalogue-change subscriber, so the category page's first page reads
    its ids instead of ordering every product of the category (65 ms at 100,000 products on SQLite)."""

    category = models.OneToOneField(
        "catalogue.Category", on_delete=models.CASCADE, primary_key=True, verbose_name=_("Category")
    )
    product_ids = models.JSONField(_("Products"), default=list)
    page_size = models.PositiveSmallIntegerField(_("Page size"))

    class Meta:
        verbose_name = _("Category pick")
        verbose_name_plural = _("Category picks")

    def __str__(self) -> str:
        return str(self.category_id)


class KeptScope(models.Model):
    """How many times what a scope of kept fragments is drawn from has changed (``kept.py``): a product's
    page (scope ``product``, its id), the home page's shops, places and kinds (``home``). A change moves it
    on in the change's own transaction; the row with key ``*`` moves every key of its scope on at once."""

    scope = models.CharField(_("Scope"), max_length=20)
    key = models.CharField(_("Key"), max_length=64)
    generation = models.PositiveBigIntegerField(_("Generation"), default=1)

    class Meta:
        verbose_name = _("Kept scope")
        verbose_name_plural = _("Kept scopes")
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="storefront_kept_scope_one")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class KeptFragment(models.Model):
    """A part of a page as one language's HTML, drawn from the data of one scope and key (``kept.py``):
    served while ``generation`` is the scope's (its key's and its ``*`` row's together) and ``drawn_for``
    is the release and the values it varies on (a month, say)."""

    scope = models.CharField(_("Scope"), max_length=20)
    key = models.CharField(_("Key"), max_length=64)
    name = models.CharField(_("Name"), max_length=40)
    language = models.CharField(_("Language"), max_length=15)
    generation = models.PositiveBigIntegerField(_("Generation"))
    drawn_for = models.CharField(_("Drawn for"), max_length=80)
    html = models.TextField(_("HTML"))

    class Meta:
        verbose_name = _("Kept fragment")
        verbose_name_plural = _("Kept fragments")
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "key", "name", "language"], name="storefront_kept_fragment_one"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}:{self.name} ({self.language})"


class ListsMovedRecord(models.Model):
    """What a catalogue change may have moved in the kept lists (``lists_moved.py``): a product, a category,
    a shop and its products, a shop's count, or everything (``ident`` 0), written in the change's
    transaction under its outbox key and read (then deleted) by the change's delivery, which picks again
    only the lists these can reach."""

    class Kind(models.TextChoices):
        EVERYTHING = "all", _("Everything")
        PRODUCT = "product", _("Product")
        CATEGORY = "category", _("Category")
        SHOP = "shop", _("Shop")
        SHOP_COUNT = "count", _("Shop's count")

    key = models.CharField(_("Key"), max_length=64)
    kind = models.CharField(_("Kind"), max_length=10, choices=Kind.choices)
    ident = models.BigIntegerField(_("Id"), default=0)

    class Meta:
        verbose_name = _("Lists moved")
        verbose_name_plural = _("Lists moved")
        constraints = [
            models.UniqueConstraint(fields=["key", "kind", "ident"], name="storefront_lists_moved_one")
        ]

    def __str__(self) -> str:
        return f"{self.key}:{self.kind}:{self.ident}"
