"""The association's quality standards per category: required fields, photo count, claims tied to
registered regions, the nearest ancestor's standard, and the staff page that edits them."""

import pytest
from django.test import Client
from django.urls import reverse
from oscar.core.loading import get_model

from shops.association.listing_review import (
    ListingReviewError,
    category_standard_set,
    listing_standards_check,
)
from shops.association.models import AuditEntry
from tests.factories import (
    ProductFactory,
    RegionFactory,
    ShopFactory,
    association_member,
    category,
    region_chain,
)

Product = get_model("catalogue", "Product")
ProductImage = get_model("catalogue", "ProductImage")
Certification = get_model("catalogue", "Certification")
CategoryStandard = get_model("association", "CategoryStandard")
Region = get_model("places", "Region")

pytestmark = pytest.mark.django_db


@pytest.fixture
def fruit():
    return category("鲜果", "Fresh fruit")


@pytest.fixture
def peaches(fruit):
    return category("水蜜桃", "Honey peaches", parent=fruit)


@pytest.fixture
def staff():
    client = Client()
    client.user = association_member()
    client.force_login(client.user)
    return client


def peach_listing(cat, **fields):
    defaults = {
        "variety": "湖景蜜露",
        "net_weight_g": 2500,
        "pack_size": "6只装",
        "harvest_start_month": 7,
        "harvest_end_month": 8,
        "shelf_life_days": 5,
        "grade": "first",
        "description": "七月开摘。",
    }
    product = ProductFactory(**{**defaults, **fields})
    product.categories.set([cat])
    return product


def photos_add(product, count: int) -> None:
    for i in range(count):
        ProductImage.objects.create(
            product=product, original=f"images/p{product.pk}-{i}.jpg", display_order=i
        )


def codes(product) -> list[str]:
    return [problem.code for problem in listing_standards_check(Product.objects.get(pk=product.pk))]


# --- fields and photos ------------------------------------------------------------------------------


def test_a_listing_without_a_standard_has_no_problem(peaches):
    assert codes(peach_listing(peaches, variety="", net_weight_g=None)) == []


@pytest.mark.parametrize(
    ("field", "empty"),
    [
        ("variety", {"variety": ""}),
        ("net_weight", {"net_weight_g": None}),
        ("pack", {"pack_size": ""}),
        ("harvest_months", {"harvest_end_month": None}),
        ("shelf_life", {"shelf_life_days": None}),
        ("grade", {"grade": ""}),
        ("title_en", {"title_en": "  "}),
        ("description", {"description": ""}),
    ],
)
def test_a_required_field_left_empty_is_a_problem(peaches, field, empty):
    CategoryStandard.objects.create(category=peaches, required_fields=[field])

    assert codes(peach_listing(peaches, **empty)) == [f"field:{field}"]
    assert codes(peach_listing(peaches)) == []


def test_too_few_photos_is_a_problem_naming_the_numbers(peaches):
    CategoryStandard.objects.create(category=peaches, min_photos=2)
    product = peach_listing(peaches)
    photos_add(product, 1)

    [problem] = listing_standards_check(product)

    assert problem.code == "photos"
    assert "2" in problem.message
    assert "1" in problem.message
    photos_add(product, 1)
    assert codes(product) == []


def test_the_nearest_ancestor_s_standard_applies(fruit, peaches):
    apples = category("苹果", "Apples", parent=fruit)
    grapes = category("葡萄", "Grapes", parent=fruit)
    early = category("早熟", "Early", parent=apples)
    CategoryStandard.objects.create(category=fruit, required_fields=["variety"])
    CategoryStandard.objects.create(category=peaches, required_fields=["net_weight"])

    # 水蜜桃 has its own standard: the parent's "variety" is not asked of it.
    assert codes(peach_listing(peaches, variety="", net_weight_g=None)) == ["field:net_weight"]
    # 葡萄 and 苹果 > 早熟 have none: 鲜果's applies, two levels down too.
    assert codes(peach_listing(grapes, variety="", net_weight_g=None)) == ["field:variety"]
    assert codes(peach_listing(early, variety="")) == ["field:variety"]
    # A root category elsewhere in the tree is not touched.
    assert codes(peach_listing(category("茶叶", "Tea"), variety="")) == []


# --- claims tied to a place -------------------------------------------------------------------------


@pytest.fixture
def gi_world():
    suichang = region_chain()
    yangshan_town = RegionFactory(
        name="阳山镇", level=Region.Level.TOWN, parent=RegionFactory(name="惠山区", level=3)
    )
    taoyuan = RegionFactory(name="桃源村", level=Region.Level.VILLAGE, parent=yangshan_town)
    gi = Certification.objects.create(code="gi-yangshan-peach", name="阳山水蜜桃地理标志")
    gi.registered_regions.add(yangshan_town)
    return {"gi": gi, "inside": taoyuan, "outside": suichang["village"], "town": yangshan_town}


def test_a_gi_claimed_from_inside_the_registered_area_passes(peaches, gi_world):
    product = peach_listing(peaches, origin_village=gi_world["inside"])
    product.certifications.add(gi_world["gi"])
    assert codes(product) == []


def test_a_gi_claimed_from_outside_the_registered_area_fails(peaches, gi_world):
    product = peach_listing(peaches, origin_village=gi_world["outside"])
    product.certifications.add(gi_world["gi"])

    [problem] = listing_standards_check(product)

    assert problem.code == "claim:gi-yangshan-peach"
    assert "阳山镇" in problem.message


def test_a_gi_claimed_with_no_origin_fails_and_an_unrestricted_claim_passes(peaches, gi_world):
    product = peach_listing(peaches, origin_village=None)
    product.certifications.add(gi_world["gi"], Certification.objects.create(code="organic", name="有机"))
    assert codes(product) == ["claim:gi-yangshan-peach"]


def test_the_gi_problem_blocks_approval_from_the_workspace(peaches, gi_world, staff):
    shop = ShopFactory()
    product = peach_listing(
        peaches,
        shop=shop,
        origin_village=gi_world["outside"],
        listing_status="awaiting_review",
        is_public=False,
    )
    product.certifications.add(gi_world["gi"])
    queue = staff.get(reverse("association:listings"))
    [row] = queue.context["rows"]
    assert [p.code for p in row.problems] == ["claim:gi-yangshan-peach"]

    staff.post(reverse("association:listing-approve", kwargs={"pk": product.pk}))

    assert Product.objects.get(pk=product.pk).listing_status == "awaiting_review"


# --- editing standards ------------------------------------------------------------------------------


def test_staff_set_a_standard_and_it_is_audited_with_before_and_after(peaches, staff):
    url = reverse("association:standard-edit", kwargs={"category_pk": peaches.pk})
    assert staff.get(url).status_code == 200

    response = staff.post(
        url,
        {
            "required_fields": ["variety", "net_weight", "harvest_months"],
            "min_photos": "2",
            "notes": "写清品种",
        },
    )

    assert response.status_code == 302
    standard = CategoryStandard.objects.get(category=peaches)
    assert (standard.required_fields, standard.min_photos, standard.notes) == (
        ["variety", "net_weight", "harvest_months"],
        2,
        "写清品种",
    )
    assert standard.updated_by == staff.user
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.details["before"]) == ("standard.change", staff.user, None)
    assert entry.details["after"]["min_photos"] == 2
    listing_page = staff.get(reverse("association:standards")).content.decode()
    assert "写清品种" in listing_page

    # Saving the same again changes and logs nothing; clearing it removes the standard.
    staff.post(
        url,
        {
            "required_fields": ["variety", "net_weight", "harvest_months"],
            "min_photos": "2",
            "notes": "写清品种",
        },
    )
    assert AuditEntry.objects.count() == 1
    staff.post(url, {"min_photos": "0", "notes": ""})
    assert not CategoryStandard.objects.exists()
    assert AuditEntry.objects.count() == 2
    assert AuditEntry.objects.first().details["after"] is None


@pytest.mark.parametrize(
    "data",
    [
        {"required_fields": ["variety"], "min_photos": "99"},
        {"required_fields": ["colour"], "min_photos": "1"},
        {"required_fields": ["variety"], "min_photos": "two"},
    ],
)
def test_a_bad_standard_is_refused_and_nothing_changes(peaches, staff, data):
    CategoryStandard.objects.create(category=peaches, required_fields=["pack"], min_photos=1)

    response = staff.post(reverse("association:standard-edit", kwargs={"category_pk": peaches.pk}), data)

    assert response.status_code == 400
    standard = CategoryStandard.objects.get()
    assert (standard.required_fields, standard.min_photos) == (["pack"], 1)
    assert not AuditEntry.objects.exists()


def test_the_service_refuses_an_unknown_field(peaches, staff):
    with pytest.raises(ListingReviewError):
        category_standard_set(
            category=peaches, required_fields=["colour"], min_photos=0, notes="", actor=staff.user
        )
    assert not CategoryStandard.objects.exists()


def test_an_unknown_category_is_404(staff):
    assert staff.get(reverse("association:standard-edit", kwargs={"category_pk": 99999})).status_code == 404


def test_the_standards_page_shows_inherited_standards(fruit, peaches, staff):
    CategoryStandard.objects.create(category=fruit, required_fields=["variety"], min_photos=1)

    rows = {row.category.pk: row for row in staff.get(reverse("association:standards")).context["rows"]}

    assert rows[fruit.pk].standard is not None
    assert rows[peaches.pk].standard is None
    assert rows[peaches.pk].inherited_from == fruit
