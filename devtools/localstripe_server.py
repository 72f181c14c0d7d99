"""Run localstripe (a stateful fake Stripe server with a fake Stripe.js) for development and tests.

localstripe is GPL-3.0: it is a dev/test tool run as this separate process and never imported by the
marketplace's code. Out of the box it listens on every interface and keeps its data in
/tmp/localstripe.pickle; this wrapper binds it to 127.0.0.1 and gives it its own data file.

    python devtools/localstripe_server.py --port 8420 --data var/localstripe.pickle [--from-scratch]
"""

import argparse
import pickle
from pathlib import Path

from aiohttp import web
from localstripe import resources
from localstripe.server import app, store


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

    def load(self) -> None:
        try:
            with data_file.open("rb") as f:
                old = pickle.load(f)  # noqa: S301  (our own data file, written by this process)
        except FileNotFoundError:
            return
        self.clear()
        self.update(old)

    def dump(self) -> None:
        tmp = data_file.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump(dict(self), f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(data_file)

    resources.Store.try_load_from_disk = load
    resources.Store.dump_to_disk = dump
    if args.from_scratch:
        data_file.unlink(missing_ok=True)
    else:
        store.try_load_from_disk()
    web.run_app(app, host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
