"""Run localstripe (a stateful fake Stripe server with a fake Stripe.js) for development and tests.

localstripe is GPL-3.0: it is a dev/test tool run as this separate process and never imported by the
marketplace's code. Out of the box it listens on every interface and keeps its data in
/tmp/localstripe.pickle; this wrapper binds it to 127.0.0.1 and gives it its own data file.

    python devtools/localstripe_server.py --port 8420 --data var/localstripe.pickle [--from-scratch]

localstripe knows cards and SEPA debits only. This wrapper teaches it, in this process only, the part of
WeChat Pay the checkout uses: a PaymentIntent created with ``payment_method_data[type]=wechat_pay`` (and
"wechat_pay" among its ``payment_method_types``, ``payment_method_options[wechat_pay][client]`` given)
is confirmed into ``requires_action`` with ``next_action.wechat_pay_display_qr_code`` (a QR code drawn
here, as data URLs). The buyer's scan is played by a route of this server, with the secret key like any
API call:

    POST /_dev/wechat_pay/<intent id>/succeed

which makes the intent succeed and sends its ``payment_intent.succeeded`` webhook, as localstripe does
when a card is charged.

localstripe has no Connect either. This wrapper adds the part the association's payouts use
(separate charges and transfers): connected accounts (``POST/GET /v1/accounts``,
``GET /v1/accounts/<id>``), transfers to them (``POST /v1/transfers``, honouring the Idempotency-Key
header as Stripe does: the same key with the same parameters answers with the same transfer, with other
parameters it is refused; ``GET /v1/transfers/<id>``, ``GET /v1/transfers?transfer_group=…&destination=…``),
and ``transfer_group`` on PaymentIntents. They are kept in the same data file as the rest.

Card numbers as people type them: "4242 4242 4242 4242" (the README's test card) is taken with its spaces
or hyphens, by the API (``card[number]``) and by the fake Stripe.js's number field, which otherwise
counts the spaces towards its 16 characters and jumps to the next field mid-number.
"""

import argparse
import asyncio
import hashlib
import json
import pickle
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import segno
from aiohttp import web
from localstripe import resources
from localstripe.errors import UserError

WECHAT_PAY = "wechat_pay"
WECHAT_PAY_CLIENTS = {"web", "android", "ios"}
WRITE_AFTER_SECONDS = 1.0  # the data file is written this long after a change, with what came meanwhile


def _wechat_pay_qr_code(intent) -> dict:
    """What Stripe puts in next_action.wechat_pay_display_qr_code; the images are data URLs here."""
    data = f"weixin://wxpay/bizpayurl?pr={intent.id[3:]}{resources.random_id(8)}"
    code = segno.make(data, error="m")
    png = code.png_data_uri(scale=6, border=2)
    return {
        "data": data,
        "image_data_url": png,
        "image_url_png": png,
        "image_url_svg": code.svg_data_uri(scale=6, border=2),
        "hosted_instructions_url": "",
    }


def wechat_pay_teach() -> None:
    """Patch localstripe's PaymentMethod and PaymentIntent for WeChat Pay. Must run before
    ``localstripe.server`` is imported: its routes take the API functions from ``resources.extra_apis``."""
    PaymentMethod, PaymentIntent = resources.PaymentMethod, resources.PaymentIntent
    method_init, intent_init = PaymentMethod.__init__, PaymentIntent.__init__
    card_confirm, api_confirm = PaymentIntent._confirm, PaymentIntent._api_confirm

    def payment_method_init(self, type=None, billing_details=None, metadata=None, **kwargs):
        if type != WECHAT_PAY:
            method_init(self, type=type, billing_details=billing_details, metadata=metadata, **kwargs)
            return
        if kwargs:
            raise UserError(400, "Unexpected " + ", ".join(kwargs))
        resources.StripeObject.__init__(self)
        self.type = WECHAT_PAY
        self.wechat_pay = {}
        self.billing_details = billing_details or {}
        self.customer = None
        self.metadata = metadata or {}

    def payment_intent_init(
        self, payment_method_types=None, payment_method_data=None, payment_method_options=None, **kwargs
    ):
        types = payment_method_types or ["card"]
        if not isinstance(types, list):
            raise UserError(400, "Bad request")
        if payment_method_data is not None:
            client = ((payment_method_options or {}).get(WECHAT_PAY) or {}).get("client")
            if (
                not isinstance(payment_method_data, dict)
                or payment_method_data.get("type") != WECHAT_PAY
                or kwargs.get("payment_method") is not None
                or WECHAT_PAY not in types
            ):
                raise UserError(400, "Bad request")
            if client not in WECHAT_PAY_CLIENTS:
                raise UserError(400, "payment_method_options[wechat_pay][client] must be web, android or ios")
        intent_init(self, payment_method_options=payment_method_options, **kwargs)
        self.payment_method_types = types
        self.payment_method_options = payment_method_options or {}
        self.return_url = None
        if payment_method_data is not None:
            self.payment_method = PaymentMethod(type=WECHAT_PAY).id

    def confirm(self, on_failure_now):
        if PaymentMethod._api_retrieve(self.payment_method).type != WECHAT_PAY:
            card_confirm(self, on_failure_now)
            return
        self._authentication_failed = False
        self.next_action = {
            "type": "wechat_pay_display_qr_code",
            "wechat_pay_display_qr_code": _wechat_pay_qr_code(self),
        }

    def payment_intent_confirm(id, return_url=None, **kwargs):
        intent = api_confirm(id, **kwargs)
        if return_url is not None:
            intent.return_url = return_url
        return intent

    PaymentMethod.__init__ = payment_method_init
    PaymentIntent.__init__ = payment_intent_init
    PaymentIntent._confirm = confirm
    resources.extra_apis[:] = [
        (method, url, payment_intent_confirm if func == api_confirm else func)
        for method, url, func in resources.extra_apis
    ]


async def wechat_pay_scan(request: web.Request) -> web.Response:
    """The buyer scans the QR code and pays in WeChat: the intent succeeds and its webhook goes out."""
    from localstripe.server import json_response

    intent = resources.PaymentIntent._api_retrieve(request.match_info["id"])
    if (intent.next_action or {}).get("type") != "wechat_pay_display_qr_code":
        raise UserError(400, "This PaymentIntent is not waiting for a WeChat Pay scan")
    intent.next_action = None
    intent._create_charge(on_failure_now=intent._report_failure)
    return json_response(intent._export())


class Account(resources.StripeObject):
    """A Connect account the platform pays by transfers (always able to receive them here)."""

    object = "account"
    _id_prefix = "acct_"

    def __init__(self, type=None, country=None, email=None, business_profile=None, metadata=None, **kwargs):
        kwargs.pop("capabilities", None)
        kwargs.pop("business_type", None)
        if kwargs:
            raise UserError(400, "Unexpected " + ", ".join(kwargs))
        if type not in (None, "express", "custom", "standard"):
            raise UserError(400, "type must be express, custom or standard")
        if metadata is not None and not isinstance(metadata, dict):
            raise UserError(400, "Bad request")
        super().__init__()
        self.type = type or "express"
        self.country = country or "CN"
        self.email = email
        self.business_profile = business_profile or {}
        self.metadata = metadata or {}
        self.charges_enabled = True
        self.payouts_enabled = True
        self.details_submitted = True


class Transfer(resources.StripeObject):
    """Money moved from the platform's balance to a connected account."""

    object = "transfer"
    _id_prefix = "tr_"

    def __init__(
        self,
        amount=None,
        currency=None,
        destination=None,
        transfer_group=None,
        description=None,
        metadata=None,
        source_transaction=None,
        **kwargs,
    ):
        if kwargs:
            raise UserError(400, "Unexpected " + ", ".join(kwargs))
        amount = resources.try_convert_to_int(amount)
        if not isinstance(amount, int) or amount <= 0:
            raise UserError(400, "amount must be a positive integer (in the currency's smallest unit)")
        if not isinstance(currency, str) or not re.fullmatch(r"[a-z]{3}", currency):
            raise UserError(400, "currency must be a three-letter ISO code in lower case")
        if not isinstance(destination, str) or not destination.startswith("acct_"):
            raise UserError(400, "destination must be a connected account id")
        Account._api_retrieve(destination)  # 404 for an unknown account
        if transfer_group is not None and not isinstance(transfer_group, str):
            raise UserError(400, "Bad request")
        if metadata is not None and not isinstance(metadata, dict):
            raise UserError(400, "Bad request")
        if source_transaction is not None:
            resources.Charge._api_retrieve(source_transaction)
        super().__init__()
        self.amount = amount
        self.amount_reversed = 0
        self.currency = currency
        self.destination = destination
        self.destination_payment = "py_" + resources.random_id(14)
        self.transfer_group = transfer_group
        self.description = description
        self.metadata = metadata or {}
        self.source_transaction = source_transaction
        self.reversed = False

    @classmethod
    def _api_list_all(
        cls, url, transfer_group=None, destination=None, limit=None, starting_after=None, **kwargs
    ):
        if kwargs:
            raise UserError(400, "Unexpected " + ", ".join(kwargs))
        found = super()._api_list_all(url, limit=limit, starting_after=starting_after)
        found._list = [
            transfer
            for transfer in found._list
            if (transfer_group is None or transfer.transfer_group == transfer_group)
            and (destination is None or transfer.destination == destination)
        ]
        return found


def _idempotent(request, data: dict, create):
    """Stripe's idempotency: a key seen before with the same parameters answers with what was made then;
    with other parameters (or on another endpoint) it is an error. Without a key, always make anew."""
    key = request.headers.get("Idempotency-Key")
    if not key:
        return create()
    fingerprint = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    seen = resources.store.get("idempotency:" + key)
    if seen is not None:
        path, seen_fingerprint, cls, object_id = seen
        if path != request.path or seen_fingerprint != fingerprint:
            raise UserError(
                400,
                "Keys for idempotent requests can only be used with the same parameters they were first "
                "used with.",
                {"code": "idempotency_key_in_use"},
            )
        return cls._api_retrieve(object_id)
    made = create()
    resources.store["idempotency:" + key] = (request.path, fingerprint, type(made), made.id)
    return made


def connect_routes(app) -> None:
    """Add the Connect routes (accounts, transfers) to localstripe's app: its own handlers, except that
    creating honours the Idempotency-Key header."""
    from localstripe.server import api_list_all, api_retrieve, get_post_data, json_response

    def create(cls):
        async def handler(request: web.Request) -> web.Response:
            data = await get_post_data(request) or {}
            data.pop("expand", None)
            return json_response(_idempotent(request, data, lambda: cls._api_create(**data))._export())

        return handler

    for cls in (Account, Transfer):
        url = f"/v1/{cls.object}s"
        app.router.add_post(url, create(cls))
        app.router.add_get(url, api_list_all(cls, url))
        app.router.add_get(url + "/{id}", api_retrieve(cls, url))


def transfer_group_teach() -> None:
    """Let a PaymentIntent carry ``transfer_group`` (its order: separate charges and transfers)."""
    intent_init = resources.PaymentIntent.__init__

    def payment_intent_init(self, transfer_group=None, **kwargs):
        if transfer_group is not None and not isinstance(transfer_group, str):
            raise UserError(400, "Bad request")
        intent_init(self, **kwargs)
        self.transfer_group = transfer_group

    resources.PaymentIntent.__init__ = payment_intent_init


CARD_NUMBER_SEPARATORS = re.compile(r"[\s-]")
# The fake Stripe.js reads the number field's value as typed; read it without separators.
STRIPE_JS_NUMBER = "number: this._inputs.number.value,"
STRIPE_JS_NUMBER_DIGITS = "number: this._inputs.number.value.replace(/[\\s-]/g, ''),"


def card_numbers_as_typed_teach() -> None:
    """Patch localstripe's Card to take a number with spaces or hyphens (the digits are what count)."""
    card_init = resources.Card.__init__

    def init(self, source=None, **kwargs):
        if isinstance(source, dict) and isinstance(source.get("number"), str):
            source = {**source, "number": CARD_NUMBER_SEPARATORS.sub("", source["number"])}
        card_init(self, source=source, **kwargs)

    resources.Card.__init__ = init


@web.middleware
async def stripe_js_number_as_typed(request: web.Request, handler):
    response = await handler(request)
    if request.path == "/js.stripe.com/v3/" and isinstance(response, web.Response) and response.text:
        if STRIPE_JS_NUMBER not in response.text:
            raise RuntimeError("localstripe's Stripe.js changed: its card number field is not patched")
        response.text = response.text.replace(STRIPE_JS_NUMBER, STRIPE_JS_NUMBER_DIGITS)
    return response


def data_file_use(data_file: Path) -> Callable[[web.Application], Awaitable[None]]:
    """Keep localstripe's store in ``data_file`` instead of /tmp/localstripe.pickle, its changes written
    together (below); returns the aiohttp cleanup that writes what is pending when the server stops."""

    def load(self) -> None:
        try:
            with data_file.open("rb") as f:
                old = pickle.load(f)  # noqa: S301  (our own data file, written by this process)
        except FileNotFoundError:
            return
        self.clear()
        self.update(old)

    def write(store: dict) -> None:
        tmp = data_file.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump(dict(store), f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(data_file)

    # localstripe writes its whole store to the file at every change (a payment is five or six of them),
    # so each write costs more the more the store holds: 7 ms of CPU at 2,000 objects, a checkout
    # benchmark's few minutes. Here changes are written together, WRITE_AFTER_SECONDS after the first one
    # not written yet, and at once when the server stops (aiohttp's cleanup, on SIGINT or SIGTERM); a
    # SIGKILL loses at most that last moment's changes of this test tool.
    pending = False

    def dump(self) -> None:
        nonlocal pending
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not serving (loading, tests of the wrapper): written now
            write(self)
            return
        if not pending:
            pending = True
            loop.call_later(WRITE_AFTER_SECONDS, flush)

    def flush() -> None:
        nonlocal pending
        if pending:
            pending = False
            write(resources.store)

    async def flush_at_exit(app: web.Application) -> None:
        flush()

    resources.Store.try_load_from_disk = load
    resources.Store.dump_to_disk = dump
    return flush_at_exit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--data", type=Path, default=Path("var/localstripe.pickle"))
    parser.add_argument("--from-scratch", action="store_true", help="forget the data file's contents")
    args = parser.parse_args()
    if args.host not in {"127.0.0.1", "::1", "localhost"}:
        parser.error("localstripe is a test tool: bind it to the loopback interface only")
    data_file = args.data.resolve()
    data_file.parent.mkdir(parents=True, exist_ok=True)

    flush_at_exit = data_file_use(data_file)
    wechat_pay_teach()
    transfer_group_teach()
    card_numbers_as_typed_teach()
    from localstripe.server import app, store  # after wechat_pay_teach: the routes are made on import

    app.router.add_post("/_dev/wechat_pay/{id}/succeed", wechat_pay_scan)
    app.middlewares.append(stripe_js_number_as_typed)
    connect_routes(app)
    app.on_cleanup.append(flush_at_exit)
    if args.from_scratch:
        data_file.unlink(missing_ok=True)
    else:
        store.try_load_from_disk()
    web.run_app(app, host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
