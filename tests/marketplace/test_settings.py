"""Settings come from the environment: production must pass Django's deploy checks and refuse to
start without its secrets; no environment at all gives the embedded default."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE", "SECRET", "CELERY"))
    }
    clean.update({"VAR_DIR": str(tmp_path), **env})
    return subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


def test_production_settings_pass_check_deploy(tmp_path):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "DJANGO_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": "market.example.cn",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        },
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = manage("check", env={"DJANGO_ENV": "production", "ALLOWED_HOSTS": "x.cn"}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_embedded_default_uses_sqlite_under_var_and_eager_celery(tmp_path):
    code = (
        "from django.conf import settings as s;"
        "print('SETTINGS', s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], s.MEDIA_ROOT,"
        " s.CELERY_TASK_ALWAYS_EAGER, s.CACHES['default']['BACKEND'], s.DEBUG)"
    )
    result = manage("shell", "-c", code, env={}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("SETTINGS ")]
    engine, name, media, eager, cache, debug = line.split()[1:]
    assert engine == "django.db.backends.sqlite3"
    assert name == str(tmp_path / "db.sqlite3")
    assert media == str(tmp_path / "media")
    assert eager == "True"
    assert cache.endswith("LocMemCache")
    assert debug == "True"
