"""The console's URLs, mounted at /shop/. Object ids in these URLs are looked up within the farmer's
own shop (tests/shops/console/test_console_isolation.py walks every pattern here with another shop's ids)."""

from django.urls import path

from shops.console import harvest_views, orchard_views, settlement_views, views

app_name = "console"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("welcome/", views.landing, name="landing"),
    path("switch/", views.ShopSwitchView.as_view(), name="switch"),
    path("listings/", views.ListingListView.as_view(), name="listings"),
    path("listings/new/", views.ListingCreateView.as_view(), name="listing-create"),
    path("listings/import/", views.ImportView.as_view(), name="import"),
    path("listings/import/confirm/", views.ImportConfirmView.as_view(), name="import-confirm"),
    path("listings/import/template.<str:kind>", views.ImportTemplateView.as_view(), name="import-template"),
    path("listings/<int:pk>/", views.ListingEditView.as_view(), name="listing-edit"),
    path("listings/<int:pk>/pause/", views.ListingPauseView.as_view(), name="listing-pause"),
    path("listings/<int:pk>/resume/", views.ListingResumeView.as_view(), name="listing-resume"),
    path("listings/<int:pk>/resubmit/", views.ListingResubmitView.as_view(), name="listing-resubmit"),
    path("listings/<int:pk>/quick/", views.ListingQuickEditView.as_view(), name="listing-quick"),
    path("listings/<int:pk>/photos/", views.PhotoListView.as_view(), name="listing-photos"),
    path("listings/<int:pk>/photos/upload/", views.PhotoUploadView.as_view(), name="photo-upload"),
    path("listings/<int:pk>/photos/status/", views.PhotoStatusView.as_view(), name="photo-status"),
    path("listings/<int:pk>/photos/order/", views.PhotoReorderView.as_view(), name="photo-reorder"),
    path("listings/<int:pk>/photos/<int:photo_pk>/main/", views.PhotoMainView.as_view(), name="photo-main"),
    path(
        "listings/<int:pk>/photos/<int:photo_pk>/delete/",
        views.PhotoDeleteView.as_view(),
        name="photo-delete",
    ),
    path("orders/", views.OrderListView.as_view(), name="orders"),
    path("orders/picking/", views.PickingListView.as_view(), name="picking"),
    path("orders/<str:number>/", views.OrderDetailView.as_view(), name="order"),
    path("orders/<str:number>/accept/", views.OrderAcceptView.as_view(), name="order-accept"),
    path("orders/<str:number>/pack/", views.OrderPackView.as_view(), name="order-pack"),
    path("orders/<str:number>/hand-over/", views.OrderHandOverView.as_view(), name="order-hand-over"),
    path("orders/<str:number>/cancel/", views.OrderCancelView.as_view(), name="order-cancel"),
    path("orders/<str:number>/slip/", views.PackingSlipView.as_view(), name="packing-slip"),
    path("sales/", views.SalesView.as_view(), name="sales"),
    path("orchard/", orchard_views.PlotListView.as_view(), name="orchard-plots"),
    path("harvest/", harvest_views.BatchListView.as_view(), name="harvest"),
    path("harvest/new/", harvest_views.BatchCreateView.as_view(), name="harvest-create"),
    path("orchard/new/", orchard_views.PlotCreateView.as_view(), name="orchard-plot-create"),
    path("orchard/alerts/", orchard_views.AlertListView.as_view(), name="orchard-alerts"),
    path(
        "orchard/alerts/<int:alert>/acknowledge/",
        orchard_views.AlertAcknowledgeView.as_view(),
        name="orchard-alert-acknowledge",
    ),
    path("orchard/<int:plot>/", orchard_views.PlotDetailView.as_view(), name="orchard-plot"),
    path("orchard/<int:plot>/edit/", orchard_views.PlotEditView.as_view(), name="orchard-plot-edit"),
    path(
        "orchard/<int:plot>/chart/<str:metric>/", orchard_views.PlotChartView.as_view(), name="orchard-chart"
    ),
    path(
        "orchard/<int:plot>/devices/new/",
        orchard_views.DeviceCreateView.as_view(),
        name="orchard-device-create",
    ),
    path(
        "orchard/devices/<int:device>/rotate/",
        orchard_views.DeviceRotateView.as_view(),
        name="orchard-device-rotate",
    ),
    path("orchard/<int:plot>/rules/", orchard_views.RuleListView.as_view(), name="orchard-rules"),
    path(
        "orchard/rules/<int:rule>/delete/", orchard_views.RuleDeleteView.as_view(), name="orchard-rule-delete"
    ),
    path("statements/", settlement_views.StatementListView.as_view(), name="statements"),
    path("statements/<str:statement>/", settlement_views.StatementDetailView.as_view(), name="statement"),
    path(
        "statements/<str:statement>/csv/", settlement_views.StatementCsvView.as_view(), name="statement-csv"
    ),
    path(
        "statements/<str:statement>/pdf/", settlement_views.StatementPdfView.as_view(), name="statement-pdf"
    ),
]
