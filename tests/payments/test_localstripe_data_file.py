"""The localstripe wrapper's data file (devtools/localstripe_server.py): changes are written together a
moment after they happen, not the whole store at every change, and nothing is lost when the server is
stopped (SIGTERM) or after that moment when it is not. A real wrapper process each time, read back by a
second one (localstripe is never imported here)."""

import signal
import time
from contextlib import contextmanager

import requests

from tests.payments.conftest import localstripe_start

KEY = ("sk_test_data_file", "")


@contextmanager
def serving(data):
    process, base = localstripe_start(data)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def customers_make(base, n):
    made = []
    for i in range(n):
        answer = requests.post(
            f"{base}/v1/customers", data={"email": f"c{i}@example.cn"}, auth=KEY, timeout=5
        )
        made.append(answer.json()["id"])
    return made


def customer_known(base, customer_id):
    return requests.get(f"{base}/v1/customers/{customer_id}", auth=KEY, timeout=5).status_code == 200


def test_changes_made_just_before_a_stop_are_there_after_a_restart(tmp_path):
    data = tmp_path / "store.pickle"
    process, base = localstripe_start(data)
    made = customers_make(base, 12)
    process.send_signal(signal.SIGTERM)  # well within the moment the last changes wait to be written
    assert process.wait(timeout=10) == 0
    with serving(data) as base:
        assert all(customer_known(base, customer_id) for customer_id in made)


def test_changes_reach_the_file_a_moment_later_without_a_stop(tmp_path):
    """Written by the timer, not only at a stop: a copy of the file taken while the server runs (as a
    SIGKILL would leave it) holds the changes."""
    data = tmp_path / "store.pickle"
    process, base = localstripe_start(data)
    try:
        made = customers_make(base, 3)
        copy = tmp_path / "copy.pickle"
        for _ in range(50):
            time.sleep(0.1)
            if data.exists() and all(c.encode() in data.read_bytes() for c in made):
                break
        copy.write_bytes(data.read_bytes())
    finally:
        process.kill()  # nothing written at exit
        process.wait(timeout=10)
    with serving(copy) as base:
        assert all(customer_known(base, customer_id) for customer_id in made)
