default_app_config = "marketplace.catalogue.apps.CatalogueConfig"
