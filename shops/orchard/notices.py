"""The farmer's e-mail about an orchard alert (frost, drought, a threshold of their own), sent once from
the outbox row the ingestion wrote with the alert."""

from django.conf import settings
from django.contrib.sites.models import Site
from django.urls import reverse

from marketplace.outbox.notices import notice_send_once
from shops.orchard.metrics import BY_NUMBER
from shops.orchard.models import Alert


def alert_notice_send(*, alert_id: int) -> bool:
    alert = Alert.objects.select_related("rule__plot__shop").filter(pk=alert_id).first()
    if alert is None or alert.acknowledged_at is not None:
        return False  # the rule was deleted, or the farmer saw the alert in the console already
    plot = alert.rule.plot
    metric = BY_NUMBER[alert.rule.metric]
    scheme = "https" if settings.SESSION_COOKIE_SECURE else "http"
    return notice_send_once(
        kind="orchard-alert",
        key=str(alert.pk),
        recipients=list(plot.shop.users.values_list("email", flat=True)),
        template="orchard_alert",
        context={
            "alert": alert,
            "plot": plot,
            "metric": metric,
            "alerts_link": f"{scheme}://{Site.objects.get_current().domain}{reverse('console:orchard-alerts')}",
        },
    )
