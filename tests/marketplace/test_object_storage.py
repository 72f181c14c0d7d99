"""Media and private files on S3-compatible object storage (``MEDIA_STORAGE=s3``), against a real S3 API
server on loopback (moto's, a test tool): a farmer's product photo goes through the app's own upload
service into the public media bucket, its renditions are drawn from there, and buyers fetch them by a
plain URL that the page's Content-Security-Policy allows; an applicant's licence photo goes into the
private bucket, which answers an anonymous request 403 (a URL made for it is signed and expires in five
minutes) and which the association's workspace still serves to members only.

The S3 settings are those ``marketplace/settings.py`` makes from the environment, read from a fresh
process, so the test checks the switch itself and not a copy of it."""

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from django.core.files.storage import default_storage, storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse
from moto.server import ThreadedMotoServer
from PIL import Image
from sorl.thumbnail import default as sorl_default
from sorl.thumbnail.images import get_or_create_storage

from devtools.stack import free_port
from shops.association.admission import ApplicationDetails, application_submit
from shops.association.models import ApplicationPhoto, PrivateStorage
from shops.photos import photo_rendition, product_photo_add
from tests.factories import ProductFactory, association_member, category, region_chain

ROOT = Path(__file__).resolve().parents[2]
MEDIA_BUCKET, PRIVATE_BUCKET = "xiangwei-media", "xiangwei-private"
KEYS = {"AWS_ACCESS_KEY_ID": "test-key", "AWS_SECRET_ACCESS_KEY": "test-secret"}


def settings_from_environment(env: dict[str, str], tmp_path: Path) -> dict:
    """What the settings module makes of ``env``, in a process of its own."""
    code = (
        "import json; from django.conf import settings as s;"
        "from shops.association.models import ApplicationPhoto as P;"
        "f = P._meta.get_field('image').storage;"
        "print('RESULT', json.dumps({'storages': s.STORAGES, 'img_src': s.CONTENT_SECURITY_POLICY["
        "'DIRECTIVES']['img-src'], 'private_field': [type(f).__name__, getattr(f, 'bucket_name', None),"
        " getattr(f, 'location', None)]}))"
    )
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO", "DATABASE", "SECRET", "CELERY", "AWS_", "S3_", "MEDIA_"))
    }
    clean.update({"VAR_DIR": str(tmp_path), **env})
    result = subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", code],
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    return json.loads(line.removeprefix("RESULT "))


@dataclass
class ObjectStore:
    endpoint: str
    client: object  # a boto3 S3 client on the server
    config: dict  # what the settings made of the environment

    def keys(self, bucket: str) -> list[str]:
        listing = self.client.list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def body(self, bucket: str, key: str) -> bytes:
        return self.client.get_object(Bucket=bucket, Key=key)["Body"].read()


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the server's line per request
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def s3_config(s3_endpoint, tmp_path_factory) -> dict:
    """What the settings make of the S3 environment of this test's server."""
    env = {
        "MEDIA_STORAGE": "s3",
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_REGION_NAME": "us-east-1",
        "S3_ADDRESSING_STYLE": "path",
        "AWS_STORAGE_BUCKET_NAME": MEDIA_BUCKET,
        "AWS_PRIVATE_BUCKET_NAME": PRIVATE_BUCKET,
        **KEYS,
    }
    return settings_from_environment(env, tmp_path_factory.mktemp("s3-settings"))


@pytest.fixture
def object_store(s3_endpoint, s3_config, monkeypatch) -> Iterator[ObjectStore]:
    """Two fresh buckets as operations sets them up (media readable by anyone through a bucket policy,
    private without one), the app's storages switched to them, and the private files' model field
    pointed at the private one (a field takes its storage once, when the model loads: this process
    started on the file system; the settings test shows a process started with the switch gets it)."""
    config = s3_config
    for key, value in KEYS.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **_boto_keys())
    for bucket in (MEDIA_BUCKET, PRIVATE_BUCKET):
        client.create_bucket(Bucket=bucket)
    public_read = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{MEDIA_BUCKET}/*",
            }
        ],
    }
    client.put_bucket_policy(Bucket=MEDIA_BUCKET, Policy=json.dumps(public_read))
    try:
        with override_settings(STORAGES=config["storages"]):
            monkeypatch.setattr(ApplicationPhoto._meta.get_field("image"), "storage", storages["private"])
            # sorl makes its storage once per process and keeps the storage of each alias it has read back
            # (an lru_cache): an earlier test may have made both on the disk.
            monkeypatch.setattr(sorl_default, "storage", sorl_default.Storage())
            get_or_create_storage.cache_clear()
            yield ObjectStore(s3_endpoint, client, config)
    finally:
        get_or_create_storage.cache_clear()
        for bucket in (MEDIA_BUCKET, PRIVATE_BUCKET):
            for key in ObjectStore(s3_endpoint, client, config).keys(bucket):
                client.delete_object(Bucket=bucket, Key=key)
            client.delete_bucket(Bucket=bucket)


def _boto_keys() -> dict[str, str]:
    return {
        "aws_access_key_id": KEYS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": KEYS["AWS_SECRET_ACCESS_KEY"],
    }


def jpeg_bytes(size: tuple[int, int] = (640, 480), colour: tuple[int, int, int] = (200, 60, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="JPEG")
    return out.getvalue()


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


# --- the switch -------------------------------------------------------------------------------------------


def test_without_the_switch_media_and_private_files_stay_on_the_file_system(tmp_path):
    config = settings_from_environment({}, tmp_path)
    assert config["storages"]["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    assert "private" not in config["storages"]
    assert config["private_field"][0] == PrivateStorage.__name__
    assert config["img_src"] == ["'self'", "data:"]


def test_the_switch_puts_media_and_private_files_in_their_buckets(tmp_path):
    env = {
        "MEDIA_STORAGE": "s3",
        "S3_ENDPOINT_URL": "https://oss-cn-hangzhou.aliyuncs.com",
        "S3_REGION_NAME": "cn-hangzhou",
        "S3_ADDRESSING_STYLE": "virtual",
        "AWS_STORAGE_BUCKET_NAME": MEDIA_BUCKET,
        "AWS_PRIVATE_BUCKET_NAME": PRIVATE_BUCKET,
    }
    config = settings_from_environment(env, tmp_path)
    media, private = config["storages"]["default"], config["storages"]["private"]
    assert media["BACKEND"] == private["BACKEND"] == "storages.backends.s3.S3Storage"
    assert media["OPTIONS"]["bucket_name"] == MEDIA_BUCKET
    assert media["OPTIONS"]["querystring_auth"] is False
    assert private["OPTIONS"]["bucket_name"] == PRIVATE_BUCKET
    assert private["OPTIONS"]["querystring_auth"] is True
    assert private["OPTIONS"]["querystring_expire"] == 300
    # A process started with the switch gives the private files' field the private bucket.
    assert config["private_field"] == ["S3Storage", PRIVATE_BUCKET, "applications"]
    # Pages may show images from the media bucket's own address (virtual-hosted on OSS).
    assert config["img_src"] == ["'self'", "data:", f"https://{MEDIA_BUCKET}.oss-cn-hangzhou.aliyuncs.com"]
    with_cdn = settings_from_environment({**env, "MEDIA_CUSTOM_DOMAIN": "img.xiangwei.cn"}, tmp_path)
    assert with_cdn["img_src"][-1] == "https://img.xiangwei.cn"
    assert with_cdn["storages"]["default"]["OPTIONS"]["custom_domain"] == "img.xiangwei.cn"


def test_an_unknown_storage_is_refused(tmp_path):
    code = "print(1)"
    result = subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", code],
        env={**os.environ, "VAR_DIR": str(tmp_path), "MEDIA_STORAGE": "ftp"},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode != 0
    assert "MEDIA_STORAGE" in result.stderr


# --- through the app's services ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_product_photo_and_its_renditions_live_in_the_public_bucket(
    object_store, settings, django_capture_on_commit_callbacks
):
    product = ProductFactory(title="水蜜桃")
    upload = SimpleUploadedFile("peach.jpg", jpeg_bytes(), content_type="image/jpeg")
    with django_capture_on_commit_callbacks(execute=True):  # the renditions are drawn after the commit
        photo = product_photo_add(product=product, upload=upload)
    photo.refresh_from_db()

    keys = object_store.keys(MEDIA_BUCKET)
    assert photo.original.name in keys
    with default_storage.open(photo.original.name) as stored:
        assert stored.read() == object_store.body(MEDIA_BUCKET, photo.original.name)
    assert photo.renditions_ready
    rendition = photo_rendition(photo, "list")
    assert rendition.name in keys
    assert len(keys) == 1 + len(settings.PHOTO_RENDITIONS)  # the original and one file per rendition
    assert files_under(Path(settings.MEDIA_ROOT)) == []  # nothing on this machine's disk

    # Buyers fetch it by a plain URL (no signature), from an origin the pages' CSP allows.
    url = rendition.url
    assert "Signature" not in url
    assert "X-Amz-Signature" not in url
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    assert origin in object_store.config["img_src"]
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200
    assert Image.open(io.BytesIO(answer.content)).size == (400, 400)  # the "list" rendition, cropped square


@pytest.mark.django_db
def test_an_applications_photos_live_in_the_private_bucket_and_reach_members_only(
    object_store, settings, django_capture_on_commit_callbacks
):
    place, shoots = region_chain(), category("笋干", "Dried bamboo shoots")
    licence = jpeg_bytes((320, 200), (30, 30, 160))
    details = ApplicationDetails(
        shop_name="湖山笋干铺",
        shop_name_en="Hushan Bamboo Shoots",
        farmer_name="李春花",
        phone="13857812345",
        email="chunhua@farm.example.cn",
        county=place["county"],
        town=place["town"],
        village=place["village"],
        produce="笋干",
        story="祖孙三代守着一片竹林。",
        categories=[shoots],
    )
    with django_capture_on_commit_callbacks(execute=True):
        application = application_submit(
            details=details, farm_photos=[jpeg_bytes()], licence_photos=[licence]
        )
    photo = application.photos.get(kind=ApplicationPhoto.Kind.LICENCE)

    key = f"applications/{photo.image.name}"
    assert object_store.keys(PRIVATE_BUCKET) == sorted(
        f"applications/{p.image.name}" for p in application.photos.all()
    )
    assert object_store.keys(MEDIA_BUCKET) == []
    assert files_under(Path(settings.PRIVATE_MEDIA_ROOT)) == []

    # Not public: the object's plain address answers 403; a URL made for it is signed and expires.
    plain = f"{object_store.endpoint}/{PRIVATE_BUCKET}/{key}"
    assert requests.get(plain, timeout=10).status_code == 403
    signed = photo.image.url
    query = parse_qs(urlsplit(signed).query)
    assert query["X-Amz-Expires"] == ["300"]
    assert "X-Amz-Signature" in query

    # The workspace serves it to a member, from the bucket; everyone else is refused as before.
    url = reverse("association:application-photo", kwargs={"pk": application.pk, "photo_pk": photo.pk})
    member = Client()
    member.force_login(association_member(email="staff@association.example.cn"))
    response = member.get(url)
    assert response.status_code == 200
    served = b"".join(response.streaming_content)
    assert served == object_store.body(PRIVATE_BUCKET, key)
    assert Image.open(io.BytesIO(served)).size == (320, 200)
    assert response["Cache-Control"] == "private, no-store"
    assert Client().get(url).status_code == 302  # to sign in

    # A file gone from the bucket is a 404, not a 500.
    object_store.client.delete_object(Bucket=PRIVATE_BUCKET, Key=key)
    assert member.get(url).status_code == 404
