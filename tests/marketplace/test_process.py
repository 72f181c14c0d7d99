"""A web process keeps what it loaded to start out of the garbage collector's full collections."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_wsgi_application_freezes_what_it_loaded():
    # In a process of its own: the test run's collector is left as it is.
    script = (
        "import gc\n"
        "before = gc.get_freeze_count()\n"
        "import marketplace.wsgi\n"
        "print(before, gc.get_freeze_count())\n"
    )
    done = subprocess.run(  # noqa: S603  (this interpreter, a script of this test)
        [sys.executable, "-c", script],
        cwd=REPO,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "marketplace.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    before, after = map(int, done.stdout.split()[-2:])
    assert before == 0
    # Django, Oscar and the project's modules: far more than a handful of objects.
    assert after > 100_000
