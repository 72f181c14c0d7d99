"""What the shops' side does when the outbox says so: draw a new photo's renditions."""

from marketplace.outbox.services import subscribe
from shops.photos import PHOTO_ADDED, product_photo_renditions_draw

subscribe(
    topic=PHOTO_ADDED,
    name="shops.photo_renditions",
    run=lambda key, payload: product_photo_renditions_draw(photo_id=payload["photo_id"]),
)
