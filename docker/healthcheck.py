"""Container health check: GET /health on the local port, as one of the host
names the app accepts, so that production's host validation (ALLOWED_HOSTS)
lets it through. Exit 0 when /health answers 200 (ok or degraded), else 1.

Standard library only; run by the Dockerfile's HEALTHCHECK.
"""

import http.client
import os
import sys


def host_header(allowed_hosts):
    """A Host header that `ALLOWED_HOSTS` (comma separated) accepts."""
    for entry in (part.strip() for part in allowed_hosts.split(",")):
        if not entry or entry == "*":
            continue
        # ".example.com" allows example.com and its subdomains.
        return entry.lstrip(".")
    return "localhost"


def main():
    port = int(os.environ.get("PORT", "8000"))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=4)
    try:
        connection.request("GET", "/health", headers={"Host": host_header(os.environ.get("ALLOWED_HOSTS", ""))})
        status = connection.getresponse().status
    except OSError as exc:
        print(f"health check: {exc}", file=sys.stderr)
        return 1
    finally:
        connection.close()
    if status != 200:
        print(f"health check: /health answered {status}", file=sys.stderr)
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
