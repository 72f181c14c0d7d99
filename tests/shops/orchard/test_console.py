"""The console's orchard pages: what a farmer sees and does, their query budgets (the same with one
plot, device or alert as with many), and the nightly retention of raw readings."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from shops.orchard.ingest import readings_ingest
from shops.orchard.models import Alert, AlertRule, DailyRollup, Device, HourlyRollup, Plot, Reading
from shops.orchard.services import alert_rule_add, device_add, readings_forget
from tests.shops.orchard.conftest import message

pytestmark = pytest.mark.django_db
MANY = 6


def ago(hours: float) -> str:
    return (timezone.now() - datetime.timedelta(hours=hours)).isoformat()


def grow(world, n: int) -> None:
    """``n`` plots, each with a device, a frost rule, a day of readings and a frost alert."""
    for i in range(n):
        plot = world.plot if i == 0 else Plot.objects.create(shop=world.shop, name=f"地块{i}")
        device = (
            world.device
            if i == 0
            else device_add(plot=plot, device_id=f"{world.device.device_id}-{i}", kind="combined")
        )
        alert_rule_add(plot=plot, preset="frost")
        readings = [("air_temp_c", ago(h), 1.0 + h / 4) for h in range(1, 25)]
        readings += [("soil_moisture_pct", ago(h), 30.0) for h in range(1, 25)]
        readings_ingest([message(device, readings)])


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


@pytest.mark.parametrize(
    "page",
    ["orchard-plots", "orchard-alerts", "orchard-plot", "orchard-rules", "orchard-chart"],
)
def test_orchard_pages_run_as_many_queries_for_many_rows_as_for_one(
    orchard_a, orchard_b, page, django_assert_max_num_queries
):
    def url(world):
        kwargs = {}
        if page in ("orchard-plot", "orchard-rules", "orchard-chart"):
            kwargs["plot"] = world.plot.pk
        if page == "orchard-chart":
            kwargs["metric"] = "air_temp_c"
        return reverse(f"console:{page}", kwargs=kwargs)

    grow(orchard_a, 1)
    grow(orchard_b, MANY)
    one = queries(orchard_a.client, url(orchard_a))
    with django_assert_max_num_queries(one):
        orchard_b.client.get(url(orchard_b))
    assert one <= 12


def test_the_plot_page_shows_charts_summaries_devices_and_rules(orchard_a):
    grow(orchard_a, 1)
    response = orchard_a.client.get(
        reverse("console:orchard-plot", kwargs={"plot": orchard_a.plot.pk}) + "?days=30"
    )
    page = response.content.decode()
    assert response.context["days"] == 30
    assert [s.metric.code for s in response.context["summaries"]] == ["air_temp_c", "soil_moisture_pct"]
    assert (
        reverse("console:orchard-chart", kwargs={"plot": orchard_a.plot.pk, "metric": "air_temp_c"}) in page
    )
    assert orchard_a.device.device_id in page
    chart = orchard_a.client.get(
        reverse("console:orchard-chart", kwargs={"plot": orchard_a.plot.pk, "metric": "air_temp_c"})
    )
    assert chart["Content-Type"].startswith("image/svg+xml")
    assert chart.content.startswith(b"<svg")


def test_a_farmer_adds_a_plot_and_a_device_whose_secret_is_shown_once(orchard_a):
    response = orchard_a.client.post(
        reverse("console:orchard-plot-create"), {"name": "西坡二号地", "crop": "白凤"}
    )
    plot = Plot.objects.get(shop=orchard_a.shop, name="西坡二号地")
    assert response.url == reverse("console:orchard-plot", kwargs={"plot": plot.pk})

    added = orchard_a.client.post(
        reverse("console:orchard-device-create", kwargs={"plot": plot.pk}),
        {"device_id": "ya-0099", "kind": "soil"},
    )
    device = Device.objects.get(device_id="ya-0099")
    assert device.plot == plot
    assert added["Cache-Control"] == "no-store"
    assert device.secret in added.content.decode()
    assert (
        device.secret
        not in orchard_a.client.get(
            reverse("console:orchard-plot", kwargs={"plot": plot.pk})
        ).content.decode()
    )

    rotated = orchard_a.client.post(reverse("console:orchard-device-rotate", kwargs={"device": device.pk}))
    old = device.secret
    device.refresh_from_db()
    assert device.secret != old
    assert device.secret_previous == old
    assert device.secret in rotated.content.decode()


def test_a_device_id_already_registered_is_refused(orchard_a, orchard_b):
    response = orchard_b.client.post(
        reverse("console:orchard-device-create", kwargs={"plot": orchard_b.plot.pk}),
        {"device_id": orchard_a.device.device_id, "kind": "soil"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["device_id"]
    orchard_a.device.refresh_from_db()
    assert orchard_a.device.plot == orchard_a.plot


def test_rules_from_a_preset_or_the_farmers_own_and_alerts_acknowledged(orchard_a):
    url = reverse("console:orchard-rules", kwargs={"plot": orchard_a.plot.pk})
    orchard_a.client.post(url, {"preset": "drought"})
    orchard_a.client.post(url, {"name": "太湿", "metric": "2", "direction": "above", "threshold": "95"})
    refused = orchard_a.client.post(
        url, {"name": "太热", "metric": "1", "direction": "above", "threshold": "99"}
    )
    assert refused.context["form"].errors["threshold"]
    assert sorted(
        AlertRule.objects.filter(plot=orchard_a.plot).values_list("metric", "direction", "threshold")
    ) == [
        (2, "above", 95.0),
        (3, "below", 15.0),
    ]

    readings_ingest([message(orchard_a.device, [("soil_moisture_pct", ago(1), 9.0)])])
    alert = Alert.objects.get()
    assert "9.0" in orchard_a.client.get(reverse("console:orchard-alerts")).content.decode()
    orchard_a.client.post(reverse("console:orchard-alert-acknowledge", kwargs={"alert": alert.pk}))
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None
    assert alert.acknowledged_by == orchard_a.farmer


def test_retention_deletes_raw_readings_older_than_a_season_and_keeps_the_roll_ups(orchard_a, settings):
    settings.ORCHARD_READINGS_KEEP_DAYS = 400
    readings_ingest(
        [message(orchard_a.device, [("air_temp_c", ago(24 * 399), 5.0), ("air_temp_c", ago(2), 6.0)])]
    )
    Reading.objects.filter(value=5.0).update(measured_at=timezone.now() - datetime.timedelta(days=401))

    assert readings_forget() == 1
    assert list(Reading.objects.values_list("value", flat=True)) == [6.0]
    assert HourlyRollup.objects.count() == 2
    assert DailyRollup.objects.count() == 2
