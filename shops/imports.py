"""Bulk listing import: a farmer uploads a spreadsheet (CSV or Excel) of listings, sees every row checked
by the same rules as the phone form (``shops.forms.ListingForm``), and confirms; then all rows become
listings in one transaction, or none do.

The flow is three calls: ``import_rows_read`` turns the upload into plain rows (JSON-serialisable, so the
page can keep them in the session between preview and confirm), ``import_rows_check`` gives the preview,
and ``listings_import`` checks the rows again and creates the listings.
"""

import csv
import datetime
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import openpyxl
from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError
from django.db.models import Model
from django.utils.translation import gettext as _
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from oscar.core.loading import get_model

from shops.forms import ListingForm
from shops.listings import ListingData, ListingError
from shops.listings_bulk import ListingCodeTaken, ListingRowError, NewListing, listings_create_bulk

Product = get_model("catalogue", "Product")
Category = get_model("catalogue", "Category")
ProductClass = get_model("catalogue", "ProductClass")
Certification = get_model("catalogue", "Certification")
StockRecord = get_model("partner", "StockRecord")
Partner = get_model("partner", "Partner")

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ROWS = 1000
SHORT_LABEL_CHARS = 5  # a template column this narrow is drawn narrower
# An Excel sheet can hold rows that only carry formatting far below the data; reading stops here so a
# small file cannot keep a worker busy walking a million empty rows.
MAX_SHEET_ROWS = 20 * MAX_ROWS
# 1000 rows of listings unpack to a few MB at most.
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
ROW_KEY = "_row"
# A row remembers how the file named a column when that differs from the canonical Chinese label, so an
# error names the column the farmer sees: ``"_label.price": "Price"``.
LABEL_KEY_PREFIX = "_label."


@dataclass(frozen=True)
class ImportColumn:
    """One column an import file may have: ``field`` is the key of a read row, ``label`` the Chinese
    header of the template, ``label_en`` the English header; ``aliases`` are other headers accepted."""

    field: str
    label: str
    label_en: str
    form_field: str
    required: bool = False
    aliases: tuple[str, ...] = ()


IMPORT_COLUMNS: tuple[ImportColumn, ...] = (
    ImportColumn("title", "名称", "title", "title", required=True, aliases=("商品名称", "品名", "name")),
    ImportColumn("title_en", "英文名称", "title_en", "title_en", aliases=("英文名", "english name")),
    ImportColumn("category", "分类", "category", "category", required=True, aliases=("类目", "商品分类")),
    ImportColumn(
        "kind", "种类", "kind", "product_class", required=True, aliases=("product_class", "商品种类")
    ),
    ImportColumn("variety", "品种", "variety", "variety"),
    ImportColumn("variety_en", "英文品种", "variety_en", "variety_en"),
    ImportColumn("price", "单价", "price", "price", required=True, aliases=("价格", "售价", "单价(元)")),
    ImportColumn("pack", "规格", "pack", "pack_size", aliases=("pack_size", "包装")),
    ImportColumn("pack_en", "英文规格", "pack_en", "pack_size_en", aliases=("pack_size_en",)),
    ImportColumn(
        "net_weight_g", "净重(克)", "net_weight_g", "net_weight_g", aliases=("净重", "net weight (g)")
    ),
    ImportColumn("stock", "库存", "stock", "stock", required=True, aliases=("库存(箱)", "数量")),
    ImportColumn(
        "harvest_from", "采收开始月", "harvest_from", "harvest_start_month", aliases=("harvest_start_month",)
    ),
    ImportColumn(
        "harvest_to", "采收结束月", "harvest_to", "harvest_end_month", aliases=("harvest_end_month",)
    ),
    ImportColumn("storage", "储存", "storage", "storage", aliases=("储存方式",)),
    ImportColumn("perishable", "冷链", "perishable", "perishable", aliases=("需要冷链",)),
    ImportColumn("shelf_life_days", "保质期(天)", "shelf_life_days", "shelf_life_days", aliases=("保质期",)),
    ImportColumn("grade", "等级", "grade", "grade"),
    ImportColumn("certifications", "认证", "certifications", "certifications"),
    ImportColumn("description", "描述", "description", "description", aliases=("商品描述",)),
    ImportColumn("description_en", "英文描述", "description_en", "description_en"),
    ImportColumn(
        "presale_ship_from", "预售发货日", "presale_ship_from", "presale_ship_from", aliases=("预售发货日期",)
    ),
    ImportColumn("sku", "编码", "sku", "sku", aliases=("商品编码", "货号", "code")),
)
_COLUMNS_BY_FIELD = {column.field: column for column in IMPORT_COLUMNS}
# The form's ``presale`` box has no column: a row with a ship-from date is a pre-sale row.
_FIELD_BY_FORM_FIELD = {column.form_field: column.field for column in IMPORT_COLUMNS} | {
    "presale": "presale_ship_from"
}

_STORAGE_WORDS = {
    "常温": Product.Storage.AMBIENT,
    "冷藏": Product.Storage.CHILLED,
    "冷冻": Product.Storage.FROZEN,
    **{choice.value: choice.value for choice in Product.Storage},
}
_GRADE_WORDS = {
    "特级": Product.Grade.PREMIUM,
    "一级": Product.Grade.FIRST,
    "二级": Product.Grade.SECOND,
    "first grade": Product.Grade.FIRST,
    "second grade": Product.Grade.SECOND,
    **{choice.value: choice.value for choice in Product.Grade},
}
_YES_NO_WORDS = {
    **dict.fromkeys(("是", "需要", "yes", "y", "true", "1", "√", "✓"), "true"),
    **dict.fromkeys(("否", "不需要", "no", "n", "false", "0", "×", "✗"), "false"),
}
_LIST_SEPARATORS = re.compile(r"[、,，;；\n]")
_PATH_SEPARATOR = ">"
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ t]0{1,2}:00(?::00)?)?$")
_MONTH = re.compile(r"^(\d{1,2})\s*月?$")
_MONEY_MARKS = re.compile(r"^[¥￥]\s*|\s*元$")


class ImportFileError(ValueError):
    """The upload cannot be read as a listing file at all (format, size, header)."""


@dataclass(frozen=True)
class ImportRow:
    """One listing row of the file: ``number`` is the row as the spreadsheet shows it (the header is row
    1), ``values`` the raw values by field, ``errors`` pairs of (column label, message); an empty label
    means the row as a whole."""

    number: int
    values: dict[str, str]
    errors: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class ImportPreview:
    """The checked rows of an import file."""

    rows: list[ImportRow]

    @property
    def ok(self) -> bool:
        return not any(row.errors for row in self.rows)

    @property
    def error_rows(self) -> list[ImportRow]:
        return [row for row in self.rows if row.errors]

    @property
    def count(self) -> int:
        return len(self.rows)


class ImportRejected(Exception):
    """Some rows have errors (or one failed while saving); nothing was imported."""

    def __init__(self, preview: ImportPreview) -> None:
        super().__init__(_("Some rows have errors; nothing was imported."))
        self.preview = preview


# Reading the file -------------------------------------------------------------------------------------


def _normalised(text: str) -> str:
    # NFKC folds full-width letters and brackets (“净重（克）”, “ｐｒｉｃｅ”) into their plain forms.
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _header_key(text: str) -> str:
    key = _normalised(text.replace("\ufeff", "")).strip("*").strip()
    return re.sub(r"[\s\-]+", "_", key)


_FIELD_BY_HEADER = {
    _header_key(name): column.field
    for column in IMPORT_COLUMNS
    for name in (column.label, column.label_en, column.field, column.form_field, *column.aliases)
}


def _cell_text(value: object) -> str:  # noqa: PLR0911
    """A cell as the farmer sees it: dates in ISO form, whole numbers without “.0”."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, float):
        # 15 significant digits drop the binary noise of a formula's result (0.1 + 0.2).
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value).replace("\ufeff", "").strip()


def _csv_records(data: bytes) -> Iterator[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError(_("The file's text cannot be read; save it as “CSV UTF-8” and try again."))
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count)
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    except csv.Error as error:
        raise ImportFileError(_("The file cannot be read as CSV; save it again as .csv or .xlsx.")) from error


def _xlsx_records(data: bytes) -> Iterator[tuple]:
    unreadable = _("The file cannot be read as an Excel workbook; save it again as .xlsx.")
    # A damaged workbook makes openpyxl, zipfile and zlib raise almost anything (BadZipFile, KeyError,
    # zlib.error, NotImplementedError, XML parse errors …), when opening it or, as read-only mode reads
    # lazily, only when the damaged part of the sheet is reached. Any of them means "cannot be read".
    try:
        # An .xlsx is a zip; a small one that unpacks to gigabytes (a “zip bomb”) is refused unopened.
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
        if unpacked > MAX_UNPACKED_BYTES:
            raise ImportFileError(_too_large())
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except ImportFileError:
        raise
    except Exception as error:
        raise ImportFileError(unreadable) from error
    try:
        if not workbook.worksheets:
            raise ImportFileError(unreadable)
        sheet = workbook.worksheets[0]
        # The size a sheet declares is sometimes wrong (files written by other programs); read what is there.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(min_row=1, values_only=True)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except Exception as error:
                raise ImportFileError(unreadable) from error
            yield row
    finally:
        workbook.close()


def _file_format(name: str) -> str:
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    if suffix not in ("csv", "xlsx"):
        raise ImportFileError(
            _("Upload a .csv or .xlsx file (in Excel: Save As › Excel Workbook or CSV UTF-8).")
        )
    return suffix


def _header_read(cells: list[str]) -> dict[int, tuple[str, str]]:
    """Which field each column of the header holds: {index: (field, label as the file writes it)}."""
    columns: dict[int, tuple[str, str]] = {}
    seen: dict[str, str] = {}
    for index, cell in enumerate(cells):
        field_name = _FIELD_BY_HEADER.get(_header_key(cell)) if cell else None
        if field_name is None:
            continue
        if field_name in seen:
            raise ImportFileError(
                _("The columns “%(first)s” and “%(second)s” are the same column; keep one of them.")
                % {"first": seen[field_name], "second": cell}
            )
        seen[field_name] = cell
        columns[index] = (field_name, cell)
    missing = [column for column in IMPORT_COLUMNS if column.required and column.field not in seen]
    if missing:
        names = ", ".join(f"{column.label} ({column.label_en})" for column in missing)
        raise ImportFileError(
            _("The file has no column for %(columns)s. Download the template to see the columns.")
            % {"columns": names}
        )
    return columns


def import_rows_read(*, upload: UploadedFile) -> list[dict[str, str]]:  # noqa: PLR0912
    """The listing rows of an uploaded .csv or .xlsx file (a Django ``UploadedFile``), as
    ``{field: value}`` dicts of strings with the spreadsheet's row number under ``"_row"``.

    Raises ``ImportFileError`` for a file that is not .csv/.xlsx, empty, over 2 MB, has more than 1000
    rows, lacks a required column or cannot be read."""
    file_format = _file_format(upload.name or "")
    if upload.size is not None and upload.size > MAX_FILE_BYTES:
        raise ImportFileError(_too_large())
    data = upload.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(_too_large())
    if not data.strip():
        raise ImportFileError(_("The file is empty."))
    records = _csv_records(data) if file_format == "csv" else _xlsx_records(data)

    columns: dict[int, tuple[str, str]] | None = None
    rows: list[dict[str, str]] = []
    for number, record in enumerate(records, start=1):
        if number > MAX_SHEET_ROWS:
            raise ImportFileError(_too_many_rows())
        cells = [_cell_text(value) for value in record]
        if columns is None:
            if any(cells):
                columns = _header_read(cells)
            continue
        values = {
            name: (cells[index] if index < len(cells) else "") for index, (name, _label) in columns.items()
        }
        if not any(values.values()):
            continue
        if len(rows) == MAX_ROWS:
            raise ImportFileError(_too_many_rows())
        row = {ROW_KEY: str(number), **values}
        for name, label in columns.values():
            if label != _COLUMNS_BY_FIELD[name].label:
                row[LABEL_KEY_PREFIX + name] = label
        rows.append(row)
    if columns is None:
        raise ImportFileError(_("The file is empty."))
    if not rows:
        raise ImportFileError(_("The file has a header row but no listings under it."))
    return rows


def _too_large() -> str:
    return _("The file is larger than 2 MB; split it into smaller files.")


def _too_many_rows() -> str:
    return _("The file has more than %(count)s listings; split it into smaller files.") % {"count": MAX_ROWS}


# Checking the rows ------------------------------------------------------------------------------------


def _path_key(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in _normalised(text).split(_PATH_SEPARATOR))


class _CatalogueNames:
    """The names a row may use for categories, kinds and certifications, loaded once per check."""

    def __init__(self) -> None:
        every = {
            c.path: c for c in Category.objects.only("pk", "path", "depth", "name", "name_en", "is_public")
        }
        self.categories: dict[tuple[str, ...], dict[int, str]] = {}
        self.category_objects: dict[int, Model] = {}
        for category in every.values():
            if not category.is_public:
                continue
            self.category_objects[category.pk] = category
            chain = [
                every.get(category.path[: Category.steplen * depth]) for depth in range(1, category.depth + 1)
            ]
            if None in chain:
                continue
            full_name = " > ".join(c.name for c in chain)
            # A category answers to its name, its English name and any tail of its path in either language.
            for names in ([c.name for c in chain], [c.name_en or c.name for c in chain]):
                for start in range(len(names)):
                    key = _path_key(" > ".join(names[start:]))
                    self.categories.setdefault(key, {})[category.pk] = full_name
        self.kinds: dict[str, dict[int, str]] = {}
        self.kind_objects: dict[int, Model] = {}
        for kind in ProductClass.objects.only("pk", "name", "name_en", "slug"):
            self.kind_objects[kind.pk] = kind
            for name in (kind.name, kind.name_en, kind.slug):
                if name:
                    self.kinds.setdefault(_normalised(name), {})[kind.pk] = kind.slug
        self.certifications: dict[str, int] = {}
        self.certification_objects: dict[int, Model] = {}
        for certification in Certification.objects.all():
            self.certification_objects[certification.pk] = certification
            for name in (certification.code, certification.name, certification.name_en):
                if name:
                    self.certifications.setdefault(_normalised(name), certification.pk)

    def category(self, text: str) -> int:
        found = self.categories.get(_path_key(text), {})
        if not found:
            raise ListingError(_("There is no category called “%(name)s”.") % {"name": text})
        if len(found) > 1:
            raise ListingError(
                _("More than one category is called “%(name)s”; write its path, e.g. “%(path)s”.")
                % {"name": text, "path": sorted(found.values())[0]}
            )
        return next(iter(found))

    def kind(self, text: str) -> int:
        found = self.kinds.get(_normalised(text), {})
        if not found:
            raise ListingError(_("There is no kind called “%(name)s”.") % {"name": text})
        if len(found) > 1:
            raise ListingError(
                _("More than one kind is called “%(name)s”; write its code instead (%(codes)s).")
                % {"name": text, "codes": ", ".join(sorted(found.values()))}
            )
        return next(iter(found))

    def certification_ids(self, text: str) -> list[int]:
        ids = []
        for name in filter(None, (part.strip() for part in _LIST_SEPARATORS.split(text))):
            pk = self.certifications.get(_normalised(name))
            if pk is None:
                raise ListingError(_("There is no certification called “%(name)s”.") % {"name": name})
            ids.append(pk)
        return ids


class _KnownChoiceField(forms.Field):
    """A choice among objects read once per file (by primary key) instead of a query per row."""

    default_error_messages = forms.ModelChoiceField.default_error_messages

    def __init__(self, *, objects: Mapping[int, Model], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.objects = objects

    def _object(self, value: object) -> Model:
        found = self.objects.get(value) if isinstance(value, int) else None
        if found is None:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return found

    def to_python(self, value: object) -> Model | None:
        return None if value in self.empty_values else self._object(value)


class _KnownMultipleChoiceField(_KnownChoiceField):
    def to_python(self, value: object) -> list[Model]:  # type: ignore[override]
        return [self._object(pk) for pk in value or ()]  # type: ignore[attr-defined]


class _ImportListingForm(ListingForm):
    """The listing form for a row whose names ``_form_data`` already turned into primary keys: the
    category, kind and certifications are looked up among those read once per file, so checking a
    file takes the same few queries for 10 rows as for 1000."""

    def __init__(self, *args: Any, names: "_CatalogueNames", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, objects, field_class in (
            ("category", names.category_objects, _KnownChoiceField),
            ("product_class", names.kind_objects, _KnownChoiceField),
            ("certifications", names.certification_objects, _KnownMultipleChoiceField),
        ):
            original = self.fields[name]
            self.fields[name] = field_class(objects=objects, label=original.label, required=original.required)


def _word(text: str, words: dict[str, str], message: str) -> str:
    try:
        return words[_normalised(text)]
    except KeyError:
        raise ListingError(message) from None


def _storage(text: str) -> str:
    if not text:
        return Product.Storage.AMBIENT
    return _word(text, _STORAGE_WORDS, _("Storage must be 常温, 冷藏 or 冷冻 (ambient, chilled or frozen)."))


def _grade(text: str) -> str:
    if not text:
        return ""
    return _word(
        text, _GRADE_WORDS, _("Grade must be 特级, 一级 or 二级 (premium, first or second), or empty.")
    )


def _perishable(text: str) -> str:
    if not text:
        return "false"
    return _word(text, _YES_NO_WORDS, _("Cold chain must be 是 or 否 (yes or no)."))


def _month(text: str) -> str:
    match = _MONTH.match(_normalised(text))
    return str(int(match.group(1))) if match else text


def _date(text: str) -> str:
    match = _DATE.match(_normalised(text))
    if not match:
        return text
    try:
        return datetime.date(*(int(part) for part in match.groups())).isoformat()
    except ValueError:
        return text


def _form_data(values: dict[str, str], names: _CatalogueNames) -> tuple[dict, dict[str, str]]:
    """The listing form's data for a row's human values (names become primary keys, words become
    codes), and the errors of values that name nothing we know, by field."""
    data: dict = {column.form_field: values.get(column.field, "").strip() for column in IMPORT_COLUMNS}
    errors: dict[str, str] = {}
    lookups = (
        ("category", "category", lambda text: names.category(text) if text else ""),
        ("kind", "product_class", lambda text: names.kind(text) if text else ""),
        ("certifications", "certifications", names.certification_ids),
        ("storage", "storage", _storage),
        ("grade", "grade", _grade),
        ("perishable", "perishable", _perishable),
    )
    for field_name, form_field, lookup in lookups:
        try:
            data[form_field] = lookup(data[form_field])
        except ListingError as error:
            errors[field_name] = str(error)
            # The form's own complaint about this field would only repeat ours; it is left out.
            data[form_field] = [] if form_field == "certifications" else ""
    data["price"] = _MONEY_MARKS.sub("", data["price"])
    data["harvest_start_month"] = _month(data["harvest_start_month"])
    data["harvest_end_month"] = _month(data["harvest_end_month"])
    data["presale_ship_from"] = _date(data["presale_ship_from"])
    data["presale"] = "true" if data["presale_ship_from"] else "false"
    return data, errors


def _label(row: dict[str, str], field_name: str) -> str:
    return row.get(LABEL_KEY_PREFIX + field_name) or _COLUMNS_BY_FIELD[field_name].label


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _rows_check(
    *, rows: list[dict[str, str]], shop: "Partner"
) -> tuple[ImportPreview, list[ListingData | None]]:
    """The preview of ``rows`` and, row by row, the listing each one describes (None for a row the
    form refused)."""
    names = _CatalogueNames()
    checked: list[ImportRow] = []
    listings: list[ListingData | None] = []
    first_row_of_sku: dict[str, int] = {}
    for index, row in enumerate(rows):
        number = int(row.get(ROW_KEY) or index + 2)
        values = {name: _text(row[name]) for name in _COLUMNS_BY_FIELD if name in row}
        data, mapping_errors = _form_data(values, names)
        errors = [(_label(row, name), message) for name, message in mapping_errors.items()]
        form = _ImportListingForm(data=data, names=names)
        listings.append(form.listing_data() if form.is_valid() else None)
        for form_field, messages in form.errors.items():
            field_name = _FIELD_BY_FORM_FIELD.get(form_field)
            if field_name in mapping_errors:
                continue
            label = _label(row, field_name) if field_name else ""
            errors.extend((label, str(message)) for message in messages)
        sku = data["sku"]
        if sku in first_row_of_sku:
            message = _("The code “%(sku)s” is also used on row %(row)s.") % {
                "sku": sku,
                "row": first_row_of_sku[sku],
            }
            errors.append((_label(row, "sku"), message))
        elif sku:
            first_row_of_sku[sku] = number
        checked.append(ImportRow(number=number, values=values, errors=errors))

    taken = set(
        StockRecord.objects.filter(partner=shop, partner_sku__in=list(first_row_of_sku)).values_list(
            "partner_sku", flat=True
        )
    )
    for row, checked_row in zip(rows, checked, strict=True):
        sku = checked_row.values.get("sku", "").strip()
        if sku in taken:
            message = _("The shop already has a listing with the code “%(sku)s”.") % {"sku": sku}
            checked_row.errors.append((_label(row, "sku"), message))
    return ImportPreview(rows=checked), listings


def import_rows_check(*, rows: list[dict[str, str]], shop: "Partner") -> ImportPreview:
    """Check every row as the listing form would, plus codes (SKUs) repeated in the file or already
    used by ``shop``. Errors name the column as the file's header does."""
    preview, _listings = _rows_check(rows=rows, shop=shop)
    return preview


def listings_import(
    *, shop: "Partner", rows: list[dict[str, str]], actor: AbstractBaseUser | None = None
) -> list["Product"]:
    """Create a listing for every row, all or none, through ``listings_create_bulk`` (a few queries
    per batch of rows, the search index written once per batch). The rows are checked again (they may
    have waited in the session while the farmer looked at the preview); any error raises
    ``ImportRejected`` and nothing is created, as does a row that fails while saving (the preview then
    names that row)."""
    preview, listings = _rows_check(rows=rows, shop=shop)
    ready = [data for data in listings if data is not None]
    if not preview.ok or len(ready) != len(listings):
        raise ImportRejected(preview)
    meanwhile = _("This row could not be saved because the shop's listings changed meanwhile; try again.")
    try:
        return listings_create_bulk(listings=[NewListing(shop=shop, data=data) for data in ready])
    except ListingCodeTaken as error:
        # Another request saved a listing with this row's code between the check and the write.
        preview.rows[error.index].errors.append(("", meanwhile))
        raise ImportRejected(preview) from error
    except ListingRowError as error:
        preview.rows[error.index].errors.append(("", str(error)))
        raise ImportRejected(preview) from error
    except IntegrityError as error:
        preview.rows[0].errors.append(("", meanwhile))
        raise ImportRejected(preview) from error


# Templates --------------------------------------------------------------------------------------------

_TEMPLATE_EXAMPLE = {
    "title": "阳山水蜜桃",
    "title_en": "Yangshan honey peaches",
    "category": "鲜果 > 水蜜桃",
    "kind": "鲜果",
    "variety": "湖景蜜露",
    "variety_en": "Hujing milky peach",
    "price": "168",
    "pack": "12个装礼盒",
    "pack_en": "Gift box of 12",
    "net_weight_g": "3000",
    "stock": "50",
    "harvest_from": "6",
    "harvest_to": "8",
    "storage": "冷藏",
    "perishable": "是",
    "shelf_life_days": "5",
    "grade": "特级",
    "certifications": "地理标志、绿色食品",
    "description": "树上熟透才摘，当天冷链发出。",
    "description_en": "Picked ripe from the tree and sent in the cold chain the same day.",
    "presale_ship_from": "",
    "sku": "",
}


def listings_import_template() -> bytes:
    """An Excel workbook with the Chinese headers and one example row, for farmers to fill in."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "商品"
    sheet.append([column.label for column in IMPORT_COLUMNS])
    sheet.append([_TEMPLATE_EXAMPLE[column.field] for column in IMPORT_COLUMNS])
    for index, column in enumerate(IMPORT_COLUMNS, start=1):
        sheet.cell(row=1, column=index).font = Font(bold=column.required)
        sheet.column_dimensions[get_column_letter(index)].width = (
            14 if len(column.label) < SHORT_LABEL_CHARS else 18
        )
    # Codes stay text, so that Excel keeps “0012” as typed instead of turning it into 12.
    sku_letter = get_column_letter(list(_COLUMNS_BY_FIELD).index("sku") + 1)
    for row in range(2, MAX_ROWS + 2):
        sheet[f"{sku_letter}{row}"].number_format = "@"
    sheet.freeze_panes = "A2"
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def listings_import_template_csv() -> bytes:
    """The same template as CSV, UTF-8 with a BOM so that Excel opens the Chinese text correctly."""
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow([column.label for column in IMPORT_COLUMNS])
    writer.writerow([_TEMPLATE_EXAMPLE[column.field] for column in IMPORT_COLUMNS])
    return ("\ufeff" + output.getvalue()).encode("utf-8")
