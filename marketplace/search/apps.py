from oscar.apps.search import apps


class SearchConfig(apps.SearchConfig):
    name = "marketplace.search"

    def ready(self) -> None:
        super().ready()
        from marketplace.search import receivers  # noqa: F401
