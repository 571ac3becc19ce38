"""A ``$BROWSER`` for the SSO tests: the person who clicks "Allow".

``BROWSER="python tests/sso_browser.py"``: called with the verification URL, it appends
that URL as one line to ``$SSO_BROWSER_LOG`` (one line = one browser tab opened), then,
unless ``SSO_BROWSER_MODE=ignore``, loads the page from the stand-in server
(``tests/sso_standin.py``), follows its ``approve`` link and, in the authorization-code
flow, the redirect to the client's ``http://127.0.0.1:PORT/oauth/callback``.
"""

from __future__ import annotations

import os
import re
import sys
import urllib.parse
import urllib.request


def main() -> int:
    url = sys.argv[1]
    log = os.environ.get("SSO_BROWSER_LOG")
    if log:
        with open(log, "a") as f:
            f.write(url + "\n")
    if os.environ.get("SSO_BROWSER_MODE") == "ignore":
        return 0
    with urllib.request.urlopen(url, timeout=20) as response:
        page = response.read().decode()
    found = re.search(r'id="approve" href="([^"]+)"', page)
    if not found:
        sys.stderr.write(f"sso_browser: no approve link on {url}\n")
        return 1
    approve = urllib.parse.urljoin(url, found.group(1))
    with urllib.request.urlopen(approve, timeout=20) as response:  # follows the redirect
        response.read()
    return 0


if __name__ == "__main__":
    sys.exit(main())
