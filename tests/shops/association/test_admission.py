"""Shop admission: a farmer applies at /open-a-shop/ (no account), follows the application through a
private link, edits it when changes are asked; the association approves (one shop, one account, a
working set-password link), asks for changes or rejects, every decision audited and emailed."""

import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from oscar.core.loading import get_model
from oscar.test.factories import UserFactory
from PIL import Image

from shops.association.admission import (
    AdmissionError,
    ApplicationDetails,
    application_approve,
    application_reject,
    application_request_changes,
    application_status_change,
    application_submit,
)
from shops.association.models import ApplicationEvent, ApplicationPhoto, AuditEntry, ShopApplication
from shops.association.selectors import waiting_tiles
from shops.models import ShopStatusEvent
from tests.factories import ShopFactory, association_member, category, region_chain
from tests.form_pages import page_kept

pytestmark = pytest.mark.django_db

Partner = get_model("partner", "Partner")
Region = get_model("places", "Region")
User = get_user_model()
Status = ShopApplication.Status


# --- helpers ------------------------------------------------------------------------------------------


def jpeg(name="farm.jpg", size=(64, 48), colour=(90, 140, 60), fmt="JPEG") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=fmt)
    content_type = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}[fmt]
    return SimpleUploadedFile(name, out.getvalue(), content_type=content_type)


@pytest.fixture
def place():
    return region_chain()


@pytest.fixture
def shoots():
    return category("笋干", "Dried bamboo shoots")


def form_data(place, shoots, **overrides) -> dict:
    data = {
        "shop_name": "湖山笋干铺",
        "shop_name_en": "Hushan Bamboo Shoots",
        "farmer_name": "李春花",
        "phone": "13857812345",
        "email": "chunhua@farm.example.cn",
        "county": place["county"].pk,
        "town": place["town"].pk,
        "town_name": "",
        "village": place["village"].pk,
        "village_name": "",
        "produce": "高山笋干，自家竹林手工晒制。",
        "categories": [shoots.pk],
        "story": "祖孙三代守着一片竹林。",
        "farm_photos": [jpeg("farm1.jpg"), jpeg("farm2.png", fmt="PNG")],
        "licence_photos": [jpeg("licence.webp", fmt="WEBP")],
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def details(place, shoots, **overrides) -> ApplicationDetails:
    fields = {
        "shop_name": "湖山笋干铺",
        "shop_name_en": "Hushan Bamboo Shoots",
        "farmer_name": "李春花",
        "phone": "13857812345",
        "email": "chunhua@farm.example.cn",
        "county": place["county"],
        "town": place["town"],
        "village": place["village"],
        "produce": "笋干",
        "story": "祖孙三代守着一片竹林。",
        "categories": [shoots],
    }
    fields.update(overrides)
    return ApplicationDetails(**fields)


def photo_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 120, 30)).save(out, format="JPEG")
    return out.getvalue()


def submitted(place, shoots, capture, **overrides) -> ShopApplication:
    with capture(execute=True):
        return application_submit(
            details=details(place, shoots, **overrides),
            farm_photos=[photo_bytes()],
            licence_photos=[photo_bytes()],
        )


def link_in(body: str, path_start: str) -> str:
    match = re.search(r"https?://[^/\s]+(" + re.escape(path_start) + r"\S*)", body)
    assert match, body
    return match.group(1)


def private_files() -> list[Path]:
    root = Path(settings.PRIVATE_MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def media_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


# --- the public form ------------------------------------------------------------------------------------


def test_the_form_offers_the_countys_towns_and_villages_and_is_linked_from_the_footer(client, place, shoots):
    page = client.get(reverse("admission:apply"))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="application-form"' in html
    assert 'data-testid="application-submit"' in html
    for shown in ("遂昌县", "湖山乡", "黄沙腰村", "笋干"):
        assert shown in html
    assert reverse("admission:apply") in client.get("/").content.decode()


def test_a_good_application_is_recorded_and_the_applicant_gets_a_private_link(
    client, place, shoots, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admission:apply"), form_data(place, shoots))

    application = ShopApplication.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admission:status", kwargs={"token": application.token})
    assert len(application.token) >= 32
    assert (application.status, application.phone, application.email) == (
        Status.SUBMITTED,
        "13857812345",
        "chunhua@farm.example.cn",
    )
    assert (application.county, application.town, application.village) == (
        place["county"],
        place["town"],
        place["village"],
    )
    assert list(application.categories.all()) == [shoots]
    kinds = sorted(application.photos.values_list("kind", flat=True))
    assert kinds == ["farm", "farm", "licence"]
    # Photos are stored as cleaned JPEGs outside MEDIA_ROOT.
    assert len(private_files()) == 3
    assert media_files() == []
    for photo in application.photos.all():
        with photo.image.open("rb") as handle, Image.open(handle) as img:
            assert img.format == "JPEG"
    assert list(application.events.values_list("from_status", "to_status")) == [("", Status.SUBMITTED)]

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["chunhua@farm.example.cn"]
    assert "湖山笋干铺" in mail.subject
    path = link_in(mail.body, "/open-a-shop/")
    assert path == reverse("admission:status", kwargs={"token": application.token})

    page = Client().get(path)
    assert page.status_code == 200
    assert 'data-testid="application-status"' in page.content.decode()
    assert application.get_status_display() in page.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"shop_name": ""}, "shop_name"),
        ({"farmer_name": ""}, "farmer_name"),
        ({"phone": "12345678901"}, "phone"),
        ({"phone": "1385781234"}, "phone"),
        ({"phone": "23857812345"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"county": ""}, "county"),
        ({"town": "", "town_name": ""}, "town"),
        ({"village": "", "village_name": ""}, "village"),
        ({"produce": ""}, "produce"),
        ({"categories": []}, "categories"),
        ({"farm_photos": []}, "farm_photos"),
        ({"licence_photos": []}, "licence_photos"),
        ({"farm_photos": [jpeg(f"f{i}.jpg") for i in range(7)]}, "farm_photos"),
        ({"licence_photos": [jpeg(f"l{i}.jpg") for i in range(5)]}, "licence_photos"),
    ],
)
def test_each_bad_input_is_named_and_keeps_what_was_typed(client, place, shoots, overrides, field):
    response = client.post(reverse("admission:apply"), form_data(place, shoots, **overrides))

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not ShopApplication.objects.exists()
    assert private_files() == []
    html = response.content.decode()
    if field != "farmer_name":
        assert 'value="李春花"' in html
    if field != "email":
        assert 'value="chunhua@farm.example.cn"' in html


def test_a_phone_with_spaces_or_country_code_is_accepted(client, place, shoots):
    client.post(reverse("admission:apply"), form_data(place, shoots, phone="+86 138-5781-2345"))
    assert ShopApplication.objects.get().phone == "13857812345"


def test_a_village_of_another_town_is_refused(client, place, shoots):
    other_town = Region.objects.create(name="大柘镇", level=Region.Level.TOWN, parent=place["county"])
    other_village = Region.objects.create(name="大田村", level=Region.Level.VILLAGE, parent=other_town)
    response = client.post(reverse("admission:apply"), form_data(place, shoots, village=other_village.pk))
    assert response.status_code == 400
    assert "village" in response.context["form"].errors


def test_a_file_that_is_not_an_image_is_refused_and_everything_typed_is_kept(client, place, shoots):
    fake = SimpleUploadedFile("licence.jpg", b"%PDF-1.4 not a photo at all", content_type="image/jpeg")
    response = client.post(reverse("admission:apply"), form_data(place, shoots, licence_photos=[fake]))

    assert response.status_code == 400
    errors = response.context["form"].errors["licence_photos"]
    assert any("licence.jpg" in error for error in errors)
    html = response.content.decode()
    for typed in (
        "湖山笋干铺",
        "Hushan Bamboo Shoots",
        "13857812345",
        "chunhua@farm.example.cn",
        "祖孙三代守着一片竹林",
    ):
        assert typed in html
    assert 'data-testid="rechoose-files"' in html
    assert not ShopApplication.objects.exists()
    assert private_files() == []


def test_a_photo_over_10_mb_is_refused(client, place, shoots):
    big = SimpleUploadedFile(
        "huge.jpg", b"\xff\xd8\xff" + b"0" * (10 * 1024 * 1024 + 1), content_type="image/jpeg"
    )
    response = client.post(reverse("admission:apply"), form_data(place, shoots, farm_photos=[big]))
    assert response.status_code == 400
    assert "10 MB" in " ".join(response.context["form"].errors["farm_photos"])
    assert not ShopApplication.objects.exists()


# --- the duplicate guard ------------------------------------------------------------------------------


def test_an_email_or_phone_with_an_open_application_is_refused(
    client, place, shoots, django_capture_on_commit_callbacks
):
    submitted(place, shoots, django_capture_on_commit_callbacks)

    same_email = client.post(reverse("admission:apply"), form_data(place, shoots, phone="13900000000"))
    same_phone = client.post(
        reverse("admission:apply"), form_data(place, shoots, email="OTHER@farm.example.cn")
    )
    same_email_other_case = client.post(
        reverse("admission:apply"),
        form_data(place, shoots, email="ChunHua@Farm.example.cn", phone="13900000000"),
    )

    assert "email" in same_email.context["form"].errors
    assert "phone" in same_phone.context["form"].errors
    assert "email" in same_email_other_case.context["form"].errors
    assert ShopApplication.objects.count() == 1


def test_the_service_refuses_a_duplicate_too(place, shoots, django_capture_on_commit_callbacks):
    submitted(place, shoots, django_capture_on_commit_callbacks)
    with pytest.raises(AdmissionError) as refused:
        application_submit(
            details=details(place, shoots, phone="13900000000"),
            farm_photos=[photo_bytes()],
            licence_photos=[photo_bytes()],
        )
    assert refused.value.field == "email"
    assert ShopApplication.objects.count() == 1


def test_an_email_that_farms_a_shop_of_the_same_name_is_refused(client, place, shoots):
    shop = ShopFactory(name="湖山笋干铺")
    shop.users.add(UserFactory(email="chunhua@farm.example.cn"))
    response = client.post(reverse("admission:apply"), form_data(place, shoots))
    assert "shop_name" in response.context["form"].errors
    assert not ShopApplication.objects.exists()


def test_after_a_rejection_the_same_farmer_may_apply_again(place, shoots, django_capture_on_commit_callbacks):
    first = submitted(place, shoots, django_capture_on_commit_callbacks)
    application_reject(application_id=first.pk, actor=association_member(), reason="资料不全")
    second = submitted(place, shoots, django_capture_on_commit_callbacks)
    assert second.pk != first.pk


# --- the state machine ----------------------------------------------------------------------------------

ALLOWED = [
    (Status.SUBMITTED, Status.CHANGES_REQUESTED),
    (Status.SUBMITTED, Status.APPROVED),
    (Status.SUBMITTED, Status.REJECTED),
    (Status.CHANGES_REQUESTED, Status.SUBMITTED),
]
EVERY_MOVE = [(a, b) for a in Status.values for b in Status.values]


@pytest.mark.parametrize(("start", "target"), EVERY_MOVE)
def test_the_status_moves_only_along_the_table(
    place, shoots, start, target, django_capture_on_commit_callbacks
):
    application = submitted(place, shoots, django_capture_on_commit_callbacks)
    ShopApplication.objects.filter(pk=application.pk).update(status=start)
    events_before = ApplicationEvent.objects.count()
    staff = association_member()

    if (start, target) in ALLOWED:
        _application, event = application_status_change(
            application_id=application.pk, to_status=target, actor=staff, message="m"
        )
        assert (event.from_status, event.to_status, event.actor) == (start, target, staff)
        assert ApplicationEvent.objects.count() == events_before + 1
        application.refresh_from_db()
        assert application.status == target
    else:
        with pytest.raises(AdmissionError):
            application_status_change(application_id=application.pk, to_status=target, actor=staff)
        assert ApplicationEvent.objects.count() == events_before
        application.refresh_from_db()
        assert application.status == start


def test_asking_for_changes_needs_a_message_and_rejecting_needs_a_reason(
    place, shoots, django_capture_on_commit_callbacks
):
    application = submitted(place, shoots, django_capture_on_commit_callbacks)
    staff = association_member()
    with pytest.raises(AdmissionError):
        application_request_changes(application_id=application.pk, actor=staff, message="  ")
    with pytest.raises(AdmissionError):
        application_reject(application_id=application.pk, actor=staff, reason="")
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED
    assert not AuditEntry.objects.exists()


# --- the decisions --------------------------------------------------------------------------------------


@pytest.fixture
def staff_client():
    staff = association_member(email="staff@association.example.cn")
    client = Client()
    client.force_login(staff)
    client.staff = staff
    return client


def test_the_association_sees_the_application_with_its_photos_and_decision_buttons(
    staff_client, place, shoots, django_capture_on_commit_callbacks
):
    application = submitted(place, shoots, django_capture_on_commit_callbacks)
    page = staff_client.get(reverse("association:application", kwargs={"pk": application.pk}))
    html = page.content.decode()
    assert page.status_code == 200
    for shown in ("湖山笋干铺", "李春花", "13857812345", "chunhua@farm.example.cn", "黄沙腰村", "笋干"):
        assert shown in html
    for testid in ("approve", "request-changes", "reject"):
        assert f'data-testid="{testid}"' in html
    for photo in application.photos.all():
        url = reverse("association:application-photo", kwargs={"pk": application.pk, "photo_pk": photo.pk})
        assert url in html
        response = staff_client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"
        assert "no-store" in response["Cache-Control"]


def test_application_photos_are_not_served_to_anyone_else(place, shoots, django_capture_on_commit_callbacks):
    application = submitted(place, shoots, django_capture_on_commit_callbacks)
    photo = application.photos.get(kind=ApplicationPhoto.Kind.LICENCE)
    url = reverse("association:application-photo", kwargs={"pk": application.pk, "photo_pk": photo.pk})

    assert Client().get(url).status_code == 302  # to sign in
    for user in (UserFactory(), UserFactory(is_staff=True)):
        client = Client()
        client.force_login(user)
        assert client.get(url).status_code == 403
    farmer = UserFactory()
    ShopFactory().users.add(farmer)
    client = Client()
    client.force_login(farmer)
    assert client.get(url).status_code == 403
    # Not under MEDIA_ROOT, so not reachable at /media/ either.
    assert not str(photo.image.path).startswith(str(settings.MEDIA_ROOT))
    with pytest.raises(ValueError, match="no public URL"):
        photo.image.url  # noqa: B018


def test_approving_opens_one_shop_with_one_account_and_a_working_sign_in(
    staff_client, place, shoots, mailoutbox, django_capture_on_commit_callbacks
):
    application = submitted(place, shoots, django_capture_on_commit_callbacks)
    mailoutbox.clear()
    users_before = User.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("association:application-approve", kwargs={"pk": application.pk})
        )

    assert response.status_code == 302
    shop = Partner.objects.get(name="湖山笋干铺")
    assert (shop.code, shop.name_en, shop.status, shop.phone) == (
        "hushan-bamboo-shoots",
        "Hushan Bamboo Shoots",
        Partner.Status.APPROVED,
        "13857812345",
    )
    assert shop.listing_review_required is True
    assert shop.story == "祖孙三代守着一片竹林。"
    assert (shop.province, shop.city, shop.county, shop.town, shop.village) == (
        place["province"],
        place["city"],
        place["county"],
        place["town"],
        place["village"],
    )
    assert shop.cover
    assert Path(shop.cover.path).is_file()
    assert str(Path(shop.cover.path)).startswith(str(settings.MEDIA_ROOT))
    assert list(
        ShopStatusEvent.objects.filter(shop=shop).values_list("from_status", "to_status", "actor")
    ) == [(Partner.Status.APPLIED, Partner.Status.APPROVED, staff_client.staff.pk)]
    assert User.objects.count() == users_before + 1
    farmer = User.objects.get(email="chunhua@farm.example.cn")
    assert not farmer.has_usable_password()
    assert list(shop.users.all()) == [farmer]
    application.refresh_from_db()
    assert (application.status, application.shop, application.farmer) == (Status.APPROVED, shop, farmer)
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.subject_id, entry.details["shop_id"]) == (
        "application.approve",
        staff_client.staff,
        str(application.pk),
        shop.pk,
    )

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["chunhua@farm.example.cn"]
    assert "湖山笋干铺" in mail.subject
    assert "/shop/" in mail.body

    # The farmer follows the link, sets a password, signs in and reaches the console.
    farmer_client = Client()
    link = link_in(mail.body, "/password-reset/confirm/")
    form_page = farmer_client.get(link, follow=True)
    assert form_page.status_code == 200
    assert form_page.context["validlink"] is True
    set_url = form_page.redirect_chain[-1][0]
    done = farmer_client.post(set_url, {"new_password1": "Zhusun-2026!", "new_password2": "Zhusun-2026!"})
    assert done.status_code == 302
    farmer.refresh_from_db()
    assert farmer.check_password("Zhusun-2026!")
    signed_in = Client().post(
        reverse("customer:login"),
        {"login-username": "chunhua@farm.example.cn", "login-password": "Zhusun-2026!", "login_submit": "1"},
        follow=True,
    )
    assert signed_in.redirect_chain[-1][0] == reverse("console:home")
    assert signed_in.context["shop"] == shop
    # The link is spent once the password is set.
    assert Client().get(link, follow=True).context["validlink"] is False


def test_approving_twice_opens_one_shop(
    staff_client, place, shoots, mailoutbox, django_capture_on_commit_callbacks
):
    application = submitted(place, shoots, django_capture_on_commit_callbacks)
    mailoutbox.clear()
    url = reverse("association:application-approve", kwargs={"pk": application.pk})

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(url)
        second = staff_client.post(url, follow=True)

    assert Partner.objects.filter(name="湖山笋干铺").count() == 1
    assert User.objects.filter(email="chunhua@farm.example.cn").count() == 1
    assert AuditEntry.objects.filter(action="application.approve").count() == 1
    assert len(mailoutbox) == 1
    assert any("cannot become" in str(m) or "不能" in str(m) for m in second.context["messages"])
    with pytest.raises(AdmissionError):
        application_approve(application_id=application.pk, actor=staff_client.staff)
    assert Partner.objects.filter(name="湖山笋干铺").count() == 1


def test_approving_reuses_an_account_with_the_same_email(place, shoots, django_capture_on_commit_callbacks):
    buyer = UserFactory(email="chunhua@farm.example.cn")
    application = submitted(
        place, shoots, django_capture_on_commit_callbacks, email="ChunHua@farm.example.cn"
    )
    with django_capture_on_commit_callbacks(execute=True):
        shop = application_approve(application_id=application.pk, actor=association_member())
    assert list(shop.users.all()) == [buyer]
    assert User.objects.filter(email__iexact="chunhua@farm.example.cn").count() == 1


def test_typed_town_and_village_become_regions_when_approved(
    client, place, shoots, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admission:apply"),
            form_data(
                place,
                shoots,
                town="",
                town_name="濂竹乡",
                village="",
                village_name="治岭头村",
                shop_name_en="",
            ),
        )
    application = ShopApplication.objects.get()
    assert (application.town, application.town_name, application.village_name) == (None, "濂竹乡", "治岭头村")
    assert not Region.objects.filter(name="濂竹乡").exists()  # not before approval

    with django_capture_on_commit_callbacks(execute=True):
        shop = application_approve(application_id=application.pk, actor=association_member())

    town = Region.objects.get(name="濂竹乡")
    village = Region.objects.get(name="治岭头村")
    assert (town.parent, town.level, village.parent, village.level) == (
        place["county"],
        Region.Level.TOWN,
        town,
        Region.Level.VILLAGE,
    )
    assert (shop.town, shop.village) == (town, village)
    assert shop.code == f"shop-{application.pk}"  # no English name: no pinyin guess


def test_a_typed_name_already_in_the_tree_is_that_region(client, place, shoots):
    client.post(reverse("admission:apply"), form_data(place, shoots, town="", town_name="湖山乡"))
    assert ShopApplication.objects.get().town == place["town"]


def test_asking_for_changes_emails_the_message_and_the_applicant_edits_and_resubmits(
    staff_client, place, shoots, mailoutbox, django_capture_on_commit_callbacks
):
    application = submitted(place, shoots, django_capture_on_commit_callbacks)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            reverse("association:application-request-changes", kwargs={"pk": application.pk}),
            {"message": "请补拍营业执照，要清楚。"},
        )
    application.refresh_from_db()
    assert application.status == Status.CHANGES_REQUESTED
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.reason) == ("application.request_changes", "请补拍营业执照，要清楚。")
    assert len(mailoutbox) == 1
    assert "请补拍营业执照，要清楚。" in mailoutbox[0].body
    path = link_in(mailoutbox[0].body, "/open-a-shop/")

    applicant = Client()
    page = applicant.get(path)
    html = page.content.decode()
    assert "请补拍营业执照，要清楚。" in html
    assert 'data-testid="application-form"' in html
    assert 'value="湖山笋干铺"' in html
    old_farm = set(application.photos.filter(kind="farm").values_list("image", flat=True))
    old_licence_files = {Path(p.image.path) for p in application.photos.filter(kind="licence")}

    post = form_data(
        place, shoots, shop_name="湖山笋干坊", farm_photos=[], licence_photos=[jpeg("new-licence.jpg")]
    )
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = applicant.post(path, post)

    assert response.status_code == 302
    application.refresh_from_db()
    assert (application.status, application.shop_name) == (Status.SUBMITTED, "湖山笋干坊")
    # Farm photos kept (none chosen), the licence photo replaced and its old file removed.
    assert set(application.photos.filter(kind="farm").values_list("image", flat=True)) == old_farm
    assert application.photos.filter(kind="licence").count() == 1
    assert all(not path.exists() for path in old_licence_files)
    assert list(application.events.values_list("to_status", flat=True)) == [
        Status.SUBMITTED,
        Status.CHANGES_REQUESTED,
        Status.SUBMITTED,
    ]
    assert len(mailoutbox) == 1
    # Editing is closed again while the association reviews.
    assert 'data-testid="application-form"' not in applicant.get(path).content.decode()
    refused = applicant.post(path, post)
    assert refused.status_code == 302
    assert ApplicationEvent.objects.filter(application=application).count() == 3


def test_rejecting_emails_the_reason_and_the_private_page_shows_it(
    staff_client, place, shoots, mailoutbox, django_capture_on_commit_callbacks
):
    application = submitted(place, shoots, django_capture_on_commit_callbacks)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            reverse("association:application-reject", kwargs={"pk": application.pk}),
            {"reason": "不在服务范围内"},
        )
    application.refresh_from_db()
    assert application.status == Status.REJECTED
    assert AuditEntry.objects.get().action == "application.reject"
    assert not Partner.objects.exists()
    assert len(mailoutbox) == 1
    assert "不在服务范围内" in mailoutbox[0].body
    page = Client().get(reverse("admission:status", kwargs={"token": application.token}))
    assert "不在服务范围内" in page.content.decode()


def test_a_decision_without_its_text_is_refused_with_a_message(
    staff_client, place, shoots, django_capture_on_commit_callbacks
):
    application = submitted(place, shoots, django_capture_on_commit_callbacks)
    for name, form, field in (
        ("association:application-request-changes", "changes_form", "message"),
        ("association:application-reject", "reject_form", "reason"),
    ):
        response = staff_client.post(reverse(name, kwargs={"pk": application.pk}), {})
        assert response.status_code == 400  # the application's page again, the form's error by its field
        assert list(response.context["messages"])
        assert field in response.context[form].errors
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    ("name", "form", "field", "limit"),
    [
        ("association:application-request-changes", "changes_form", "message", 4000),
        ("association:application-reject", "reject_form", "reason", 4000),
    ],
)
def test_a_decision_text_refused_is_kept_on_the_applications_page(
    staff_client, place, shoots, django_capture_on_commit_callbacks, name, form, field, limit
):
    application = submitted(place, shoots, django_capture_on_commit_callbacks)
    events = ApplicationEvent.objects.count()
    typed = "请补拍营业执照，要清楚 <原件>。" * (limit // 10)  # longer than the limit

    response = staff_client.post(reverse(name, kwargs={"pk": application.pk}), {field: typed})

    html = page_kept(response, form=form, typed=[typed])
    assert field in response.context[form].errors
    assert "<details open>" in html or '<details class="c-danger" open>' in html
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED
    assert ApplicationEvent.objects.count() == events
    assert not AuditEntry.objects.exists()


def test_an_unknown_private_link_is_404(client):
    assert client.get(reverse("admission:status", kwargs={"token": "x" * 32})).status_code == 404


# --- the queue ------------------------------------------------------------------------------------------


def test_the_queue_lists_waiting_applications_first_and_filters_by_status(
    staff_client, place, shoots, django_capture_on_commit_callbacks
):
    old = submitted(place, shoots, django_capture_on_commit_callbacks)
    application_reject(application_id=old.pk, actor=staff_client.staff, reason="重复")
    waiting = submitted(place, shoots, django_capture_on_commit_callbacks, shop_name="竹林人家")

    page = staff_client.get(reverse("association:applications"))
    rows = list(page.context["applications"])
    assert [row.pk for row in rows] == [waiting.pk, old.pk]
    assert 'data-testid="application-row"' in page.content.decode()

    only_rejected = staff_client.get(reverse("association:applications"), {"status": "rejected"})
    assert [row.pk for row in only_rejected.context["applications"]] == [old.pk]

    tiles = {tile.url: tile.count for tile in waiting_tiles()}
    assert tiles[reverse("association:applications") + "?status=submitted"] == 1


def test_the_queue_query_count_does_not_grow_with_applications(
    staff_client, place, shoots, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    submitted(place, shoots, django_capture_on_commit_callbacks)
    url = reverse("association:applications")
    with django_assert_max_num_queries(12) as one:
        staff_client.get(url)
    for number in range(10):
        submitted(
            place,
            shoots,
            django_capture_on_commit_callbacks,
            email=f"f{number}@farm.example.cn",
            phone=f"1390000000{number}",
            town=None,
            town_name=f"新乡{number}",
            village=None,
            village_name="新村",
        )
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = staff_client.get(url)
    assert len(response.context["applications"]) == 11
