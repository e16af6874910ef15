"""The lab's AWS endpoint: moto in server mode inside the shared namespace, holding the
lab's estate for one profile. The estate is planted through a private listener on
loopback first and IAM enforcement is switched on; only then does the endpoint the
zones and the runner reach start listening, so "listening" means "ready".

    python -m prodwall.lab.cloud_server --profile sealed --port 4566
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from prodwall.lab import cloud_estate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", choices=("sealed", "leaky"), required=True)
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--bind", default="0.0.0.0")  # noqa: S104 - inside the lab namespace
    args = parser.parse_args(argv)
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    seeding = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    seeding.start()
    host, port = seeding.get_host_and_port()
    url = f"http://{host}:{port}"
    cloud_estate.build(url, args.profile)
    cloud_estate.enforce(url)
    seeding.stop()
    # the same in-process estate, now served where the lab reaches it
    server = ThreadedMotoServer(ip_address=args.bind, port=args.port, verbose=False)
    server.start()
    print(f"moto: the {args.profile} estate on {args.bind}:{args.port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
