"""Orchard ingestion benchmark: readings stored per second through ``readings_ingest`` (parse, verify the
HMAC, validate, one transaction per batch: raw rows, hourly and daily roll-ups, rejection counts,
last-seen, alert rules), against a plain ``bulk_create`` of the same raw rows in the same process.

    .venv/bin/python bench/orchard_ingest.py                      # SQLite under var/bench/orchard/
    .venv/bin/python bench/orchard_ingest.py --database-url postgres://postgres@127.0.0.1:5432/marketplace_bench_orchard

A fresh database each run (PostgreSQL: created, then dropped at the end unless --keep). 100 devices on 50
plots (each plot with a frost rule), messages of 10 readings (5 times × 2 metrics, as a device uploads
what it buffered), batches of 500 messages. Messages are built and signed before the clock starts. One
Python process (the PostgreSQL server runs in its own). Figures in docs/performance.md.
"""

import argparse
import datetime
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
PLOTS = 50
DEVICES_PER_PLOT = 2


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--batches", type=int, default=40, help="batches to ingest (default 40: 200,000 readings)"
    )
    parser.add_argument("--messages", type=int, default=500, help="messages per batch")
    parser.add_argument("--readings", type=int, default=10, help="readings per message (even)")
    parser.add_argument(
        "--database-url", help="a PostgreSQL database called marketplace_bench* (default SQLite)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    return parser.parse_args(argv)


def environment(args) -> dict:
    var_dir = (REPO / "var" / "bench" / "orchard").resolve()
    if args.database_url:
        parsed = urlparse(args.database_url)
        if parsed.scheme not in ("postgres", "postgresql") or not parsed.path.lstrip("/").startswith(
            "marketplace_bench"
        ):
            raise SystemExit("--database-url must name a PostgreSQL database called marketplace_bench*")
    return {
        "DJANGO_SETTINGS_MODULE": "marketplace.settings",
        "DJANGO_ENV": "development",
        "DJANGO_DEBUG": "false",
        "VAR_DIR": str(var_dir),
        "DATABASE_URL": args.database_url or f"sqlite:///{var_dir / 'db.sqlite3'}",
        "CELERY_BROKER_URL": "",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "LOG_LEVEL": "WARNING",
    }


def admin_connection(database):
    import psycopg

    return psycopg.connect(
        host=database.get("HOST") or None,
        port=database.get("PORT") or None,
        user=database.get("USER") or None,
        password=database.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    )


def fresh_database() -> None:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    database = settings.DATABASES["default"]
    connection.close()
    if connection.vendor == "sqlite":
        path = Path(database["NAME"])
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        with admin_connection(database) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database["NAME"]}"')
            admin.execute(f'CREATE DATABASE "{database["NAME"]}"')
    call_command("migrate", verbosity=0, interactive=False)


def drop_database() -> None:
    from django.conf import settings
    from django.db import connection

    database = settings.DATABASES["default"]
    connection.close()
    with admin_connection(database) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database["NAME"]}"')


def world():
    from shops.orchard.models import Plot
    from shops.orchard.services import alert_rule_add, device_add
    from tests.factories import ShopFactory

    devices = []
    for p in range(PLOTS):
        plot = Plot.objects.create(shop=ShopFactory(name=f"基准果园{p}"), name=f"地块{p}")
        alert_rule_add(plot=plot, preset="frost")
        devices += [
            device_add(plot=plot, device_id=f"bench-{p}-{d}", kind="combined")
            for d in range(DEVICES_PER_PLOT)
        ]
    return devices


def batches(devices, *, count: int, messages: int, readings: int, end: datetime.datetime):
    """``count`` batches of signed messages; every reading at its own minute, so none is a duplicate."""
    from shops.orchard.ingest import payload_sign, topic_for

    china = datetime.timezone(datetime.timedelta(hours=8))
    times_per_message = readings // 2
    made = []
    seq = 0
    for b in range(count):
        batch = []
        for m in range(messages):
            device = devices[(b * messages + m) % len(devices)]
            seq += 1
            # A device's messages walk back in time from ``end``, a minute per reading time.
            slot = (b * messages + m) // len(devices)
            base = end - datetime.timedelta(minutes=(slot + 1) * times_per_message)
            body_readings = []
            for t in range(times_per_message):
                at = (base + datetime.timedelta(minutes=t)).astimezone(china).isoformat()
                body_readings.append({"metric": "air_temp_c", "at": at, "value": 12.0 + (seq % 70) / 10})
                body_readings.append(
                    {"metric": "soil_moisture_pct", "at": at, "value": 30.0 + (seq % 50) / 10}
                )
            body = {"device": device.device_id, "plot": device.plot_id, "seq": seq, "readings": body_readings}
            batch.append((topic_for(device.device_id), payload_sign(body=body, secret=device.secret)))
        made.append(batch)
    return made


def peer_rows(made, devices):
    """The same raw rows as plain model instances, for the bulk_create peer (parsed outside the clock)."""
    import json

    from shops.orchard.metrics import BY_CODE
    from shops.orchard.models import Reading

    by_id = {device.device_id: device.pk for device in devices}
    rows = []
    for batch in made:
        chunk = []
        for _topic, payload in batch:
            body = json.loads(json.loads(payload)["body"])
            for r in body["readings"]:
                chunk.append(
                    Reading(
                        device_id=by_id[body["device"]],
                        metric=BY_CODE[r["metric"]].number,
                        measured_at=datetime.datetime.fromisoformat(r["at"]),
                        value=r["value"],
                    )
                )
        rows.append(chunk)
    return rows


def main(argv=None) -> None:
    args = parse_args(argv)
    os.environ.update(environment(args))
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from shops.orchard.ingest import readings_ingest
    from shops.orchard.models import DailyRollup, HourlyRollup, Reading

    fresh_database()
    devices = world()
    end = timezone.now() - datetime.timedelta(minutes=5)
    made = batches(devices, count=args.batches, messages=args.messages, readings=args.readings, end=end)
    total = args.batches * args.messages * args.readings
    print(
        f"{connection.vendor}: {args.batches} batches × {args.messages} messages × {args.readings} readings"
    )

    started = time.perf_counter()
    stored = 0
    for batch in made:
        outcome = readings_ingest(batch)
        stored += outcome.readings_stored
        assert not outcome.rejected, outcome.rejected
    ingest_seconds = time.perf_counter() - started
    assert stored == total == Reading.objects.count()
    hours, days = HourlyRollup.objects.count(), DailyRollup.objects.count()

    rows = peer_rows(made, devices)
    Reading.objects.all().delete()
    started = time.perf_counter()
    for chunk in rows:
        Reading.objects.bulk_create(chunk, batch_size=2000)
    peer_seconds = time.perf_counter() - started

    ingest_rate, peer_rate = total / ingest_seconds, total / peer_seconds
    print(
        f"  readings_ingest: {total:,} readings in {ingest_seconds:.2f} s = {ingest_rate:,.0f} readings/s "
        f"({hours:,} hourly and {days:,} daily roll-up rows)"
    )
    print(f"  bulk_create peer: {total:,} rows in {peer_seconds:.2f} s = {peer_rate:,.0f} rows/s")
    print(f"  ratio: readings_ingest runs at {ingest_rate / peer_rate:.2f} × the plain bulk_create")
    if connection.vendor == "postgresql" and not args.keep:
        drop_database()


if __name__ == "__main__":
    main()
