"""The status machines of consignments and legs: the allowed transitions of each, and the one function
that moves each (row lock, the table's check, the status, an event row saying who moved it and why).
Routing (``routing.py``) and the partners' reports (``tracking.py``) move statuses only through these; a
leg's move is also written to the outbox for its partner's webhook (``logistics.webhooks``)."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from logistics.bulk import rows_insert
from logistics.models import Consignment, ConsignmentEvent, Leg, LegEvent, LogisticsPartner
from logistics.webhooks import leg_moved_emit
from marketplace.locks import for_update

C = Consignment.Status
L = Leg.Status

# "" is a consignment not yet saved: routing creates it routed, or needing routing with the reason.
CONSIGNMENT_TRANSITIONS: dict[str, set[str]] = {
    "": {C.ROUTED, C.NEEDS_ROUTING},
    C.NEEDS_ROUTING: {C.ROUTED, C.CANCELLED},
    # needs routing: a rejected leg no other partner could take; cancelled: its shop order was
    C.ROUTED: {C.NEEDS_ROUTING, C.DELIVERED, C.CANCELLED},
    C.DELIVERED: set(),
    C.CANCELLED: set(),
}

# A leg is created assigned. Tracking events may come before the partner accepts (the status is derived
# from them: in progress, exception, delivered); delivered is final; a leg with events can't be rejected;
# a leg not yet delivered is cancelled with its shop order.
LEG_TRANSITIONS: dict[str, set[str]] = {
    L.ASSIGNED: {L.ACCEPTED, L.REJECTED, L.IN_PROGRESS, L.EXCEPTION, L.DELIVERED, L.CANCELLED},
    L.ACCEPTED: {L.REJECTED, L.IN_PROGRESS, L.EXCEPTION, L.DELIVERED, L.CANCELLED},
    L.IN_PROGRESS: {L.EXCEPTION, L.DELIVERED, L.CANCELLED},
    L.EXCEPTION: {L.IN_PROGRESS, L.DELIVERED, L.CANCELLED},
    L.REJECTED: set(),
    L.DELIVERED: set(),
    L.CANCELLED: set(),
}


class StatusMoveError(ValueError):
    """A move the transitions table does not allow. The services check the table first and refuse with
    their own words (``TrackingError``, ``RoutingError``); this is the last guard."""


@transaction.atomic
def consignment_move(
    *,
    consignment: Consignment,
    to_status: str,
    actor: AbstractBaseUser | None = None,
    partner: LogisticsPartner | None = None,
    reason: str = "",
) -> ConsignmentEvent:
    """Move ``consignment`` to ``to_status`` and record it. An unsaved consignment is created with the
    status (its other fields as the caller set them); a saved one has only its status (and ``updated_at``)
    written, so the caller saves the fields it changed itself. Callers that lock its legs too lock the
    consignment first (the order in ``routing.leg_reject`` and ``tracking.tracking_event_record``)."""
    if consignment.pk is None:
        from_status = ""
    else:
        from_status = (
            for_update(Consignment.objects.all()).values_list("status", flat=True).get(pk=consignment.pk)
        )
    if to_status not in CONSIGNMENT_TRANSITIONS[from_status]:
        raise StatusMoveError(
            f"consignment {consignment.pk} cannot move from “{from_status or 'new'}” to “{to_status}”"
        )
    consignment.status = to_status
    if consignment.pk is None:
        consignment.save()
    else:
        consignment.save(update_fields=["status", "updated_at"])
    return ConsignmentEvent.objects.create(  # type: ignore[misc]  # auth.User is the user model; services take AbstractBaseUser (django-stubs' request.user)
        consignment=consignment,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        partner=partner,
        reason=reason,
    )


@transaction.atomic
def consignments_create(
    *, moves: list[tuple[Consignment, str, str]], actor: AbstractBaseUser | None = None
) -> None:
    """The first move of many new consignments at once (routing's batches): each ``(consignment,
    to_status, reason)`` is checked against the table, created with its status (its other fields as the
    caller set them) and recorded, as ``consignment_move`` does for one, in two statements."""
    now = timezone.now()
    for consignment, to_status, _reason in moves:
        if consignment.pk is not None or to_status not in CONSIGNMENT_TRANSITIONS[""]:
            raise StatusMoveError(f"a new consignment cannot be created “{to_status}”")
        consignment.status = to_status
        consignment.created_at = consignment.updated_at = now
    names = ["shop_order", "status", "planned_for", "needs_cold_chain", "weight_g", "origin", "destination"]
    names += ["decisions", "reason", "created_at", "updated_at"]
    attnames = [f.attname for n in names for f in Consignment._meta.concrete_fields if f.name == n]
    made = rows_insert(
        model=Consignment,
        names=names,
        rows=[tuple(getattr(c, attname) for attname in attnames) for c, _t, _r in moves],
        returning=("id", "shop_order_id"),
    )
    ids = {shop_order_id: pk for pk, shop_order_id in made}
    for consignment, _to_status, _reason in moves:
        consignment.pk = ids[consignment.shop_order_id]
        consignment._state.adding, consignment._state.db = False, connection.alias
    rows_insert(
        model=ConsignmentEvent,
        names=["consignment", "from_status", "to_status", "actor", "partner", "reason", "created_at"],
        rows=[
            (c.pk, "", to_status, actor.pk if actor is not None else None, None, reason, now)
            for c, to_status, reason in moves
        ],
    )


@transaction.atomic
def leg_move(
    *,
    leg: Leg,
    to_status: str,
    actor: AbstractBaseUser | None = None,
    partner: LogisticsPartner | None = None,
    reason: str = "",
) -> LegEvent:
    """Move ``leg`` to ``to_status`` and record it; a rejection keeps ``reason`` on the leg as well.
    Callers holding the consignment's lock take it before this one (see ``consignment_move``)."""
    from_status = for_update(Leg.objects.all()).values_list("status", flat=True).get(pk=leg.pk)
    if to_status not in LEG_TRANSITIONS[from_status]:
        raise StatusMoveError(f"leg {leg.pk} cannot move from “{from_status}” to “{to_status}”")
    leg.status = to_status
    fields = ["status"]
    if to_status == L.REJECTED:
        leg.reject_reason = reason
        fields.append("reject_reason")
    leg.save(update_fields=fields)
    event = LegEvent.objects.create(  # type: ignore[misc]  # auth.User is the user model; services take AbstractBaseUser (django-stubs' request.user)
        leg=leg, from_status=from_status, to_status=to_status, actor=actor, partner=partner, reason=reason
    )
    leg_moved_emit(event=event, partner_id=leg.partner_id)  # the partner's webhook, in this transaction
    return event
