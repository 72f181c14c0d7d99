"""A BRIN index on the readings' time, on PostgreSQL only: readings arrive roughly in time order, so a
block range index of a few pages serves the retention delete (``measured_at < cutoff``) where a B-tree
would cost as much as the table's key. SQLite has no BRIN; its retention delete scans."""

from django.db import migrations

CREATE = "CREATE INDEX IF NOT EXISTS orchard_reading_time_brin ON orchard_reading USING brin (measured_at)"
DROP = "DROP INDEX IF EXISTS orchard_reading_time_brin"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("orchard", "0002_sensors_readings_rollups_alerts")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
