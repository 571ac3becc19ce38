"""How long `shellvault exec --server` takes to answer a credential request from memory.

    .venv/bin/python benchmarks/server_request.py [--requests N]

The endpoint runs in its own process (shellvault.server.CredentialServer holding a session
that needs no refresh, exactly what `exec --server` serves between refreshes); this process
is the client, three ways:

* keep-alive: one HTTP/1.1 connection reused (what an SDK's connection pool does);
* new connection per request;
* botocore's ContainerMetadataFetcher, the code every boto3 client and the AWS CLI use to
  read AWS_CONTAINER_CREDENTIALS_FULL_URI (its own connection handling and JSON parsing).

Target: at most 5 ms per request answered from memory. Prints median, p95 and max (ms).
A measurement, never a test: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from urllib.parse import urlsplit

SERVER = """
import json, sys, time
from shellvault.creds import Credentials, Session
from shellvault.server import CredentialServer, ServedSession
session = Session(Credentials("ASIABENCHMARKEXAMPLE", "s" * 40, "t" * 600,
                              int(time.time()) + 3600), "123456789012",
                  "arn:aws:sts::123456789012:assumed-role/Admin/bench")
served = ServedSession(lambda interactive, min_ttl: session, 900, "bench")
served.first(session)
server = CredentialServer(served)
server.start()
print(json.dumps({"url": server.url, "token": server.token}), flush=True)
sys.stdin.read()  # until the benchmark closes stdin
server.stop()
"""


def _timed(label: str, requests: int, call: Callable[[], None]) -> None:
    for _ in range(20):  # warm-up
        call()
    samples = []
    for _ in range(requests):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p95 = samples[int(len(samples) * 0.95) - 1]
    print(f"{label:<34} median {statistics.median(samples):6.3f} ms   p95 {p95:6.3f} ms   "
          f"max {samples[-1]:6.3f} ms   ({requests} requests)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        url, token = info["url"], info["token"]
        host = urlsplit(url)
        headers = {"Authorization": token}

        conn = http.client.HTTPConnection(host.hostname or "127.0.0.1", host.port, timeout=5)

        def keep_alive() -> None:
            conn.request("GET", "/", headers=headers)
            response = conn.getresponse()
            assert response.status == 200
            json.loads(response.read())

        def new_connection() -> None:
            fresh = http.client.HTTPConnection(host.hostname or "127.0.0.1", host.port,
                                               timeout=5)
            fresh.request("GET", "/", headers=headers)
            response = fresh.getresponse()
            assert response.status == 200
            json.loads(response.read())
            fresh.close()

        from botocore.utils import ContainerMetadataFetcher

        fetcher = ContainerMetadataFetcher()

        def botocore_fetch() -> None:
            assert fetcher.retrieve_full_uri(url, headers=headers)["AccessKeyId"]

        print(f"shellvault exec --server endpoint at {url} (python {sys.version.split()[0]})")
        _timed("keep-alive connection", args.requests, keep_alive)
        _timed("new connection per request", args.requests, new_connection)
        _timed("botocore ContainerMetadataFetcher", args.requests, botocore_fetch)
        conn.close()
    finally:
        if proc.stdin:
            proc.stdin.close()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
