"""Bulk listing import: real CSV and Excel files built in the test, read, checked and imported."""

import csv
import datetime
import io
import json
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from oscar.core.loading import get_model

from shops import listings_bulk
from shops.imports import (
    ImportFileError,
    ImportRejected,
    import_rows_check,
    import_rows_read,
    listings_import,
    listings_import_template,
    listings_import_template_csv,
)
from tests.factories import ProductClassFactory, ProductFactory, ShopFactory, category

Product = get_model("catalogue", "Product")
StockRecord = get_model("partner", "StockRecord")
Certification = get_model("catalogue", "Certification")

pytestmark = pytest.mark.django_db

HEADER_ZH = ["名称", "分类", "种类", "单价", "库存", "储存", "冷链", "等级", "认证", "编码"]
HEADER_EN = [
    "title",
    "category",
    "kind",
    "price",
    "stock",
    "storage",
    "perishable",
    "grade",
    "certifications",
    "sku",
]


@pytest.fixture
def catalogue():
    fruit = category("鲜果", "Fresh fruit")
    peaches = category("水蜜桃", "Honey peaches", parent=fruit)
    tea = category("茶叶", "Tea")
    green_tea = category("绿茶", "Green tea", parent=tea)
    return {
        "peaches": peaches,
        "green_tea": green_tea,
        "fruit_class": ProductClassFactory(name="鲜果", slug="fresh-fruit"),
        "tea_class": ProductClassFactory(name="茶叶", slug="tea"),
        "gi": Certification.objects.create(code="gi", name="地理标志", name_en="Geographical indication"),
        "green_food": Certification.objects.create(code="green-food", name="绿色食品", name_en="Green Food"),
    }


@pytest.fixture
def shop():
    return ShopFactory(code="farm")


@pytest.fixture
def english():
    with translation.override("en"):
        yield


def peach_row(n: int, **changes) -> list[str]:
    """A row under HEADER_ZH."""
    row = {
        "名称": f"阳山水蜜桃{n}号",
        "分类": "鲜果 > 水蜜桃",
        "种类": "鲜果",
        "单价": "168",
        "库存": "20",
        "储存": "冷藏",
        "冷链": "是",
        "等级": "特级",
        "认证": "地理标志",
        "编码": f"PEACH-{n:04d}",
    }
    row.update(changes)
    return [row[name] for name in HEADER_ZH]


def csv_upload(rows, *, header=HEADER_ZH, encoding="utf-8-sig", name="listings.csv") -> SimpleUploadedFile:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    return SimpleUploadedFile(name, text.getvalue().encode(encoding), content_type="text/csv")


def xlsx_upload(rows, *, header=HEADER_ZH, name="listings.xlsx") -> SimpleUploadedFile:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    output = io.BytesIO()
    workbook.save(output)
    return SimpleUploadedFile(name, output.getvalue())


def future(days: int = 30) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


# The whole journey --------------------------------------------------------------------------------------


def test_a_good_csv_of_500_rows_imports_every_listing_in_one_go(catalogue, shop):
    upload = csv_upload([peach_row(n, 单价=f"{100 + n % 50}.50") for n in range(1, 501)])

    rows = import_rows_read(upload=upload)
    # The page keeps the rows in the session between the preview and the confirmation.
    rows = json.loads(json.dumps(rows))
    preview = import_rows_check(rows=rows, shop=shop)
    products = listings_import(shop=shop, rows=rows)

    assert preview.ok
    assert preview.count == 500
    assert len(products) == 500
    assert Product.objects.filter(shop=shop).count() == 500
    assert StockRecord.objects.filter(partner=shop).count() == 500
    last = StockRecord.objects.get(partner=shop, partner_sku="PEACH-0500")
    assert (last.product.title, last.price, last.num_in_stock) == ("阳山水蜜桃500号", Decimal("100.50"), 20)
    assert list(last.product.categories.all()) == [catalogue["peaches"]]
    assert last.product.product_class == catalogue["fruit_class"]


def test_one_bad_row_imports_nothing_and_the_preview_names_its_row_and_column(catalogue, shop, english):
    # Header on row 1, so the sixth listing is row 7 of the spreadsheet.
    rows = [peach_row(n) for n in range(1, 11)]
    rows[5] = peach_row(6, 单价="abc")
    read = import_rows_read(upload=csv_upload(rows))

    preview = import_rows_check(rows=read, shop=shop)
    with pytest.raises(ImportRejected) as rejected:
        listings_import(shop=shop, rows=read)

    assert not preview.ok
    assert [row.number for row in preview.error_rows] == [7]
    assert preview.error_rows[0].errors == [("单价", "Enter a number.")]
    assert preview.error_rows[0].values["price"] == "abc"
    assert [row.number for row in rejected.value.preview.error_rows] == [7]
    assert not Product.objects.filter(shop=shop).exists()
    assert not StockRecord.objects.filter(partner=shop).exists()


def test_an_xlsx_with_date_and_number_cells_imports(catalogue, shop):
    ship_from = future()
    header = [
        "名称",
        "分类",
        "种类",
        "单价",
        "净重(克)",
        "库存",
        "采收开始月",
        "采收结束月",
        "预售发货日",
        "编码",
    ]
    upload = xlsx_upload(
        [
            ["明前龙井", "茶叶 > 绿茶", "茶叶", 12.5, 250.0, 30, 3, 4, ship_from, 12],
            ["雨前龙井", "绿茶", "tea", 99, 500, 7.0, 4.0, 5.0, None, None],
        ],
        header=header,
    )

    rows = import_rows_read(upload=upload)
    products = listings_import(shop=shop, rows=rows)

    assert rows[0]["price"] == "12.5"
    assert rows[0]["net_weight_g"] == "250"
    assert rows[0]["presale_ship_from"] == ship_from.isoformat()
    assert rows[0]["sku"] == "12"
    assert rows[1]["stock"] == "7"
    presale, plain = products
    presale_stock = StockRecord.objects.get(product=presale)
    assert (presale.net_weight_g, presale.harvest_start_month, presale.harvest_end_month) == (250, 3, 4)
    assert presale.presale_ship_from == ship_from
    assert (presale_stock.price, presale_stock.num_in_stock, presale_stock.partner_sku) == (
        Decimal("12.50"),
        30,
        "12",
    )
    assert plain.presale_ship_from is None
    assert StockRecord.objects.get(product=plain).num_in_stock == 7
    assert list(plain.categories.all()) == [catalogue["green_tea"]]


def test_a_gbk_csv_from_excel_on_chinese_windows_reads(catalogue, shop):
    upload = csv_upload([peach_row(1, 名称="遂昌冬笋", 分类="鲜果", 认证="绿色食品")], encoding="gbk")

    rows = import_rows_read(upload=upload)
    [product] = listings_import(shop=shop, rows=rows)

    assert rows[0]["title"] == "遂昌冬笋"
    assert product.title == "遂昌冬笋"
    assert [c.code for c in product.certifications.all()] == ["green-food"]


@pytest.mark.parametrize(
    ("header", "values"),
    [
        (
            HEADER_ZH,
            ["阳山水蜜桃", "鲜果 > 水蜜桃", "鲜果", "¥168", "20", "冷藏", "是", "特级", "地理标志", "A-1"],
        ),
        (
            HEADER_EN,
            ["Honey peach", "Fresh fruit > Honey peaches", "fresh-fruit", "168", "20", "Chilled", "yes"]
            + ["premium", "gi", "A-1"],
        ),
        (
            [
                "\ufeffTitle ",
                "Category",
                "Kind",
                "Price",
                "Stock",
                "Storage",
                "Perishable",
                "Grade",
                "Certifications",
            ]
            + ["SKU", "Notes"],
            [
                "Honey peach",
                "Honey peaches",
                "鲜果",
                "168.00",
                "20",
                "chilled",
                "TRUE",
                "Premium",
                "GI",
                "A-1",
                "x",
            ],
        ),
    ],
    ids=["chinese", "english", "english-capitalised-with-unknown-column"],
)
def test_chinese_and_english_headers_both_import(catalogue, shop, header, values):
    rows = import_rows_read(upload=csv_upload([values], header=header))
    [product] = listings_import(shop=shop, rows=rows)

    stock = StockRecord.objects.get(product=product)
    assert (stock.partner_sku, stock.price, stock.num_in_stock) == ("A-1", Decimal("168.00"), 20)
    assert (product.storage, product.perishable, product.grade) == ("chilled", True, "premium")
    assert list(product.categories.all()) == [catalogue["peaches"]]
    assert [c.code for c in product.certifications.all()] == ["gi"]


def test_errors_name_the_column_as_the_file_calls_it(catalogue, shop, english):
    rows = import_rows_read(upload=csv_upload([peach_row(1, 单价="abc")], header=["Title", *HEADER_ZH[1:]]))
    rows[0]["title"] = ""

    preview = import_rows_check(rows=rows, shop=shop)

    assert preview.rows[0].errors == [("Title", "This field is required."), ("单价", "Enter a number.")]


def test_blank_rows_are_skipped_and_row_numbers_stay_those_of_the_spreadsheet(catalogue, shop):
    upload = csv_upload([peach_row(1), ["", "", ""], [" "] * len(HEADER_ZH), peach_row(2)])

    rows = import_rows_read(upload=upload)

    assert [row["_row"] for row in rows] == ["2", "5"]
    assert [row.number for row in import_rows_check(rows=rows, shop=shop).rows] == [2, 5]


# Files that cannot be read ------------------------------------------------------------------------------


def test_a_missing_required_column_is_named(english):
    upload = csv_upload([["桃", "鲜果", "鲜果", "20"]], header=["名称", "分类", "种类", "库存"])

    with pytest.raises(ImportFileError, match=r"单价 \(price\)"):
        import_rows_read(upload=upload)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("listings.txt", "名称,单价\n桃,1\n".encode()),
        ("listings.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"),
        ("listings.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100)),
        ("listings", b"a,b\n"),
    ],
)
def test_other_file_types_are_refused(name, content, english):
    with pytest.raises(ImportFileError, match=r"\.csv or \.xlsx"):
        import_rows_read(upload=SimpleUploadedFile(name, content))


def test_a_corrupt_xlsx_is_refused(english):
    good = xlsx_upload([peach_row(1)]).read()

    for content in (
        b"not a zip at all",
        good[: len(good) // 2],
        good.replace(b"xl/worksheets", b"xl/workshxxts"),
    ):
        with pytest.raises(ImportFileError, match="Excel workbook"):
            import_rows_read(upload=SimpleUploadedFile("listings.xlsx", content))


def test_an_xlsx_that_unpacks_to_far_more_than_a_listing_file_is_refused(english):
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", b" " * (60 * 1024 * 1024))

    with pytest.raises(ImportFileError, match="2 MB"):
        import_rows_read(upload=SimpleUploadedFile("listings.xlsx", packed.getvalue()))


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("listings.csv", b""), "empty"),
        (SimpleUploadedFile("listings.csv", b"\xef\xbb\xbf\r\n\r\n"), "empty"),
        (SimpleUploadedFile("listings.csv", "名称,分类,种类,单价,库存\n,,,,\n".encode()), "no listings"),
        (SimpleUploadedFile("listings.csv", b"x" * (2 * 1024 * 1024 + 1)), "2 MB"),
        (SimpleUploadedFile("listings.csv", b"\xff\xfe\x00\x00\x81\x30"), "cannot be read"),
    ],
    ids=["empty", "only-blank-lines", "header-only", "too-large", "not-text"],
)
def test_empty_oversized_and_unreadable_files_are_refused(upload, message, english):
    with pytest.raises(ImportFileError, match=message):
        import_rows_read(upload=upload)


def test_more_than_1000_rows_are_refused(english):
    exactly = import_rows_read(upload=csv_upload([peach_row(n) for n in range(1000)]))
    assert len(exactly) == 1000

    with pytest.raises(ImportFileError, match="more than 1000 listings"):
        import_rows_read(upload=csv_upload([peach_row(n) for n in range(1001)]))


# Row rules ----------------------------------------------------------------------------------------------


def test_a_code_repeated_in_the_file_or_already_in_the_shop_is_a_row_error(catalogue, shop, english):
    ProductFactory(shop=shop, upc="OLD")  # its stock record's code is SKU-OLD
    rows = import_rows_read(
        upload=csv_upload([peach_row(1, 编码="P-1"), peach_row(2, 编码="SKU-OLD"), peach_row(3, 编码="P-1")])
    )

    preview = import_rows_check(rows=rows, shop=shop)

    assert [(row.number, row.errors) for row in preview.error_rows] == [
        (3, [("编码", "The shop already has a listing with the code “SKU-OLD”.")]),
        (4, [("编码", "The code “P-1” is also used on row 2.")]),
    ]
    with pytest.raises(ImportRejected):
        listings_import(shop=shop, rows=rows)
    assert Product.objects.filter(shop=shop).count() == 1


def test_a_failure_inside_listing_create_on_a_late_row_rolls_back_the_earlier_rows(catalogue, shop, english):
    # Rows without a code get the shop's next automatic code (FARM-0001, FARM-0002 …) as they are saved,
    # so the fourth row's own code, free when checked, is taken by the time that row is saved.
    rows = import_rows_read(
        upload=csv_upload(
            [
                peach_row(1, 编码=""),
                peach_row(2, 编码=""),
                peach_row(3, 编码=""),
                peach_row(4, 编码="FARM-0002"),
            ]
        )
    )
    assert import_rows_check(rows=rows, shop=shop).ok

    with pytest.raises(ImportRejected) as rejected:
        listings_import(shop=shop, rows=rows)

    assert [(row.number, row.errors) for row in rejected.value.preview.error_rows] == [
        (5, [("", "The shop already has a listing with the code “FARM-0002”.")])
    ]
    assert not Product.objects.filter(shop=shop).exists()
    assert not StockRecord.objects.filter(partner=shop).exists()


def test_a_listing_saved_meanwhile_with_a_rows_code_rolls_back_the_import(
    catalogue, shop, english, monkeypatch
):
    # The competitor saves its listing with code LATE-1 right after the bulk write has read which codes
    # the shop uses, and before it writes the stock records.
    assign = listings_bulk._skus_assign

    def assign_then_competitor(listings):
        skus = assign(listings)
        other = ProductFactory(shop=shop, title="别家的桃", upc="OTHER")
        StockRecord.objects.filter(product=other).update(partner_sku="LATE-1")
        return skus

    rows = import_rows_read(upload=csv_upload([peach_row(1), peach_row(2), peach_row(3, 编码="LATE-1")]))
    monkeypatch.setattr(listings_bulk, "_skus_assign", assign_then_competitor)
    with pytest.raises(ImportRejected) as rejected:
        listings_import(shop=shop, rows=rows)

    [failed] = rejected.value.preview.error_rows
    assert (failed.number, failed.errors) == (
        4,
        [("", "This row could not be saved because the shop's listings changed meanwhile; try again.")],
    )
    assert not Product.objects.filter(shop=shop).exists()


def test_a_pre_sale_row_must_ship_after_today(catalogue, shop, english):
    header = [*HEADER_ZH, "预售发货日"]
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    rows = import_rows_read(
        upload=csv_upload(
            [
                peach_row(1) + [yesterday.isoformat()],
                peach_row(2) + ["{0.year}/{0.month}/{0.day}".format(future())],
            ],
            header=header,
        )
    )

    preview = import_rows_check(rows=rows, shop=shop)

    assert [(row.number, row.errors) for row in preview.error_rows] == [
        (2, [("预售发货日", "The ship-from date of a pre-sale must be in the future.")])
    ]
    assert preview.rows[1].errors == []


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (("常温", "否", "二级"), ("ambient", False, "second")),
        (("冷藏", "是", "一级"), ("chilled", True, "first")),
        (("冷冻", "需要", "特级"), ("frozen", True, "premium")),
        (("", "", ""), ("ambient", False, "")),
    ],
)
def test_storage_cold_chain_and_grade_words_in_chinese_map_to_the_listing(catalogue, shop, words, expected):
    storage, perishable, grade = words
    rows = import_rows_read(upload=csv_upload([peach_row(1, 储存=storage, 冷链=perishable, 等级=grade)]))

    [product] = listings_import(shop=shop, rows=rows)

    assert (product.storage, product.perishable, product.grade) == expected


def test_unknown_words_and_names_are_row_errors_on_their_columns(catalogue, shop, english):
    rows = import_rows_read(
        upload=csv_upload(
            [
                peach_row(
                    1, 储存="冰箱", 冷链="也许", 等级="三级", 分类="苹果", 种类="水果", 认证="地理标志、有机"
                )
            ]
        )
    )

    [row] = import_rows_check(rows=rows, shop=shop).rows

    assert dict(row.errors) == {
        "分类": "There is no category called “苹果”.",
        "种类": "There is no kind called “水果”.",
        "认证": "There is no certification called “有机”.",
        "储存": "Storage must be 常温, 冷藏 or 冷冻 (ambient, chilled or frozen).",
        "等级": "Grade must be 特级, 一级 or 二级 (premium, first or second), or empty.",
        "冷链": "Cold chain must be 是 or 否 (yes or no).",
    }


def test_certifications_by_chinese_name_with_any_separator(catalogue, shop):
    rows = import_rows_read(
        upload=csv_upload(
            [
                peach_row(1, 认证="地理标志、绿色食品"),
                peach_row(2, 认证="绿色食品， 地理标志"),
                peach_row(3, 认证=""),
            ]
        )
    )

    products = listings_import(shop=shop, rows=rows)

    assert [sorted(c.code for c in p.certifications.all()) for p in products] == [
        ["gi", "green-food"],
        ["gi", "green-food"],
        [],
    ]


def test_a_category_name_used_twice_needs_its_path(catalogue, shop, english):
    category("水蜜桃", "Honey peaches", parent=category("礼盒", "Gift boxes"))
    rows = import_rows_read(
        upload=csv_upload([peach_row(1, 分类="水蜜桃"), peach_row(2, 分类="礼盒 > 水蜜桃")])
    )

    preview = import_rows_check(rows=rows, shop=shop)

    assert [(row.number, row.errors) for row in preview.error_rows] == [
        (2, [("分类", "More than one category is called “水蜜桃”; write its path, e.g. “礼盒 > 水蜜桃”.")])
    ]


def test_rows_are_checked_again_on_import(catalogue, shop, english):
    rows = import_rows_read(upload=csv_upload([peach_row(1)]))
    assert import_rows_check(rows=rows, shop=shop).ok
    catalogue["peaches"].is_public = False
    catalogue["peaches"].save()

    with pytest.raises(ImportRejected) as rejected:
        listings_import(shop=shop, rows=rows)

    assert rejected.value.preview.rows[0].errors == [("分类", "There is no category called “鲜果 > 水蜜桃”.")]
    assert not Product.objects.exists()


# Templates ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [("template.xlsx", listings_import_template), ("template.csv", listings_import_template_csv)],
)
def test_the_templates_example_row_reads_and_imports(catalogue, shop, name, content):
    data = content()

    rows = import_rows_read(upload=SimpleUploadedFile(name, data))
    [product] = listings_import(shop=shop, rows=rows)

    assert product.title == "阳山水蜜桃"
    assert sorted(c.code for c in product.certifications.all()) == ["gi", "green-food"]
    if name.endswith(".csv"):
        assert data.startswith(b"\xef\xbb\xbf")
        assert data.decode("utf-8-sig").splitlines()[0].startswith("名称,英文名称,分类,种类")
