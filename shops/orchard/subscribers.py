"""What the orchard does when the outbox says so: e-mail the farmers about a new alert."""

from marketplace.outbox.services import subscribe
from shops.orchard.ingest import ALERT_RAISED
from shops.orchard.notices import alert_notice_send

subscribe(
    topic=ALERT_RAISED,
    name="orchard.alert_notice",
    run=lambda key, payload: alert_notice_send(alert_id=payload["alert_id"]),
)
