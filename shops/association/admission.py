"""Shop admission: a farmer applies to open a village shop (no account needed), the association asks for
changes, approves or rejects. An application's status moves only through ``application_status_change``
(an allowed-transitions table and an event row per move); every decision of the association is audited
in the same transaction, and the applicant is emailed once per move after it commits.

Approval opens the shop: the Partner with its region, cover and story, moved applied → approved through
``shops.services.shop_status_change``; the farmer's account (reused by email, else made with an unusable
password) attached with ``farmer_attach``; a sign-in email with a set-password link."""

import logging
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from oscar.apps.customer.forms import generate_username
from oscar.core.loading import get_model

from marketplace.locks import for_update
from marketplace.outbox.services import outbox_emit
from shops.association.audit import acting_user, audit_record
from shops.association.models import ApplicationEvent, ApplicationPhoto, ShopApplication
from shops.photos import PhotoRejected, photo_clean
from shops.services import farmer_attach, shop_status_change

# Written to the outbox at every move of an application (key: the event): the applicant is e-mailed.
APPLICATION_MOVED = "association.application_moved"

Partner = get_model("partner", "Partner")
Region = get_model("places", "Region")
Category = get_model("catalogue", "Category")
User = get_user_model()

Status = ShopApplication.Status
Kind = ApplicationPhoto.Kind

ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    Status.SUBMITTED: {Status.CHANGES_REQUESTED, Status.APPROVED, Status.REJECTED},
    Status.CHANGES_REQUESTED: {Status.SUBMITTED},
}

MB = 1024 * 1024
PHOTO_MAX_BYTES = 10 * MB
USERNAME_MAX_CHARS = 150  # django.contrib.auth's User.username
# How many photos of each kind an application carries.
PHOTO_LIMITS: dict[str, tuple[int, int]] = {Kind.FARM: (1, 6), Kind.LICENCE: (1, 4)}

logger = logging.getLogger(__name__)


class AdmissionError(ValueError):
    """A submission or decision that cannot be taken; ``str()`` is the message to show, ``field`` the form
    field it is about (None: the whole form)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    @property
    def message(self) -> str:
        return str(self)


@dataclass(frozen=True)
class ApplicationDetails:
    """What the applicant typed, checked by the form: a town and a village are either regions picked
    from the tree or new names (the region wins when both are given)."""

    shop_name: str
    farmer_name: str
    phone: str
    email: str
    county: "Region"
    produce: str
    shop_name_en: str = ""
    town: "Region | None" = None
    town_name: str = ""
    village: "Region | None" = None
    village_name: str = ""
    story: str = ""
    categories: list = field(default_factory=list)


# --- photos -------------------------------------------------------------------------------------


def application_photo_clean(upload: UploadedFile) -> bytes:
    """An uploaded photo as a clean JPEG (upright, sRGB, no EXIF: a licence photo's GPS stays home);
    AdmissionError if it is over 10 MB, not a JPEG/PNG/WebP (or a phone's HEIC) image, or damaged."""
    try:
        return photo_clean(upload, max_bytes=PHOTO_MAX_BYTES)
    except PhotoRejected as rejected:
        raise AdmissionError(rejected.message) from None


def _photos_store(*, application: ShopApplication, kind: str, photos: list[bytes], stored: list) -> None:
    for position, data in enumerate(photos):
        photo = ApplicationPhoto(application=application, kind=kind, display_order=position)
        photo.image.save(f"application-{application.pk}-{kind}-{position}.jpg", ContentFile(data), save=False)
        stored.append(photo.image.name)
        photo.save()


def _files_delete(names: list[str]) -> None:
    storage = ApplicationPhoto._meta.get_field("image").storage
    for name in names:
        storage.delete(name)


def _orphans_delete(names: list[str]) -> None:
    """After a failed write: delete the files stored for it that no committed row points to."""
    kept = set(ApplicationPhoto.objects.filter(image__in=names).values_list("image", flat=True))
    _files_delete([name for name in names if name not in kept])


# --- the duplicate guard ----------------------------------------------------------------------------


def _waiting_error(field: str) -> AdmissionError:
    if field == "phone":
        message = _(
            "An application with this mobile number is already waiting; "
            "follow it with the link we emailed you."
        )
    else:
        message = _(
            "An application from this email is already waiting; follow it with the link we emailed you."
        )
    return AdmissionError(message, field=field)


def _farmed_shop_check(*, email: str, shop_name: str) -> None:
    """AdmissionError when the farmer with this email already has a shop of this name."""
    if Partner.objects.filter(users__email__iexact=email, name=shop_name).exists():
        raise AdmissionError(
            _("This email already farms a shop named “%(name)s”.") % {"name": shop_name}, field="shop_name"
        )


def application_duplicates_check(
    *, email: str, phone: str, shop_name: str, exclude_pk: int | None = None
) -> None:
    """AdmissionError when this email or phone already has an open application, or the email already
    farms a shop of this name."""
    waiting = ShopApplication.objects.filter(status__in=ShopApplication.OPEN_STATUSES)
    if exclude_pk is not None:
        waiting = waiting.exclude(pk=exclude_pk)
    if waiting.filter(email__iexact=email).exists():
        raise _waiting_error("email")
    if waiting.filter(phone=phone).exists():
        raise _waiting_error("phone")
    _farmed_shop_check(email=email, shop_name=shop_name)


def _details_apply(application: ShopApplication, details: ApplicationDetails) -> None:
    application.shop_name = details.shop_name
    application.shop_name_en = details.shop_name_en
    application.farmer_name = details.farmer_name
    application.phone = details.phone
    application.email = details.email.lower()
    application.county = details.county
    application.town = details.town
    application.town_name = "" if details.town else details.town_name
    application.village = details.village
    application.village_name = "" if details.village else details.village_name
    application.produce = details.produce
    application.story = details.story


def _notice_enqueue(event: ApplicationEvent) -> None:
    # Through the outbox, in the decision's transaction: a broker or mail server that is down cannot turn
    # a decision that committed into an error page, and the notice is not lost.
    outbox_emit(topic=APPLICATION_MOVED, key=str(event.pk), payload={"event_id": event.pk})


# --- the status machine ------------------------------------------------------------------------------


def application_status_change(
    *, application_id: int, to_status: str, actor: AbstractBaseUser | None = None, message: str = ""
) -> tuple[ShopApplication, ApplicationEvent]:
    """Move an application to ``to_status`` if the transitions table allows it, with an event row;
    AdmissionError (changing nothing) otherwise. Runs inside the caller's transaction, or its own."""
    with transaction.atomic():
        application = for_update(ShopApplication.objects.all()).get(pk=application_id)
        if to_status not in ALLOWED_TRANSITIONS.get(application.status, set()):
            raise AdmissionError(
                _("This application is “%(from)s”; it cannot become “%(to)s”.")
                % {"from": application.get_status_display(), "to": Status(to_status).label}
            )
        event = ApplicationEvent.objects.create(
            application=application,
            from_status=application.status,
            to_status=to_status,
            actor=acting_user(actor),
            message=message,
        )
        application.status = to_status
        update_fields = ["status"]
        if to_status == Status.SUBMITTED:
            application.submitted_at = timezone.now()
            update_fields.append("submitted_at")
        application.save(update_fields=update_fields)
    return application, event


# --- the applicant's side ------------------------------------------------------------------------------


def application_submit(
    *, details: ApplicationDetails, farm_photos: list[bytes], licence_photos: list[bytes]
) -> ShopApplication:
    """Record a new application with its (cleaned) photos; the applicant is emailed its private link.
    AdmissionError, leaving no row and no file, for a duplicate or a wrong number of photos."""
    _photo_counts_check(farm_photos=farm_photos, licence_photos=licence_photos)
    stored: list[str] = []
    try:
        with transaction.atomic():
            application_duplicates_check(
                email=details.email, phone=details.phone, shop_name=details.shop_name
            )
            application = ShopApplication(status=Status.SUBMITTED)
            _details_apply(application, details)
            try:
                with transaction.atomic():
                    application.save()
            except IntegrityError:  # a twin submitted at the same moment won the unique constraint
                raise _waiting_error("email") from None
            application.categories.set(details.categories)
            _photos_store(application=application, kind=Kind.FARM, photos=farm_photos, stored=stored)
            _photos_store(application=application, kind=Kind.LICENCE, photos=licence_photos, stored=stored)
            event = ApplicationEvent.objects.create(
                application=application, from_status="", to_status=Status.SUBMITTED
            )
            _notice_enqueue(event)
    except BaseException:
        _orphans_delete(stored)
        raise
    logger.info("Shop application %s submitted", application.pk)
    return application


def _photo_counts_check(*, farm_photos: list | None, licence_photos: list | None) -> None:
    for kind, photos in ((Kind.FARM, farm_photos), (Kind.LICENCE, licence_photos)):
        if photos is None:
            continue
        low, high = PHOTO_LIMITS[kind]
        if not low <= len(photos) <= high:
            raise AdmissionError(
                _("Send %(low)d to %(high)d photos of this kind.") % {"low": low, "high": high},
                field=f"{kind}_photos",
            )


def application_resubmit(
    *,
    application_id: int,
    details: ApplicationDetails,
    farm_photos: list[bytes] | None = None,
    licence_photos: list[bytes] | None = None,
) -> ShopApplication:
    """The applicant's edited application goes back to the association (changes_requested → submitted).
    Photos of a kind given replace those sent before; None keeps them."""
    _photo_counts_check(farm_photos=farm_photos, licence_photos=licence_photos)
    stored: list[str] = []
    try:
        with transaction.atomic():
            application = for_update(ShopApplication.objects.all()).get(pk=application_id)
            if application.status != Status.CHANGES_REQUESTED:
                raise AdmissionError(_("This application is not waiting for your changes."))
            application_duplicates_check(
                email=details.email,
                phone=details.phone,
                shop_name=details.shop_name,
                exclude_pk=application.pk,
            )
            _details_apply(application, details)
            application.save()
            application.categories.set(details.categories)
            replaced: list[str] = []
            for kind, photos in ((Kind.FARM, farm_photos), (Kind.LICENCE, licence_photos)):
                if photos is None:
                    continue
                old = ApplicationPhoto.objects.filter(application=application, kind=kind)
                replaced += [photo.image.name for photo in old]
                old.delete()
                _photos_store(application=application, kind=kind, photos=photos, stored=stored)
            transaction.on_commit(lambda: _files_delete(replaced), robust=True)
            application, event = application_status_change(
                application_id=application.pk, to_status=Status.SUBMITTED
            )
            _notice_enqueue(event)
    except BaseException:
        _orphans_delete(stored)
        raise
    return application


# --- the association's decisions -------------------------------------------------------------------------


def application_request_changes(
    *, application_id: int, actor: AbstractBaseUser, message: str
) -> ShopApplication:
    """Ask the applicant to change their application; they are emailed the message and their link."""
    message = message.strip()
    if not message:
        raise AdmissionError(_("Say what the applicant should change."), field="message")
    with transaction.atomic():
        application, event = application_status_change(
            application_id=application_id, to_status=Status.CHANGES_REQUESTED, actor=actor, message=message
        )
        audit_record(actor=actor, action="application.request_changes", subject=application, reason=message)
        _notice_enqueue(event)
    return application


def application_reject(*, application_id: int, actor: AbstractBaseUser, reason: str) -> ShopApplication:
    """Turn the application down; the applicant is emailed the reason."""
    reason = reason.strip()
    if not reason:
        raise AdmissionError(
            _("Give the reason for the rejection: the applicant will read it."), field="reason"
        )
    with transaction.atomic():
        application, event = application_status_change(
            application_id=application_id, to_status=Status.REJECTED, actor=actor, message=reason
        )
        audit_record(actor=actor, action="application.reject", subject=application, reason=reason)
        _notice_enqueue(event)
    return application


def _shop_code(application: ShopApplication) -> str:
    """A URL code from the English name (``mountain-tea-house``), else ``shop-<application id>``; made
    unique with a number."""
    base = slugify(application.shop_name_en, allow_unicode=False)[:100] or f"shop-{application.pk}"
    code, number = base, 2
    while Partner.objects.filter(code=code).exists():
        code, number = f"{base}-{number}", number + 1
    return code


def _regions_resolve(application: ShopApplication) -> dict[str, "Region | None"]:
    """The shop's region chain; a typed town or village becomes a region of the tree now."""
    county = application.county
    city = county.parent
    province = city.parent if city is not None else None
    town = application.town
    if town is None:
        town, _created = Region.objects.get_or_create(
            parent=county, name=application.town_name.strip(), defaults={"level": Region.Level.TOWN}
        )
    village = application.village
    if village is None and application.village_name.strip():
        village, _created = Region.objects.get_or_create(
            parent=town, name=application.village_name.strip(), defaults={"level": Region.Level.VILLAGE}
        )
    return {"province": province, "city": city, "county": county, "town": town, "village": village}


def _farmer_account(application: ShopApplication) -> AbstractBaseUser:
    """The applicant's account, found by email or made with an unusable password (they set one from
    the sign-in email)."""
    user = User.objects.filter(email__iexact=application.email).order_by("pk").first()
    if user is not None:
        return user
    username = application.email if len(application.email) <= USERNAME_MAX_CHARS else generate_username()
    if User.objects.filter(username=username).exists():
        username = generate_username()
    user = User(username=username, email=application.email, first_name=application.farmer_name[:150])
    user.set_unusable_password()
    user.save()
    return user


def application_approve(*, application_id: int, actor: AbstractBaseUser) -> "Partner":
    """Open the shop: create it (new listings need review), approve it through the shop's status
    machine, make or reuse the farmer's account and attach it; email the farmer a sign-in link.
    A second approval (a double click) is refused by the status machine and creates nothing."""
    cover_name = ""
    try:
        with transaction.atomic():
            application, event = application_status_change(
                application_id=application_id, to_status=Status.APPROVED, actor=actor
            )
            _farmed_shop_check(email=application.email, shop_name=application.shop_name)
            shop = Partner(
                code=_shop_code(application),
                name=application.shop_name,
                name_en=application.shop_name_en,
                story=application.story,
                phone=application.phone,
                status=Partner.Status.APPLIED,
                listing_review_required=True,
                **_regions_resolve(application),
            )
            farm_photo = application.photos.filter(kind=Kind.FARM).order_by("display_order", "pk").first()
            if farm_photo is not None:
                with farm_photo.image.open("rb") as source:
                    shop.cover.save(f"{shop.code}-cover.jpg", ContentFile(source.read()), save=False)
                cover_name = shop.cover.name
            shop.save()
            shop_status_change(
                shop_id=shop.pk,
                to_status=Partner.Status.APPROVED,
                actor=actor,
                reason=_("Shop application %(number)s approved") % {"number": application.pk},
            )
            farmer = _farmer_account(application)
            farmer_attach(shop=shop, user=farmer)
            application.shop = shop
            application.farmer = farmer
            application.save(update_fields=["shop", "farmer"])
            audit_record(
                actor=actor,
                action="application.approve",
                subject=application,
                details={"shop_id": shop.pk, "shop_code": shop.code, "farmer_id": farmer.pk},
            )
            _notice_enqueue(event)
    except BaseException:
        if cover_name and not Partner.objects.filter(cover=cover_name).exists():
            Partner._meta.get_field("cover").storage.delete(cover_name)
        raise
    logger.info("Shop application %s approved: shop %s", application_id, shop.pk)
    return shop
