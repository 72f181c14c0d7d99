"""Notices by email, each sent once: ``notice_send_once`` is the one way the marketplace mails anyone
(the buyer's confirmation, shops' notices, logistics and admission notices).

The guarantee is at-least-once with a de-duplication key. A notice is sent from an outbox row (so a
rolled-back order sends nothing, and a notice is never lost); the ``SentNotification`` row that claims
it is written in the same transaction as that outbox row is marked done. A second delivery finds the
claim and sends nothing. Only a process killed between handing the mail to the server and that commit
sends it again, and then with the same Message-ID (``<kind.key@domain>``), by which mail clients and
servers drop the copy."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template import engines
from django.utils import translation

from marketplace.outbox.models import SentNotification


def notice_message_id(*, kind: str, key: str) -> str:
    """The notice's de-duplication key as a Message-ID: the same for every copy of one notice."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(">") or "localhost"
    safe = "".join(c if c.isalnum() or c in "-." else "-" for c in f"{kind}.{key}")
    return f"<{safe}@{domain}>"


def notice_send_once(*, kind: str, key: str, recipients: list[str], template: str, context: dict) -> bool:
    recipients = sorted({r for r in recipients if r})
    if not recipients:
        return False
    with translation.override(settings.LANGUAGE_CODE):
        text = engines["text"]  # plain text: no HTML escaping
        # One line, whatever a typed name holds: a newline in a subject is a header injection.
        subject = " ".join(text.get_template(f"emails/{template}_subject.txt").render(context).split())
        body = text.get_template(f"emails/{template}.txt").render(context)
    try:
        with transaction.atomic():
            SentNotification.objects.create(kind=kind, key=key, recipients=", ".join(recipients))
            EmailMessage(
                subject,
                body,
                settings.DEFAULT_FROM_EMAIL,
                recipients,
                headers={"Message-ID": notice_message_id(kind=kind, key=key)},
            ).send()
    except IntegrityError:
        return False  # already sent
    return True
