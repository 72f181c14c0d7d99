"""factory-boy factories for the marketplace's own models (Oscar's are in oscar.test.factories)."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone
from oscar.core.loading import get_model
from oscar.test.factories import UserFactory

from marketplace.ledger.models import SaleEntry
from marketplace.ledger.services import ledger_refund_record
from marketplace.order.models import ShopOrderEvent
from marketplace.payments.models import Refund
from shops.association.access import association_group

Region = get_model("places", "Region")
Partner = get_model("partner", "Partner")
Product = get_model("catalogue", "Product")
ProductClass = get_model("catalogue", "ProductClass")
Category = get_model("catalogue", "Category")
StockRecord = get_model("partner", "StockRecord")


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region

    name = factory.Sequence(lambda n: f"地区{n}")
    name_en = factory.Sequence(lambda n: f"Region {n}")
    level = Region.Level.PROVINCE


def region_chain(*, county="遂昌县", county_en="Suichang", town="湖山乡", village="黄沙腰村"):
    """A province → city → county → town → village chain, returned as a dict by level name."""
    province = RegionFactory(name="浙江省", name_en="Zhejiang", code="330000", level=Region.Level.PROVINCE)
    city = RegionFactory(
        name="丽水市", name_en="Lishui", code="331100", level=Region.Level.CITY, parent=province
    )
    county_r = RegionFactory(
        name=county, name_en=county_en, code="331123", level=Region.Level.COUNTY, parent=city
    )
    town_r = RegionFactory(name=town, name_en="Hushan", level=Region.Level.TOWN, parent=county_r)
    village_r = RegionFactory(name=village, name_en="Huangshayao", level=Region.Level.VILLAGE, parent=town_r)
    return {"province": province, "city": city, "county": county_r, "town": town_r, "village": village_r}


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    name = factory.Sequence(lambda n: f"村口小店{n}")
    name_en = factory.Sequence(lambda n: f"Village shop {n}")
    code = factory.Sequence(lambda n: f"village-shop-{n}")
    status = Partner.Status.APPROVED
    story = "我们家三代种茶。"
    story_en = "Three generations of tea growers."


class ProductClassFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductClass
        django_get_or_create = ("slug",)

    name = "鲜果"
    slug = "fresh-fruit"
    requires_shipping = True
    track_stock = True


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        skip_postgeneration_save = True

    structure = Product.STANDALONE
    title = factory.Sequence(lambda n: f"阳山水蜜桃{n}号")
    title_en = factory.Sequence(lambda n: f"Yangshan honey peach no. {n}")
    upc = factory.Sequence(lambda n: f"TEST-{n:06d}")
    product_class = factory.SubFactory(ProductClassFactory)
    shop = factory.SubFactory(ShopFactory)
    is_public = True
    harvest_start_month = 6
    harvest_end_month = 8
    storage = Product.Storage.CHILLED
    perishable = True

    @factory.post_generation
    def stock(self, create, extracted, **kwargs):
        if not create:
            return
        price, num_in_stock = extracted or (Decimal("168.00"), 20)
        StockRecord.objects.create(
            product=self,
            partner=self.shop,
            partner_sku=f"SKU-{self.upc}",
            price=price,
            price_currency="CNY",
            num_in_stock=num_in_stock,
        )


def category(name: str, name_en: str = "", parent=None):
    fields = {"name": name, "name_en": name_en}
    if parent is None:
        return Category.objects.add_root(create_kwargs=fields)
    return Category.objects.add_child(parent, create_kwargs=fields)


def association_member(**fields):
    """A user of the association's staff group (who may use /association/ and is alerted by it)."""
    user = UserFactory(**fields)
    user.groups.add(association_group())
    return user


def paid_move_date(event: "ShopOrderEvent", at: "datetime.datetime") -> None:
    """Date a shop order's move to PAID (made through ``shop_order_transition``) at ``at``, and its sale
    in the ledger with it, as if it had been paid then."""
    ShopOrderEvent.objects.filter(pk=event.pk).update(created_at=at)
    SaleEntry.objects.filter(shop_order_id=event.shop_order_id, kind=SaleEntry.Kind.SALE).update(
        at=at, day=timezone.localdate(at)
    )


def refund_date(refund: "Refund", at: "datetime.datetime") -> None:
    """Date a refund made in a test at ``at``; one that succeeded goes into the ledger, as the refund
    service's success does."""
    Refund.objects.filter(pk=refund.pk).update(created_at=at)
    refund.refresh_from_db()
    if refund.status == Refund.Status.SUCCEEDED:
        ledger_refund_record(refund=refund, shop_id=refund.shop_order.shop_id)
