"""Two shops, each with a plot and a device; helpers to build the messages devices publish."""

import datetime
from dataclasses import dataclass

import pytest
from django.test import Client
from oscar.test.factories import UserFactory

from shops.orchard.ingest import payload_sign, topic_for
from shops.orchard.models import Device, Plot
from shops.orchard.services import device_add
from shops.services import farmer_attach
from tests.factories import ShopFactory

# A fixed "now" for the pure ingest tests: readings are dated around it.
NOW = datetime.datetime(2026, 7, 10, 12, 0, tzinfo=datetime.UTC)


@dataclass
class Orchard:
    shop: object
    farmer: object
    client: Client
    plot: Plot
    device: Device


def orchard(shop_name: str, plot_name: str, device_id: str) -> Orchard:
    shop = ShopFactory(name=shop_name)
    farmer = UserFactory(email=f"{shop.code}@farm.example.cn")
    farmer_attach(shop=shop, user=farmer)
    client = Client()
    client.force_login(farmer)
    plot = Plot.objects.create(shop=shop, name=plot_name, crop="水蜜桃")
    device = device_add(plot=plot, device_id=device_id, kind=Device.Kind.COMBINED)
    return Orchard(shop=shop, farmer=farmer, client=client, plot=plot, device=device)


@pytest.fixture
def orchard_a(db):
    return orchard("桃源果园", "东坡一号地", "ya-0001")


@pytest.fixture
def orchard_b(db):
    return orchard("龙谷茶舍", "茶山南坡", "lg-0001")


def at(hours: float, base: datetime.datetime = NOW) -> str:
    """An ISO time ``hours`` after ``base``, written in China's offset as a device would."""
    moment = base + datetime.timedelta(hours=hours)
    return moment.astimezone(datetime.timezone(datetime.timedelta(hours=8))).isoformat()


def message(
    device: Device,
    readings: list[tuple[str, str, float]],
    *,
    seq: int = 1,
    plot=None,
    secret=None,
    body_device=None,
    topic_device=None,
) -> tuple[str, bytes]:
    """(topic, payload) as ``device`` publishes ``readings`` [(metric, at, value)], signed with its secret."""
    body = {
        "device": body_device or device.device_id,
        "plot": device.plot_id if plot is None else plot,
        "seq": seq,
        "readings": [{"metric": m, "at": t, "value": v} for m, t, v in readings],
    }
    return topic_for(topic_device or device.device_id), payload_sign(
        body=body, secret=secret or device.secret
    )
