"""The storefront's own search index: one token row per (product, token).

Chinese has no spaces and buyers type one- or two-character queries (茶, 笋干), which trigram indexes
cannot serve. We store CJK unigrams and overlapping bigrams plus Latin word prefixes as plain rows, so a
B-tree index answers any query on SQLite and PostgreSQL alike (docs/architecture.md says why).
"""

from django.db import models


class ProductSearchDocument(models.Model):
    """The normalised text a product is found by, kept to confirm CJK phrase matches exactly."""

    product = models.OneToOneField(
        "catalogue.Product", primary_key=True, on_delete=models.CASCADE, related_name="search_document"
    )
    text = models.TextField()
    indexed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.product_id}: {self.text[:40]}"


class SearchToken(models.Model):
    product = models.ForeignKey("catalogue.Product", on_delete=models.CASCADE, related_name="search_tokens")
    token = models.CharField(max_length=32)
    # Where the token was found and how (tokens.KIND / NAME / PLACE, at a word's edge or inside one):
    # a result ranks by the sum of its matched tokens' weights.
    weight = models.PositiveSmallIntegerField(default=1)

    class Meta:
        # The foreign key's own index serves lookups by product; a second one on the same column only
        # made every token row cost one more B-tree insert (a quarter of a bulk rebuild's writes).
        constraints = [models.UniqueConstraint(fields=["token", "product"], name="searchtoken_token_product")]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.token}"


class SearchPick(models.Model):
    """A search's first page of products on sale, best first, with one more than a page holds, and how many
    products it finds (``picks.py``): kept, so the search page's first page reads its ids and count instead
    of ranking and counting every match (~130 ms for 水蜜桃 at 100,000 products on SQLite). Picked by the
    page that finds none, picked again after every change to the products it could list."""

    # A hash of the query as searched (its text, tokens and phrases) and the page size.
    key = models.CharField(max_length=64, primary_key=True)
    text = models.CharField(max_length=200)  # the query as searched, shown in the admin
    tokens = models.JSONField(default=list)  # every token the query needs, to tell which changes touch it
    product_ids = models.JSONField(default=list)
    count = models.PositiveIntegerField()
    page_size = models.PositiveSmallIntegerField()
    used_on = models.DateField()  # the last day a page read it (written at most once a day)
    picked_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.text
