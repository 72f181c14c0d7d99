"""The settlement's pages in the association's workspace (included by shops/association/urls.py,
so their names are ``association:statements`` …)."""

from django.urls import path

from shops.settlement import views

urlpatterns = [
    path("statements/", views.StatementListView.as_view(), name="statements"),
    path("statements/generate/", views.StatementsGenerateView.as_view(), name="statements-generate"),
    path("statements/<int:pk>/", views.StatementDetailView.as_view(), name="statement"),
    path("statements/<int:pk>/issue/", views.StatementIssueView.as_view(), name="statement-issue"),
    path("statements/<int:pk>/pay/", views.StatementPayView.as_view(), name="statement-pay"),
    path("statements/<int:pk>/correct/", views.StatementCorrectView.as_view(), name="statement-correct"),
    path("statements/<int:pk>/payout-account/", views.PayoutAccountView.as_view(), name="payout-account"),
    path("statements/<int:pk>/statement.csv", views.StatementCsvView.as_view(), name="statement-csv"),
    path("statements/<int:pk>/statement.pdf", views.StatementPdfView.as_view(), name="statement-pdf"),
    path("commission/", views.CommissionView.as_view(), name="commission"),
    path("commission/<int:pk>/end/", views.CommissionEndView.as_view(), name="commission-end"),
]
