"""Product photos that farmers upload from their phones: checked, cleaned of EXIF (location above all),
stored as a bounded JPEG, ordered (the first is the main photo), and drawn in the storefront's sizes by
a Celery task after the upload commits."""

import hashlib
import io
import logging
import secrets
from collections.abc import Iterable
from functools import partial

import pillow_heif
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Count, Max
from django.db.models.fields.files import FieldFile
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from oscar.core.loading import get_model
from PIL import Image, ImageCms, ImageFile, ImageOps, UnidentifiedImageError
from sorl.thumbnail import delete as thumbnails_delete
from sorl.thumbnail import get_thumbnail, source_cache
from sorl.thumbnail.images import ImageFile as Thumbnail

from marketplace.locks import for_update
from marketplace.outbox.services import outbox_emit
from marketplace.storefront.caching import catalogue_changed
from marketplace.storefront.lists_moved import NO_LIST

# Written to the outbox when a photo is added (key: the photo): its renditions are drawn.
PHOTO_ADDED = "shops.photo_added"

Product = get_model("catalogue", "Product")
ProductImage = get_model("catalogue", "ProductImage")

pillow_heif.register_heif_opener()

# What Pillow may open an upload as; anything else is "not a photo". Phones' JPEGs often carry a second
# picture (MPF) and then open as MPO, which is still a JPEG.
OPEN_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
ACCEPTED_FORMATS = {*OPEN_FORMATS, "MPO"}
JPEG_QUALITY = 88
MB = 1024 * 1024

# Options of each rendition in settings.PHOTO_RENDITIONS. Templates must ask sorl for the same geometry
# and options (photo_rendition() does) or they miss the files the task drew.
RENDITION_OPTIONS = {"list": {"crop": "center", "upscale": False}}
RENDITION_DEFAULT_OPTIONS = {"upscale": False}

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))

logger = logging.getLogger(__name__)


class PhotoRejected(ValueError):
    """An upload or an ordering that cannot be taken; ``str()`` is the message to show the farmer."""

    @property
    def message(self) -> str:
        return str(self)


class PhotoAlreadyAdded(Exception):  # noqa: N818  # not an error: the photo is there, once
    """The same file was added to this listing before — a form sent twice, an upload sent again after its
    answer was lost, the same photo chosen again — so nothing is added; ``photo`` is the one already there
    and ``str()`` says so to the farmer."""

    def __init__(self, message: str, photo: "ProductImage") -> None:
        super().__init__(message)
        self.photo = photo


def upload_digest(upload: UploadedFile) -> str:
    """The SHA-256 of the file as sent (the same photo sent twice has the same digest)."""
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    return digest.hexdigest()


def _already_added(product: "Product", digest: str, upload: UploadedFile) -> None:
    photo = ProductImage.objects.filter(product=product, upload_sha256=digest).first()
    if photo is not None:
        raise PhotoAlreadyAdded(
            _("“%(name)s” is already among this listing's photos; it was not added again.")
            % {"name": _display_name(upload)},
            photo,
        )


def _display_name(upload: UploadedFile) -> str:
    return (upload.name or "").replace("\\", "/").rsplit("/", 1)[-1] or _("photo")


def _too_many(limit: int) -> PhotoRejected:
    return PhotoRejected(
        ngettext(
            "A product can have at most %(limit)d photo.",
            "A product can have at most %(limit)d photos.",
            limit,
        )
        % {"limit": limit}
    )


def _too_large(name: str, size: tuple[int, int]) -> PhotoRejected:
    return PhotoRejected(
        _("“%(name)s” is too large an image (%(width)d×%(height)d pixels).")
        % {"name": name, "width": size[0], "height": size[1]}
    )


def _declared_size(upload: UploadedFile) -> tuple[int, int] | None:
    """Width and height as the file's header states them, read by the format's own Pillow plugin, which
    (unlike Image.open) does not refuse a decompression bomb, so the farmer can be told the size."""
    Image.init()
    upload.seek(0)
    prefix = upload.read(16)
    for name in OPEN_FORMATS:
        factory, accept = Image.OPEN[name]
        accepted = accept(prefix) if accept else True
        if not accepted or isinstance(accepted, str):  # a str is Pillow's "cannot read this here"
            continue
        upload.seek(0)
        try:
            return factory(upload, "").size
        except (SyntaxError, OSError, ValueError, IndexError, TypeError):
            continue
    return None


def _to_srgb(img: Image.Image) -> Image.Image:
    """An RGB image in sRGB, transparency flattened on white: what browsers assume a JPEG without a
    colour profile is (an iPhone's Display P3 would otherwise look washed out)."""
    icc_profile = img.info.get("icc_profile")
    if img.mode not in ("RGB", "L", "CMYK"):
        rgba = img.convert("RGBA")
        img = Image.new("RGB", rgba.size, "white")
        img.paste(rgba, mask=rgba.getchannel("A"))
    if icc_profile:
        try:
            return ImageCms.profileToProfile(
                img, ImageCms.ImageCmsProfile(io.BytesIO(icc_profile)), _SRGB, outputMode="RGB"
            )
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken or mismatched profile: take the numbers as they are
    return img.convert("RGB")


def photo_clean(upload: UploadedFile, *, max_bytes: int | None = None) -> bytes:
    """The upload as a JPEG of at most PHOTO_ORIGINAL_MAX_SIDE on its long side, upright, sRGB, and
    without EXIF, XMP or comments; PhotoRejected if it is over ``max_bytes`` (default
    PHOTO_MAX_UPLOAD_BYTES), not a photo, or damaged."""
    name = _display_name(upload)
    limit = settings.PHOTO_MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
    if upload.size > limit:
        raise PhotoRejected(
            _("“%(name)s” is %(size)s MB; photos may be at most %(limit)s MB.")
            % {"name": name, "size": f"{upload.size / MB:.1f}", "limit": f"{limit / MB:g}"}
        )
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Pillow would pad a cut-off upload with grey instead of refusing it.
        raise ImproperlyConfigured("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay off for photo uploads.")

    upload.seek(0)
    try:
        img = Image.open(upload, formats=OPEN_FORMATS)
    except Image.DecompressionBombError:
        size = _declared_size(upload)
        if size is None:
            raise PhotoRejected(_("“%(name)s” is damaged or incomplete.") % {"name": name}) from None
        raise _too_large(name, size) from None
    except (UnidentifiedImageError, SyntaxError, ValueError):
        raise PhotoRejected(
            _("“%(name)s” is not a photo (JPEG, PNG, WebP or HEIC).") % {"name": name}
        ) from None
    except OSError:
        raise PhotoRejected(_("“%(name)s” is damaged or incomplete.") % {"name": name}) from None

    with img:
        if img.format not in ACCEPTED_FORMATS:
            raise PhotoRejected(_("“%(name)s” is not a photo (JPEG, PNG, WebP or HEIC).") % {"name": name})
        # Decided on the header's size, before a single pixel is decoded. Pillow's own bomb limit may be
        # higher than ours: an image past ours never reaches the decoder.
        width, height = img.size
        if width * height > min(settings.PHOTO_MAX_PIXELS, Image.MAX_IMAGE_PIXELS or float("inf")):
            raise _too_large(name, img.size)
        max_side = settings.PHOTO_ORIGINAL_MAX_SIDE
        try:
            if img.format in ("JPEG", "MPO"):
                # Let libjpeg decode a big photo at 1/2, 1/4 or 1/8 scale, never below max_side.
                img.draft("RGB", (max_side, max_side))
            img.load()
            photo = ImageOps.exif_transpose(img)
            photo = _to_srgb(photo)
        except Image.DecompressionBombError:
            raise _too_large(name, img.size) from None
        except (OSError, SyntaxError, ValueError, EOFError):
            raise PhotoRejected(_("“%(name)s” is damaged or incomplete.") % {"name": name}) from None

    photo.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    # Nothing of the camera's metadata goes on: the JPEG encoder writes EXIF, XMP or a comment only
    # when told to, and the info dict that could tell it is emptied.
    photo.info = {}
    out = io.BytesIO()
    photo.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return out.getvalue()


def _product_lock(product: "Product") -> None:
    """Serialise the photo writes of one product (count, numbering) on its row."""
    for_update(Product.objects.all()).only("pk").get(pk=product.pk)


def _renumber(photos: Iterable["ProductImage"]) -> None:
    """Give ``photos``, in the order given, display orders 0..n-1; only changed rows are written."""
    changed = []
    for position, photo in enumerate(photos):
        if photo.display_order != position:
            photo.display_order = position
            changed.append(photo)
    ProductImage.objects.bulk_update(changed, ["display_order"])


def _files_delete(original: FieldFile) -> None:
    thumbnails_delete(original)  # the original, its renditions and sorl's record of them


def product_photo_add(
    *, product: "Product", upload: UploadedFile, actor: AbstractBaseUser | None = None
) -> "ProductImage":
    """Add an uploaded photo (a Django UploadedFile) after the product's others; the first becomes the
    main photo. Raises PhotoRejected with a message for the farmer, leaving no row and no file, and
    PhotoAlreadyAdded, adding nothing, for a file this listing already has (checked under the product's
    lock, so two sendings of one photo at the same moment add it once)."""
    limit = settings.PHOTO_MAX_PER_PRODUCT
    digest = upload_digest(upload)
    _already_added(product, digest, upload)
    if ProductImage.objects.filter(product=product).count() >= limit:
        raise _too_many(limit)  # before spending a decode on it; checked again under the lock
    data = photo_clean(upload)

    photo = ProductImage(product=product, renditions_ready=False, upload_sha256=digest)
    try:
        with transaction.atomic():
            _product_lock(product)
            _already_added(product, digest, upload)
            existing = ProductImage.objects.filter(product=product).aggregate(
                count=Count("pk"), last=Max("display_order")
            )
            if existing["count"] >= limit:
                raise _too_many(limit)
            photo.display_order = 0 if existing["last"] is None else existing["last"] + 1
            filename = f"product-{product.pk}-{secrets.token_hex(6)}.jpg"
            photo.original.save(filename, ContentFile(data), save=False)
            photo.save()
            _renditions_enqueue(photo.pk)
            catalogue_changed(lists=NO_LIST, product_ids=[product.pk])
    except BaseException:
        # Commit hooks run inside the block's exit too: a failure there must not take the file of a
        # photo whose row did commit.
        if photo.original and not (photo.pk and ProductImage.objects.filter(pk=photo.pk).exists()):
            photo.original.storage.delete(photo.original.name)
        raise
    logger.info(
        "Photo %s added to product %s by %s", photo.pk, product.pk, getattr(actor, "pk", None) or "system"
    )
    return photo


def _renditions_enqueue(photo_id: int) -> None:
    # Through the outbox, in the upload's transaction: a broker that is down cannot turn an upload that
    # committed into an error page; the photo waits with renditions_ready=False until they are drawn.
    outbox_emit(topic=PHOTO_ADDED, key=str(photo_id), payload={"photo_id": photo_id})


@transaction.atomic
def product_photos_reorder(*, product: "Product", photo_ids: list[int]) -> None:
    """Put the product's photos in the order of ``photo_ids``, which must name each of them once; the
    first becomes the main photo. PhotoRejected, changing nothing, if the list is not exactly them."""
    _product_lock(product)
    photos = {photo.pk: photo for photo in ProductImage.objects.filter(product=product)}
    try:
        wanted = [int(photo_id) for photo_id in photo_ids]
    except (TypeError, ValueError):
        wanted = []
    if len(wanted) != len(photos) or set(wanted) != set(photos):
        raise PhotoRejected(_("The product's photos have changed meanwhile; reload the page and try again."))
    _renumber(photos[photo_id] for photo_id in wanted)
    catalogue_changed(lists=NO_LIST, product_ids=[product.pk])


@transaction.atomic
def product_photo_make_main(*, product: "Product", photo_id: int) -> None:
    """Make one photo the main one; the others keep their order after it. ProductImage.DoesNotExist if
    the photo is not this product's."""
    _product_lock(product)
    photo = ProductImage.objects.get(product=product, pk=photo_id)
    others = ProductImage.objects.filter(product=product).exclude(pk=photo.pk).order_by("display_order", "pk")
    _renumber([photo, *others])
    catalogue_changed(lists=NO_LIST, product_ids=[product.pk])


def product_photo_delete(*, product: "Product", photo_id: int) -> None:
    """Delete a photo, its file and its renditions, and close the gap in the order (the next photo
    becomes main if it was). ProductImage.DoesNotExist if the photo is not this product's."""
    with transaction.atomic():
        _product_lock(product)
        photo = ProductImage.objects.get(product=product, pk=photo_id)
        # Not photo.delete(): Oscar's renumbers with full saves, which could write back a stale
        # renditions_ready over the task's update.
        ProductImage.objects.filter(pk=photo.pk).delete()
        _renumber(ProductImage.objects.filter(product=product).order_by("display_order", "pk"))
        # Oscar's post_delete receiver removes the files at once when OSCAR_DELETE_IMAGE_FILES is on;
        # removing them (again, harmlessly) after commit keeps this service from depending on it.
        transaction.on_commit(partial(_files_delete, photo.original), robust=True)
        catalogue_changed(lists=NO_LIST, product_ids=[product.pk])


def photo_rendition(photo: "ProductImage", kind: str) -> Thumbnail:
    """The sorl thumbnail of ``photo`` for ``kind`` ("list", "page" or "zoom"), with the options the
    renditions task drew it with."""
    options = RENDITION_OPTIONS.get(kind, RENDITION_DEFAULT_OPTIONS)
    return get_thumbnail(photo.original, settings.PHOTO_RENDITIONS[kind], **options)


def product_photo_renditions_draw(*, photo_id: int) -> bool:
    """Draw every rendition of a photo and mark it ready; False if the photo is gone. Running it again
    finds the drawn files and changes nothing. OSError if a rendition could not be written."""
    photo = ProductImage.objects.filter(pk=photo_id).first()
    if photo is None:
        return False
    with source_cache():  # the original is read from storage once for all sizes
        for kind in settings.PHOTO_RENDITIONS:
            rendition = photo_rendition(photo, kind)
            # sorl logs a failed read or write and returns the would-be file instead of raising.
            if not rendition.exists():
                raise OSError(f"Rendition {kind!r} of product photo {photo_id} was not written")
    if ProductImage.objects.filter(pk=photo_id, renditions_ready=False).update(renditions_ready=True):
        catalogue_changed(lists=NO_LIST, product_ids=[photo.product_id])
    return True
