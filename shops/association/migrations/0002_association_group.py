"""The association's staff group, holding the permission to use the workspace."""

from django.db import migrations

GROUP = "Shop association"


def group_create(apps, schema_editor):
    # Permissions are otherwise created after all migrations have run: make this one now.
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="association", model="auditentry")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename="use_workspace",
        defaults={"name": "Can use the association workspace"},
    )
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.add(permission)


def group_remove(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("association", "0001_audit_entry"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(group_create, group_remove)]
