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
