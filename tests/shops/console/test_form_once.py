"""A console form that makes something is acted on once per page (shops/console/once.py): a double click,
a resend or a second tab makes nothing again and goes where the first sending went; a form sent back with
errors can be corrected and sent with the same page; a page without a token is acted on as before."""

import datetime
import re
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shops.harvest.models import HarvestBatch
from shops.models import FormSubmission
from shops.orchard.models import AlertRule, Plot
from shops.tasks import form_submissions_forget_task
from tests.shops.harvest.test_console import farm, form  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def token_of(client, url: str) -> str:
    page = client.get(url).content.decode()
    found = re.search(r'name="form_once" value="([^"]+)"', page)
    assert found, f"no form token on {url}"
    return found[1]


def test_a_batch_sent_twice_from_one_page_is_recorded_once(client, farm):  # noqa: F811
    _shop, peaches, plot = farm
    url = reverse("console:harvest-create")
    data = {**form(peaches, plot), "form_once": token_of(client, url)}
    first = client.post(url, data)
    second = client.post(url, data)
    assert first.status_code == second.status_code == 302
    assert second["Location"] == first["Location"]
    assert HarvestBatch.objects.count() == 1
    followed = client.get(second["Location"]).content.decode()
    assert "已保存过一次" in followed


def test_two_pages_make_two_batches_and_a_page_without_token_is_acted_on(client, farm):  # noqa: F811
    _shop, peaches, plot = farm
    url = reverse("console:harvest-create")
    client.post(url, {**form(peaches, plot), "form_once": token_of(client, url)})
    client.post(url, {**form(peaches, plot), "form_once": token_of(client, url)})
    client.post(url, form(peaches, plot))
    assert HarvestBatch.objects.count() == 3


def test_a_form_sent_back_with_errors_can_be_corrected_and_sent_with_the_same_page(client, farm):  # noqa: F811
    _shop, peaches, plot = farm
    url = reverse("console:harvest-create")
    token = token_of(client, url)
    wrong = client.post(url, {**form(peaches, plot), "quantity_kg": "0", "form_once": token})
    assert wrong.status_code == 200
    assert not FormSubmission.objects.exists()
    assert client.post(url, {**form(peaches, plot), "form_once": token}).status_code == 302
    assert HarvestBatch.objects.count() == 1


@pytest.mark.parametrize("what", ["plot", "rule"])
def test_plots_and_alert_rules_are_made_once_per_page(client, farm, what):  # noqa: F811
    _shop, _peaches, plot = farm
    if what == "plot":
        url = reverse("console:orchard-plot-create")
        data = {"name": "西坡二号", "altitude_m": "320", "area_mu": "3.5", "crop": "水蜜桃"}
        counted = Plot.objects
    else:
        url = reverse("console:orchard-rules", kwargs={"plot": plot.pk})
        data = {"preset": "frost"}
        counted = AlertRule.objects
    before = counted.count()
    data["form_once"] = token_of(client, url)
    responses = [client.post(url, data) for _ in range(2)]
    assert [r.status_code for r in responses] == [302, 302], responses[0].content.decode()[:3000]
    assert counted.count() == before + 1


@pytest.mark.django_db(transaction=True)
def test_two_sendings_at_the_same_moment_make_one_batch(farm):  # noqa: F811
    """Two clicks whose requests run together (PostgreSQL: the second waits on the first's token row)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time: the sequential test covers it")
    shop, peaches, plot = farm
    farmer = shop.users.first()
    url = reverse("console:harvest-create")
    first_client = Client()
    first_client.force_login(farmer)
    data = {**form(peaches, plot), "form_once": token_of(first_client, url)}
    answers: list[int] = []

    def send() -> None:
        sender = Client()
        sender.force_login(farmer)
        answers.append(sender.post(url, data).status_code)
        connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [302, 302]
    assert HarvestBatch.objects.count() == 1


def test_tokens_are_forgotten_after_thirty_days(client, farm):  # noqa: F811
    _shop, peaches, plot = farm
    url = reverse("console:harvest-create")
    client.post(url, {**form(peaches, plot), "form_once": token_of(client, url)})
    client.post(url, {**form(peaches, plot), "form_once": token_of(client, url)})
    old, recent = FormSubmission.objects.order_by("created_at")
    FormSubmission.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=31))
    assert form_submissions_forget_task() == 1
    assert list(FormSubmission.objects.values_list("pk", flat=True)) == [recent.pk]
