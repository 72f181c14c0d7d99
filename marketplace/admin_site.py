"""The Django admin's default site, on which every ModelAdmin (Oscar's and ours, with their inlines) answers a
hand-made request with a form error or a message, never a server error: ids that are text or too large
for the database in autocomplete fields, many-to-many fields and action selections; a drill-down date at
the calendar's edge; a filter no field has, on a view other than the change list; a model whose own
validation reads relations a field error left unset; an "add" form that cannot set a required relation;
an offer's ``proxy_class`` that does not load. It is the default site through marketplace.admin_config
(Django's documented way to replace it)."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from functools import cache, wraps
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core.exceptions import BadRequest, ImproperlyConfigured, ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from oscar.apps.offer.utils import load_proxy

from marketplace.form_fields import DAY_MAX, DAY_MIN, ID_MAX, BoundedModelMultipleChoiceField

_View = TypeVar("_View", bound=Callable[..., Any])

if TYPE_CHECKING:
    # The mixins below are put in front of Django's classes at run time; mypy checks them against those.
    _ChoicesBase = AutocompleteSelect
    _ChangeListBase = ChangeList
    _ModelFormBase = forms.ModelForm[Any]
    _ModelAdminBase = admin.ModelAdmin[Any]
else:
    _ChoicesBase = _ChangeListBase = _ModelFormBase = _ModelAdminBase = object


def value_fits(field: models.Field[Any, Any], value: object) -> bool:
    """Whether ``value`` can be looked up in ``field`` (a number for a numeric key, within its range)."""
    try:
        python = field.to_python(value)
    except (ValidationError, ValueError, TypeError):
        return False
    return not isinstance(python, int) or -ID_MAX - 1 <= python <= ID_MAX


class _FittingChoicesMixin(_ChoicesBase):
    """An autocomplete widget that shows a posted value only when it can be looked up (Django's looks up
    whatever was posted, and fails on text where a number is wanted)."""

    def optgroups(
        self, name: str, value: Sequence[str], attr: dict[str, Any] | None = None
    ) -> list[tuple[str | None, list[dict[str, Any]], int | None]]:
        opts = self.field.remote_field.model._meta
        target = opts.get_field(getattr(self.field.remote_field, "field_name", opts.pk.attname))
        return super().optgroups(name, [v for v in value if value_fits(target, v)], attr)


class FittingAutocompleteSelect(_FittingChoicesMixin, AutocompleteSelect):
    pass


class FittingAutocompleteSelectMultiple(_FittingChoicesMixin, AutocompleteSelectMultiple):
    pass


class _BoundedDateHierarchyMixin(_ChangeListBase):
    """A change list whose date drill-down (``?<field>__year=…&__month=…&__day=…``) names a real day between
    DAY_MIN and DAY_MAX; any other is the admin's "incorrect lookup" page, where Django's overflowed."""

    def get_filters(self, request: HttpRequest) -> tuple[Any, ...]:
        if self.date_hierarchy:
            params = self.get_filters_params()
            parts = [params.get(f"{self.date_hierarchy}__{part}") for part in ("year", "month", "day")]
            if parts[0] is not None:
                try:
                    day = datetime.date(*(int(part[-1]) if part else 1 for part in parts))
                except (ValueError, OverflowError, TypeError) as error:
                    raise IncorrectLookupParameters(error) from error
                if not DAY_MIN <= day <= DAY_MAX:
                    raise IncorrectLookupParameters(f"{day} is out of reach")
        return super().get_filters(request)


@cache
def _bounded_change_list(base: type) -> type:
    return type(base.__name__, (_BoundedDateHierarchyMixin, base), {"__module__": __name__})


class _ValidatedModelFormMixin(_ModelFormBase):
    """The model's own validation runs once the form's fields are valid: Oscar's models read relations in
    their ``clean`` and ``validate_unique`` that a field error left unset. Oscar's offer conditions,
    benefits and ranges name their Python class in ``proxy_class`` and a condition or benefit without
    one needs a known ``type``: anything else made the object's own admin page fail."""

    def _post_clean(self) -> None:
        if self._errors:  # type: ignore[attr-defined]  # Django's private form state, not in its stubs
            return
        super()._post_clean()  # type: ignore[misc]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        model = self._meta.model
        path = data.get("proxy_class")
        if path:
            try:
                loaded = load_proxy(path)
            except (ImproperlyConfigured, ValueError):
                loaded = None
            expected = model if hasattr(model, "proxy_map") else object
            if not (isinstance(loaded, type) and issubclass(loaded, expected)):
                self.add_error("proxy_class", ValidationError(RegexValidator.message, code="invalid"))
        elif (
            hasattr(model, "proxy_map")
            and "type" in self.fields
            and data.get("type") not in model().proxy_map
        ):
            self.add_error(
                "type", ValidationError(forms.Field.default_error_messages["required"], code="required")
            )
        return data


class HostileInputAdminMixin(_ModelAdminBase):
    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField[Any] | None:
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = FittingAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(
        self, db_field: models.ManyToManyField[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.ModelMultipleChoiceField[Any] | None:
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = FittingAutocompleteSelectMultiple(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        kwargs.setdefault("form_class", BoundedModelMultipleChoiceField)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    # Django's UserAdmin.get_form takes no ``change``: it is passed on in ``kwargs`` as it came.
    def get_form(  # type: ignore[override]
        self, request: HttpRequest, obj: models.Model | None = None, **kwargs: Any
    ) -> type[forms.ModelForm[Any]]:
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (_ValidatedModelFormMixin, form), {"__module__": __name__})

    def get_inlines(self, request: HttpRequest, obj: models.Model | None) -> list[type[Any]]:
        return [hardened(inline) for inline in super().get_inlines(request, obj)]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return _bounded_change_list(super().get_changelist(request, **kwargs))  # type: ignore[arg-type]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        """No "add" where a required relation is read-only (Oscar's basket lines, voucher applications):
        the form could not set it, and saving failed on the database's NOT NULL."""
        if not super().has_add_permission(request, *args):
            return False
        if isinstance(self, admin.options.InlineModelAdmin):
            return True
        read_only = set(self.get_readonly_fields(request))
        return not any(
            field.is_relation and not field.null and field.name in read_only
            for field in self.model._meta.concrete_fields
        )

    def response_action(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        """The selected rows of an action are ids of the model: others are left out (Django filtered on
        whatever was posted, and failed on text or 20 digits)."""
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        fitting = [value for value in selected if value_fits(self.model._meta.pk, value)]
        if fitting != selected:
            post = request.POST.copy()
            post.setlist(helpers.ACTION_CHECKBOX_NAME, fitting)
            request.POST = post  # type: ignore[assignment]
        return super().response_action(request, queryset)


@cache
def hardened(admin_class: type) -> type:
    """``admin_class`` with HostileInputAdminMixin in front (its name and module kept)."""
    if issubclass(admin_class, HostileInputAdminMixin):
        return admin_class
    return type(
        admin_class.__name__,
        (HostileInputAdminMixin, admin_class),
        {"__module__": admin_class.__module__, "__qualname__": admin_class.__qualname__},
    )


class MarketplaceAdminSite(admin.AdminSite):
    def register(
        self,
        model_or_iterable: type[models.Model] | Iterable[type[models.Model]],
        admin_class: type[admin.ModelAdmin[Any]] | None = None,
        **options: Any,
    ) -> None:
        super().register(model_or_iterable, hardened(admin_class or admin.ModelAdmin), **options)

    def admin_view(self, view: _View, cacheable: bool = False) -> _View:
        """A lookup a change list refuses is a 400 on the views that build one besides the change list
        itself, which shows its own "incorrect lookup" page (treebeard's children of a category)."""
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def refusing_incorrect_lookups(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return inner(request, *args, **kwargs)
            except IncorrectLookupParameters as error:
                raise BadRequest(str(error)) from error

        return cast(_View, refusing_incorrect_lookups)
