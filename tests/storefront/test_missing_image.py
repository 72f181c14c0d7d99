"""Oscar's placeholder photo for a product without one is linked into MEDIA_ROOT on first use; two first
requests at once (a new deployment's first buyers) must not answer 500."""

import os

from tests.factories import ProductFactory


def test_the_placeholder_survives_another_request_making_it_first(db, settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = str(tmp_path / "fresh-media")  # not made yet
    product = ProductFactory()
    real_symlink = os.symlink

    def another_request_first(source, target, *args, **kwargs):
        real_symlink(source, target)  # the competitor's link lands first ...
        return real_symlink(source, target, *args, **kwargs)  # ... so ours finds it there

    monkeypatch.setattr(os, "symlink", another_request_first)
    image = product.primary_image()
    assert image["is_missing"]
    assert os.path.exists(os.path.join(settings.MEDIA_ROOT, settings.OSCAR_MISSING_IMAGE_URL))
