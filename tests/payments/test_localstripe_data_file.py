"""The localstripe wrapper's data file (devtools/localstripe_server.py): changes are written together a
moment after they happen, not the whole store at every change, and nothing is lost when the server is
stopped (SIGTERM) or after that moment when it is not. A real wrapper process each time, read back by a
second one (localstripe is never imported here)."""

import signal
import subprocess
import sys
import time

import pytest
import requests

from tests.payments.conftest import ROOT, free_port

KEY = ("sk_test_data_file", "")


def start(data):
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            str(ROOT / "devtools" / "localstripe_server.py"),
            "--port",
            str(port),
            "--data",
            str(data),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(f"{base}/v1/customers", auth=KEY, timeout=1)
            return process, base
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    pytest.fail("localstripe did not start")


def customers_make(base, n):
    return [
        requests.post(f"{base}/v1/customers", data={"email": f"c{i}@example.cn"}, auth=KEY, timeout=5).json()[
            "id"
        ]
        for i in range(n)
    ]


def customer_known(base, customer_id):
    return requests.get(f"{base}/v1/customers/{customer_id}", auth=KEY, timeout=5).status_code == 200


def test_changes_made_just_before_a_stop_are_there_after_a_restart(tmp_path):
    data = tmp_path / "store.pickle"
    process, base = start(data)
    made = customers_make(base, 12)
    process.send_signal(signal.SIGTERM)  # well within the moment the last changes wait to be written
    assert process.wait(timeout=10) == 0
    again, base = start(data)
    try:
        assert all(customer_known(base, customer_id) for customer_id in made)
    finally:
        again.terminate()
        again.wait(timeout=10)


def test_changes_reach_the_file_a_moment_later_without_a_stop(tmp_path):
    """Written by the timer, not only at a stop: a copy of the file taken while the server runs (as a
    SIGKILL would leave it) holds the changes."""
    data = tmp_path / "store.pickle"
    process, base = start(data)
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
    reader, base = start(copy)
    try:
        assert all(customer_known(base, customer_id) for customer_id in made)
    finally:
        reader.terminate()
        reader.wait(timeout=10)
