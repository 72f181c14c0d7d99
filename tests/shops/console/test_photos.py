import io
import re
import struct
import zlib
from pathlib import Path

import pillow_heif
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.utils import translation
from oscar.core.loading import get_model
from PIL import ExifTags, Image

from marketplace.storefront.caching import catalogue_version
from shops.photos import (
    PhotoAlreadyAdded,
    PhotoRejected,
    photo_rendition,
    product_photo_add,
    product_photo_delete,
    product_photo_make_main,
    product_photo_renditions_draw,
    product_photos_reorder,
)
from tests.factories import ProductFactory

ProductImage = get_model("catalogue", "ProductImage")

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """The messages are asserted in their English source text (the zh-Hans catalogue translates them)."""
    with translation.override("en"):
        yield


RED, BLUE = (220, 20, 20), (20, 20, 220)


def _near(pixel, color, tolerance=40) -> bool:
    return all(abs(got - want) <= tolerance for got, want in zip(pixel, color, strict=True))


def _image_bytes(img: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


def _upload(name: str, data: bytes, content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def _jpeg(name: str = "peach.jpg", size=(64, 48), color=RED) -> SimpleUploadedFile:
    return _upload(name, _image_bytes(Image.new("RGB", size, color), "JPEG"))


def _png_bomb(width: int, height: int) -> bytes:
    """A real, valid PNG of one colour, 1 bit a pixel: a few kilobytes on disk, ``width × height``
    bytes once Pillow decodes it."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = b"\0" * (1 + (width + 7) // 8)  # filter byte, then the packed bits
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _media_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def _stored(photo) -> Image.Image:
    with default_storage.open(photo.original.name) as f:
        img = Image.open(io.BytesIO(f.read()))
        img.load()
    return img


def _orders(product) -> list[tuple[int, int]]:
    return list(
        ProductImage.objects.filter(product=product)
        .order_by("display_order")
        .values_list("pk", "display_order")
    )


def test_first_photo_is_main_and_is_stored_as_a_jpeg_waiting_for_renditions(
    settings, django_capture_on_commit_callbacks
):
    product = ProductFactory()
    version = catalogue_version()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        photo = product_photo_add(product=product, upload=_jpeg())

    photo.refresh_from_db()
    assert (photo.product, photo.display_order, photo.renditions_ready) == (product, 0, False)
    assert photo.is_primary()
    assert _stored(photo).format == "JPEG"
    assert photo.original.name.endswith(".jpg")
    assert catalogue_version() == version  # nothing happens before the commit...

    for callback in callbacks:
        callback()

    assert catalogue_version() != version  # ...then the storefront's cache is bumped
    photo.refresh_from_db()
    assert photo.renditions_ready  # and the renditions task runs (eagerly, in the tests)


def test_a_text_file_named_jpg_is_refused_leaving_no_row_and_no_file(settings):
    product = ProductFactory()
    upload = _upload("notes.jpg", "今天摘了两百斤桃子。\n".encode() * 50)

    with pytest.raises(
        PhotoRejected, match=re.escape("“notes.jpg” is not a photo (JPEG, PNG, WebP or HEIC).")
    ):
        product_photo_add(product=product, upload=upload)

    assert not ProductImage.objects.exists()
    assert _media_files(settings) == []


def test_a_truncated_jpeg_is_refused_as_damaged(settings):
    noise = Image.frombytes("RGB", (256, 256), bytes(range(256)) * 768)
    data = _image_bytes(noise.rotate(33), "JPEG", quality=95)
    upload = _upload("cut.jpg", data[: len(data) * 2 // 3])

    with pytest.raises(PhotoRejected, match=re.escape("“cut.jpg” is damaged or incomplete.")):
        product_photo_add(product=ProductFactory(), upload=upload)

    assert not ProductImage.objects.exists()
    assert _media_files(settings) == []


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (20000, 20000),  # past Pillow's own bomb limit: Image.open refuses it
        (8000, 6000),  # 48 megapixels: under Pillow's limit, over PHOTO_MAX_PIXELS
    ],
)
def test_a_decompression_bomb_is_refused_by_its_size_before_decoding(settings, width, height):
    upload = _upload("bomb.png", _png_bomb(width, height), "image/png")
    assert upload.size < 200_000

    expected = f"“bomb.png” is too large an image ({width}×{height} pixels)."
    with pytest.raises(PhotoRejected, match=re.escape(expected)):
        product_photo_add(product=ProductFactory(), upload=upload)

    assert not ProductImage.objects.exists()
    assert _media_files(settings) == []


def test_a_30_mb_file_is_refused_by_its_size_without_being_read(settings):
    upload = TemporaryUploadedFile("big.jpg", "image/jpeg", 30 * 1024 * 1024, None)
    upload.write(_image_bytes(Image.new("RGB", (8, 8)), "JPEG"))
    upload.seek(30 * 1024 * 1024 - 1)
    upload.write(b"\0")  # a sparse file: 30 MB on the size, next to nothing in memory or on disk
    upload.seek(0)

    with pytest.raises(PhotoRejected, match=re.escape("“big.jpg” is 30.0 MB; photos may be at most 15 MB.")):
        product_photo_add(product=ProductFactory(), upload=upload)

    assert not ProductImage.objects.exists()
    assert _media_files(settings) == []


def test_a_phone_photo_is_turned_upright_and_loses_its_exif_and_location():
    # Stored sideways, as a phone held upright stores it: 300 wide, 200 high, red block top left.
    # Orientation 6 says "turn 90° clockwise to view", which takes that block to the top right.
    sideways = Image.new("RGB", (300, 200), BLUE)
    sideways.paste(RED, (0, 0, 80, 80))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "Phone"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (28.0, 35.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (119.0, 15.0, 10.0)
    data = _image_bytes(
        sideways, "JPEG", exif=exif, comment=b"Huangshayao village, 28.59N 119.25E", quality=95
    )
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the upload has a location

    photo = product_photo_add(product=ProductFactory(), upload=_upload("IMG_0001.jpg", data))

    stored = _stored(photo)
    assert stored.size == (200, 300)
    top_right, top_left = stored.getpixel((200 - 30, 30)), stored.getpixel((30, 30))
    assert _near(top_right, RED), top_right
    assert _near(top_left, BLUE), top_left
    assert not stored.getexif()
    assert "exif" not in stored.info
    assert "xmp" not in stored.info
    assert "comment" not in stored.info
    with default_storage.open(photo.original.name) as f:
        raw = f.read()
    assert b"Exif" not in raw
    assert b"GPS" not in raw
    assert b"Huangshayao" not in raw


@pytest.mark.parametrize(
    ("name", "fmt", "mode"),
    [("basket.png", "PNG", "RGBA"), ("basket.png", "PNG", "P"), ("basket.webp", "WEBP", "RGB")],
)
def test_png_and_webp_are_accepted_and_stored_as_jpeg(name, fmt, mode):
    img = Image.new("RGBA", (120, 90), (0, 0, 0, 0)) if mode == "RGBA" else Image.new(mode, (120, 90))
    if mode == "RGBA":
        img.paste((20, 160, 20, 255), (0, 0, 60, 90))  # left half green, right half transparent

    photo = product_photo_add(product=ProductFactory(), upload=_upload(name, _image_bytes(img, fmt)))

    stored = _stored(photo)
    assert (stored.format, stored.mode, stored.size) == ("JPEG", "RGB", (120, 90))
    if mode == "RGBA":
        assert stored.getpixel((100, 45)) >= (245, 245, 245)  # transparency flattened on white


def test_a_jpeg_with_a_second_picture_mpo_as_phones_write_them_is_accepted():
    main, depth = Image.new("RGB", (120, 90), RED), Image.new("RGB", (60, 45), BLUE)
    data = _image_bytes(main, "MPO", save_all=True, append_images=[depth])
    assert Image.open(io.BytesIO(data)).format == "MPO"

    photo = product_photo_add(product=ProductFactory(), upload=_upload("IMG_0003.jpg", data))

    stored = _stored(photo)
    assert (stored.format, stored.size) == ("JPEG", (120, 90))
    assert _near(stored.getpixel((60, 45)), RED)


@pytest.mark.skipif(not pillow_heif.libheif_info().get("HEIF"), reason="this libheif has no HEIF encoder")
def test_a_heic_from_an_iphone_is_accepted():
    heif = pillow_heif.from_pillow(Image.new("RGB", (160, 120), RED))
    out = io.BytesIO()
    heif.save(out, quality=80)

    photo = product_photo_add(
        product=ProductFactory(), upload=_upload("IMG_0002.HEIC", out.getvalue(), "image/heic")
    )

    stored = _stored(photo)
    assert (stored.format, stored.size) == ("JPEG", (160, 120))
    assert _near(stored.getpixel((80, 60)), RED)


def test_the_stored_original_is_bounded_on_its_long_side(settings):
    photo = product_photo_add(
        product=ProductFactory(), upload=_jpeg("wide.jpg", size=(settings.PHOTO_ORIGINAL_MAX_SIDE * 2, 900))
    )

    assert _stored(photo).size == (settings.PHOTO_ORIGINAL_MAX_SIDE, 450)


def test_a_product_takes_at_most_the_photo_limit(settings):
    product = ProductFactory()
    for n in range(settings.PHOTO_MAX_PER_PRODUCT):
        product_photo_add(product=product, upload=_jpeg(f"p{n}.jpg", size=(8, 8), color=(n * 20, 0, 0)))
    files_before = _media_files(settings)

    with pytest.raises(PhotoRejected, match=re.escape("A product can have at most 12 photos.")):
        product_photo_add(product=product, upload=_jpeg("one-more.jpg", size=(8, 8)))

    assert ProductImage.objects.filter(product=product).count() == 12
    assert _orders(product) == [(pk, n) for n, (pk, _) in enumerate(_orders(product))]
    assert _media_files(settings) == files_before


def test_the_same_file_sent_again_is_not_added_twice_and_names_the_photo_already_there(settings):
    product = ProductFactory()
    sent = _image_bytes(Image.new("RGB", (64, 48), RED), "JPEG")
    first = product_photo_add(product=product, upload=_upload("peach.jpg", sent))
    files = _media_files(settings)

    # The same file again (the form sent twice, the upload sent again after its answer was lost), even under
    # another name: nothing added, the photo already there named.
    with pytest.raises(PhotoAlreadyAdded, match="is already among this listing's photos") as again:
        product_photo_add(product=product, upload=_upload("IMG_0001.jpg", sent))
    assert again.value.photo == first
    assert list(ProductImage.objects.filter(product=product)) == [first]
    assert _media_files(settings) == files

    # Another photo, and the same file on another listing, are added.
    product_photo_add(product=product, upload=_jpeg("blue.jpg", color=BLUE))
    product_photo_add(product=ProductFactory(), upload=_upload("peach.jpg", sent))
    assert ProductImage.objects.filter(product=product).count() == 2
    # Deleted, it can be added again.
    product_photo_delete(product=product, photo_id=first.pk)
    assert product_photo_add(product=product, upload=_upload("peach.jpg", sent)).pk != first.pk


def _three_photos(product):
    return [
        product_photo_add(product=product, upload=_jpeg(f"{n}.jpg", size=(8, 8), color=color)).pk
        for n, color in zip("abc", (RED, BLUE, (20, 220, 20)), strict=True)
    ]


def test_reorder_sets_the_order_given():
    product = ProductFactory()
    a, b, c = _three_photos(product)

    product_photos_reorder(product=product, photo_ids=[c, a, b])

    assert _orders(product) == [(c, 0), (a, 1), (b, 2)]


@pytest.mark.parametrize("kind", ["foreign", "missing", "repeated"])
def test_reorder_with_other_than_exactly_the_products_photos_changes_nothing(kind):
    product = ProductFactory()
    a, b, c = _three_photos(product)
    foreign = product_photo_add(product=ProductFactory(), upload=_jpeg()).pk
    photo_ids = {"foreign": [c, a, foreign], "missing": [c, a], "repeated": [c, a, a]}[kind]

    with pytest.raises(PhotoRejected):
        product_photos_reorder(product=product, photo_ids=photo_ids)

    assert _orders(product) == [(a, 0), (b, 1), (c, 2)]


def test_make_main_puts_the_photo_first_and_keeps_the_others_in_order():
    product = ProductFactory()
    a, b, c = _three_photos(product)

    product_photo_make_main(product=product, photo_id=c)

    assert _orders(product) == [(c, 0), (a, 1), (b, 2)]


def test_deleting_the_main_photo_removes_its_files_and_the_next_becomes_main(
    settings, django_capture_on_commit_callbacks
):
    product = ProductFactory()
    with django_capture_on_commit_callbacks(execute=True):  # renditions drawn too
        a, b, c = _three_photos(product)
    deleted = ProductImage.objects.get(pk=a)
    names = [deleted.original.name] + [
        photo_rendition(deleted, kind).name for kind in settings.PHOTO_RENDITIONS
    ]
    assert all(default_storage.exists(name) for name in names)

    with django_capture_on_commit_callbacks(execute=True):
        product_photo_delete(product=product, photo_id=a)

    assert _orders(product) == [(b, 0), (c, 1)]
    assert not any(default_storage.exists(name) for name in names)
    assert default_storage.exists(ProductImage.objects.get(pk=b).original.name)


def test_another_products_photo_is_not_found_and_nothing_changes():
    product = ProductFactory()
    a, b, c = _three_photos(product)
    foreign = product_photo_add(product=ProductFactory(), upload=_jpeg())

    with pytest.raises(ProductImage.DoesNotExist):
        product_photo_make_main(product=product, photo_id=foreign.pk)
    with pytest.raises(ProductImage.DoesNotExist):
        product_photo_delete(product=product, photo_id=foreign.pk)

    assert _orders(product) == [(a, 0), (b, 1), (c, 2)]
    assert ProductImage.objects.filter(pk=foreign.pk).exists()


def test_renditions_are_drawn_after_commit_and_mark_the_photo_ready(
    settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # the outbox delivers on commit in the tests
        photo = product_photo_add(product=ProductFactory(), upload=_jpeg(size=(2000, 1500)))

    photo.refresh_from_db()
    assert photo.renditions_ready
    sizes = {kind: photo_rendition(photo, kind) for kind in settings.PHOTO_RENDITIONS}
    for rendition in sizes.values():
        assert default_storage.exists(rendition.name)
    assert (sizes["list"].width, sizes["list"].height) == (400, 400)
    assert (sizes["page"].width, sizes["page"].height) == (800, 600)
    assert (sizes["zoom"].width, sizes["zoom"].height) == (1600, 1200)
    drawn = sorted(_media_files(settings))

    assert product_photo_renditions_draw(photo_id=photo.pk) is True  # again: nothing new
    assert sorted(_media_files(settings)) == drawn


def test_renditions_of_a_deleted_photo_do_nothing():
    product = ProductFactory()
    photo = product_photo_add(product=product, upload=_jpeg())
    product_photo_delete(product=product, photo_id=photo.pk)

    assert product_photo_renditions_draw(photo_id=photo.pk) is False
