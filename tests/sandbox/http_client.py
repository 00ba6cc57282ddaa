"""A small HTTP client the tests run inside a sandbox: `python http_client.py URL [BODY]`.

It fetches URL with urllib (so HTTP_PROXY is honoured when it is set), POSTing BODY when
given, and prints one JSON object: the status, and each line of the body with the seconds
since the request was sent when it arrived, or the error. Standard library only.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request


def main(url: str, body: str | None) -> None:
    data = body.encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    start = time.monotonic()
    lines: list[tuple[float, str]] = []
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            status = response.status
            for line in response:
                lines.append((time.monotonic() - start, line.decode()))
    except urllib.error.HTTPError as error:
        status = error.code
        lines = [(time.monotonic() - start, error.read().decode())]
    except (urllib.error.URLError, OSError) as error:
        print(json.dumps({"error": str(error)}))
        return
    print(json.dumps({"status": status, "lines": lines}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
