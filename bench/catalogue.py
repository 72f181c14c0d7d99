"""A generated catalogue for the storefront benchmark: shops in a small region tree, categories, and N
products with bilingual names, harvest months, a price, stock and a photo, plus their search index.

It writes only to the database Django is configured with (the benchmark points it at ``var/bench/``),
through the product's own bulk path (``shops.listings_bulk.listings_create_bulk``: ``bulk_create`` per
batch with the batch's search index), so 100,000 products take minutes, not hours.
"""

import contextlib
import datetime
import random
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from oscar.core.loading import get_model

from marketplace.search.indexing import search_index_bulk_writes
from shops.listings import ListingData
from shops.listings_bulk import NewListing, listings_create_bulk

Region = get_model("places", "Region")
Partner = get_model("partner", "Partner")
Category = get_model("catalogue", "Category")
Certification = get_model("catalogue", "Certification")
Product = get_model("catalogue", "Product")
ProductClass = get_model("catalogue", "ProductClass")
ProductSearchDocument = get_model("search", "ProductSearchDocument")

IMAGE_NAME = "bench/produce.jpg"
BATCH = 2000
SEED = 20261122

# (zh, en, code) → towns, each (zh, en) → villages (zh, en).
REGIONS = [
    (
        ("浙江省", "Zhejiang", "330000"),
        [
            (
                ("丽水市", "Lishui", "331100"),
                [
                    (
                        ("遂昌县", "Suichang", "331123"),
                        [
                            (
                                ("湖山乡", "Hushan"),
                                [("黄沙腰村", "Huangshayao"), ("红星坪村", "Hongxingping")],
                            ),
                            (("王村口镇", "Wangcunkou"), [("桥西村", "Qiaoxi"), ("宏村", "Hongcun")]),
                        ],
                    ),
                    (
                        ("松阳县", "Songyang", "331124"),
                        [
                            (("大东坝镇", "Dadongba"), [("横樟村", "Hengzhang"), ("石仓村", "Shicang")]),
                            (("四都乡", "Sidu"), [("陈家铺村", "Chenjiapu"), ("平田村", "Pingtian")]),
                        ],
                    ),
                    (
                        ("庆元县", "Qingyuan", "331126"),
                        [(("百山祖镇", "Baishanzu"), [("龙井村", "Longjing"), ("斋郎村", "Zhailang")])],
                    ),
                ],
            ),
            (
                ("衢州市", "Quzhou", "330800"),
                [
                    (
                        ("常山县", "Changshan", "330822"),
                        [(("青石镇", "Qingshi"), [("澄潭村", "Chengtan"), ("江家村", "Jiangjia")])],
                    )
                ],
            ),
        ],
    ),
    (
        ("江苏省", "Jiangsu", "320000"),
        [
            (
                ("无锡市", "Wuxi", "320200"),
                [
                    (
                        ("惠山区", "Huishan", "320206"),
                        [(("阳山镇", "Yangshan"), [("桃源村", "Taoyuan"), ("安阳山村", "Anyangshan")])],
                    )
                ],
            )
        ],
    ),
]

SHOP_KINDS = [
    ("山货铺", "Mountain Goods"),
    ("农家小店", "Farm Shop"),
    ("合作社", "Co-op"),
    ("果园", "Orchard"),
    ("茶园", "Tea Garden"),
]

# Root categories (zh, en, slug) with their children; products go into leaves (or a childless root).
CATEGORIES = [
    (("鲜果", "Fresh fruit", "fresh-fruit"), [("桃", "Peaches", "peaches"), ("柑橘", "Citrus", "citrus")]),
    (("茶叶", "Tea", "tea"), [("绿茶", "Green tea", "green-tea")]),
    (
        ("山货干货", "Dried mountain goods", "dried-goods"),
        [("笋干", "Bamboo shoots", "bamboo-shoots"), ("菌菇", "Mushrooms", "mushrooms")],
    ),
    (("蜂蜜", "Honey", "honey"), []),
    (("粮油", "Grain and oil", "grain-oil"), []),
    (("禽蛋", "Eggs", "eggs"), []),
]

CERTIFICATIONS = [
    ("gi", "地理标志", "Geographical indication"),
    ("green", "绿色食品", "Green food"),
    ("organic", "有机", "Organic"),
]


@dataclass(frozen=True)
class Kind:
    """One kind of produce and the ways it is listed."""

    zh: str
    en: str
    category: str  # slug of the category it goes in
    product_class: str
    weight: int  # how often it is listed, relative to the others
    varieties: tuple[tuple[str, str], ...]
    packs: tuple[tuple[str, str, int], ...]  # zh, en, grams
    harvest: tuple[int, int] | None  # months; None: sold all year
    storage: str
    price: tuple[int, int]  # CNY range


KINDS = [
    Kind(
        "阳山水蜜桃",
        "Yangshan honey peach",
        "peaches",
        "fresh-fruit",
        6,
        (
            ("湖景蜜露", "Hujing Milu"),
            ("白凤", "Baifeng"),
            ("新白花", "Xinbaihua"),
            ("阳山白", "Yangshan White"),
        ),
        (("6只装", "6-pack", 1500), ("12只装", "12-pack", 3000), ("礼盒8只", "gift box of 8", 2200)),
        (6, 8),
        "chilled",
        (68, 268),
    ),
    Kind(
        "高山黄桃",
        "mountain yellow peach",
        "peaches",
        "fresh-fruit",
        3,
        (("锦绣", "Jinxiu"), ("金童", "Jintong")),
        (("3斤装", "1.5 kg", 1500), ("5斤装", "2.5 kg", 2500)),
        (7, 9),
        "chilled",
        (39, 129),
    ),
    Kind(
        "常山胡柚",
        "Changshan huyou grapefruit",
        "citrus",
        "fresh-fruit",
        5,
        (("精选大果", "select large"), ("中果", "medium"), ("胡柚青果", "green huyou")),
        (("5斤装", "2.5 kg", 2500), ("10斤装", "5 kg", 5000)),
        (11, 2),
        "ambient",
        (29, 99),
    ),
    Kind(
        "遂昌笋干",
        "Suichang dried bamboo shoots",
        "bamboo-shoots",
        "dried-goods",
        4,
        (("烟笋", "smoked"), ("扁尖", "Bianjian"), ("笋丝", "shredded")),
        (("250克", "250 g", 250), ("500克", "500 g", 500), ("1公斤", "1 kg", 1000)),
        None,
        "ambient",
        (38, 168),
    ),
    Kind(
        "庆元香菇",
        "Qingyuan shiitake",
        "mushrooms",
        "dried-goods",
        3,
        (("花菇", "flower mushroom"), ("厚菇", "thick cap"), ("椴木香菇", "log-grown")),
        (("250克", "250 g", 250), ("500克", "500 g", 500)),
        (10, 3),
        "ambient",
        (45, 198),
    ),
    Kind(
        "龙谷丽人茶",
        "Longgu Liren tea",
        "green-tea",
        "tea",
        4,
        (
            ("明前特级", "pre-Qingming premium"),
            ("雨前一级", "pre-rain first grade"),
            ("高山云雾", "high mountain"),
        ),
        (("50克罐装", "50 g tin", 50), ("100克", "100 g", 100), ("250克礼盒", "250 g gift box", 250)),
        (3, 4),
        "ambient",
        (88, 688),
    ),
    Kind(
        "松阳银猴茶",
        "Songyang Yinhou tea",
        "green-tea",
        "tea",
        2,
        (("特级", "premium"), ("一级", "first grade")),
        (("100克", "100 g", 100), ("250克", "250 g", 250)),
        (3, 5),
        "ambient",
        (68, 398),
    ),
    Kind(
        "高山土蜂蜜",
        "mountain wild honey",
        "honey",
        "honey",
        4,
        (("百花蜜", "wildflower"), ("椴树蜜", "linden"), ("桂花蜜", "osmanthus"), ("冬蜜", "winter")),
        (("500克瓶装", "500 g jar", 500), ("1公斤", "1 kg", 1000)),
        (5, 11),
        "ambient",
        (58, 228),
    ),
    Kind(
        "高山稻米",
        "mountain rice",
        "grain-oil",
        "grain-oil",
        2,
        (("梯田红米", "terrace red rice"), ("香粳米", "fragrant japonica")),
        (("2.5公斤", "2.5 kg", 2500), ("5公斤", "5 kg", 5000)),
        (9, 10),
        "ambient",
        (39, 128),
    ),
    Kind(
        "山茶油",
        "camellia oil",
        "grain-oil",
        "grain-oil",
        2,
        (("冷榨", "cold-pressed"), ("古法压榨", "traditional press")),
        (("500毫升", "500 ml", 460), ("2.5升", "2.5 l", 2300)),
        (10, 11),
        "ambient",
        (78, 398),
    ),
    Kind(
        "农家土鸡蛋",
        "free-range farm eggs",
        "eggs",
        "eggs",
        2,
        (("林下散养", "forest-raised"), ("乌鸡蛋", "black-bone chicken")),
        (("30枚", "30 eggs", 1500), ("60枚", "60 eggs", 3000)),
        None,
        "chilled",
        (39, 109),
    ),
]

PRODUCT_CLASSES = {
    "fresh-fruit": ("鲜果", True),
    "dried-goods": ("山货干货", True),
    "tea": ("茶叶", True),
    "honey": ("蜂蜜", True),
    "grain-oil": ("粮油", True),
    "eggs": ("禽蛋", True),
}

DESCRIPTION = "{shop}自产{kind}，{variety}，{pack}。产地直发，坏果包赔。"
DESCRIPTION_EN = "{kind} ({variety}, {pack}) from {shop}, shipped straight from the village."


def db_path() -> Path:
    return Path(settings.DATABASES["default"]["NAME"])


def catalogue_size() -> tuple[int, int, int] | None:
    """(products, open shops, indexed products) of the existing benchmark database, None if it has none."""
    if not db_path().exists():
        return None
    try:
        return (
            Product.objects.count(),
            Partner.objects.filter(status=Partner.Status.APPROVED).count(),
            ProductSearchDocument.objects.count(),
        )
    except Exception:  # a half-built or older database: rebuild it
        return None


def catalogue_ensure(*, products: int, shops: int, regenerate: bool = False, log=print) -> bool:
    """Make sure the benchmark database holds exactly this catalogue; True if it was (re)generated."""
    if not regenerate and db_path().exists():
        # A kept database is brought up to the code's migrations (their data fills included) first;
        # one that cannot be is generated again below.
        with contextlib.suppress(Exception):
            call_command("migrate", verbosity=0, interactive=False)
    if not regenerate and catalogue_size() == (products, shops, products):
        log(f"reusing {db_path()} ({products:,} products, {shops} shops)")
        return False
    catalogue_generate(products=products, shops=shops, log=log)
    return True


def _fresh_database(log) -> None:
    connection.close()
    path = db_path()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    log(f"migrating a fresh database at {path}")
    call_command("migrate", verbosity=0, interactive=False)


def _image() -> str:
    """One small JPEG every product shows (its thumbnails are generated once and shared)."""
    from PIL import Image, ImageDraw

    path = Path(settings.MEDIA_ROOT) / IMAGE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (800, 800), (242, 201, 160))
    draw = ImageDraw.Draw(image)
    for i in range(0, 800, 40):
        draw.ellipse(
            (200 + i // 8, 200 + i // 8, 600 - i // 8, 600 - i // 8), outline=(220, 120 - i // 10, 90)
        )
    draw.rectangle((0, 640, 800, 800), fill=(96, 140, 72))
    image.save(path, "JPEG", quality=80)
    return IMAGE_NAME


def _regions() -> list[dict]:
    """The region tree; returns one dict (province … village) per village."""
    chains = []
    for (p_zh, p_en, p_code), cities in REGIONS:
        province = Region.objects.create(name=p_zh, name_en=p_en, code=p_code, level=Region.Level.PROVINCE)
        for (c_zh, c_en, c_code), counties in cities:
            city = Region.objects.create(
                name=c_zh, name_en=c_en, code=c_code, level=Region.Level.CITY, parent=province
            )
            for (k_zh, k_en, k_code), towns in counties:
                county = Region.objects.create(
                    name=k_zh, name_en=k_en, code=k_code, level=Region.Level.COUNTY, parent=city
                )
                for (t_zh, t_en), villages in towns:
                    town = Region.objects.create(
                        name=t_zh, name_en=t_en, level=Region.Level.TOWN, parent=county
                    )
                    for v_zh, v_en in villages:
                        village = Region.objects.create(
                            name=v_zh, name_en=v_en, level=Region.Level.VILLAGE, parent=town
                        )
                        chains.append(
                            {
                                "province": province,
                                "city": city,
                                "county": county,
                                "town": town,
                                "village": village,
                            }
                        )
    return chains


def _shops(count: int, chains: list[dict]) -> list:
    shops = []
    for i in range(count):
        chain = chains[i % len(chains)]
        kind_zh, kind_en = SHOP_KINDS[(i // len(chains) + i) % len(SHOP_KINDS)]
        village = chain["village"]
        shops.append(
            Partner.objects.create(
                name=f"{village.name}{kind_zh}" + (f"{i // len(chains) + 1}号" if i >= len(chains) else ""),
                name_en=f"{village.name_en} {kind_en}"
                + (f" No. {i // len(chains) + 1}" if i >= len(chains) else ""),
                code=f"bench-shop-{i + 1:03d}",
                status=Partner.Status.APPROVED,
                story=f"我们是{chain['county'].name}{chain['town'].name}{village.name}的农户，自家种、自家卖。",
                story_en=f"Farmers of {village.name_en}, {chain['town'].name_en}, {chain['county'].name_en}.",
                phone=f"1380000{i:04d}",
                joined_on=datetime.date(2024, 1, 1) + datetime.timedelta(days=17 * i),
                **chain,
            )
        )
    return shops


def _categories() -> dict:
    by_slug = {}
    for (zh, en, slug), children in CATEGORIES:
        root = Category.objects.add_root(create_kwargs={"name": zh, "name_en": en, "slug": slug})
        by_slug[slug] = root
        for c_zh, c_en, c_slug in children:
            by_slug[c_slug] = Category.objects.add_child(
                root, create_kwargs={"name": c_zh, "name_en": c_en, "slug": c_slug}
            )
    return by_slug


def catalogue_generate(*, products: int, shops: int, log=print) -> None:
    started = time.monotonic()
    _fresh_database(log)
    rng = random.Random(SEED)
    image = _image()
    with transaction.atomic():
        chains = _regions()
        shop_list = _shops(shops, chains)
        categories = _categories()
        classes = {
            slug: ProductClass.objects.create(name=name, slug=slug, requires_shipping=True, track_stock=track)
            for slug, (name, track) in PRODUCT_CLASSES.items()
        }
        certifications = [
            Certification.objects.create(code=code, name=zh, name_en=en) for code, zh, en in CERTIFICATIONS
        ]
    log(f"{len(chains)} villages, {len(shop_list)} shops, {len(categories)} categories")

    with search_index_bulk_writes():
        _products_generate(products, rng, shop_list, categories, classes, certifications, image, log)
    log(f"{products:,} products in {time.monotonic() - started:.0f} s")
    connection.close()


def _products_generate(products, rng, shop_list, categories, classes, certifications, image, log) -> None:
    weights = [kind.weight for kind in KINDS]
    built_from, cpu_from = time.monotonic(), time.process_time()
    for start in range(0, products, BATCH):
        listings = []
        for n in range(start, min(start + BATCH, products)):
            kind = rng.choices(KINDS, weights)[0]
            variety_zh, variety_en = rng.choice(kind.varieties)
            pack_zh, pack_en, grams = rng.choice(kind.packs)
            shop = shop_list[n % len(shop_list)]
            harvest = kind.harvest or (1, 12)
            upc = f"69{n:011d}"
            data = ListingData(
                title=f"{kind.zh}·{variety_zh} {pack_zh}",
                title_en=f"{kind.en}, {variety_en}, {pack_en}",
                category_id=categories[kind.category].pk,
                product_class_id=classes[kind.product_class].pk,
                price=Decimal(rng.randint(*kind.price)) + Decimal("0.80"),
                stock=rng.randint(0, 500),
                variety=variety_zh,
                variety_en=variety_en,
                pack_size=pack_zh,
                pack_size_en=pack_en,
                net_weight_g=grams,
                harvest_start_month=harvest[0],
                harvest_end_month=harvest[1],
                storage=kind.storage,
                perishable=kind.storage == "chilled",
                shelf_life_days=14 if kind.storage == "chilled" else 365,
                grade=rng.choice(["premium", "first", "second", ""]),
                description=DESCRIPTION.format(
                    shop=shop.name, kind=kind.zh, variety=variety_zh, pack=pack_zh
                ),
                description_en=DESCRIPTION_EN.format(
                    shop=shop.name_en, kind=kind.en, variety=variety_en, pack=pack_en
                ),
                certification_ids=tuple(c.pk for c in certifications if rng.random() < 0.25),
                sku=upc,
            )
            # Every photo row points at the one file on disk (its thumbnails are made once, shared).
            listings.append(NewListing(shop=shop, data=data, upc=upc, image=image))
        listings_create_bulk(listings=listings, batch_size=BATCH)
        done = start + len(listings)
        if done % 20000 == 0 or done == products:
            elapsed = time.monotonic() - built_from
            log(
                f"  {done:,} products with stock, photo and search index ({elapsed:.0f} s, "
                f"{done / elapsed:,.0f}/s; {time.process_time() - cpu_from:.0f} s CPU in this process)"
            )
