"""Does what a person does on the sandbox's sign-in page: pick a user, press Accept or Cancel.

Plain HTTP (the page has no scripts); the end-to-end suite of the app does the same in a real browser.
"""

from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlparse

import requests


class _Form(HTMLParser):
    def __init__(self):
        super().__init__()
        self.action = None
        self.fields: dict[str, str] = {}
        self.users: dict[str, str] = {}  # upn -> user id

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.action = a.get("action")
        elif tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "input" and a.get("type") == "radio" and a.get("name") == "user":
            self.users[a["data-upn"]] = a["value"]


def sign_in(auth_uri: str, upn: str = "ada@contoso-sandbox.onmicrosoft.com", decision: str = "accept") -> dict:
    """Returns the query parameters the browser was redirected back with."""
    page = requests.get(auth_uri, timeout=10)
    page.raise_for_status()
    form = _Form()
    form.feed(page.text)
    assert form.action and upn in form.users, f"sign-in page without {upn}: {page.text[:500]}"
    data = {**form.fields, "user": form.users[upn], "decision": decision}
    back = requests.post(urljoin(auth_uri, form.action), data=data, allow_redirects=False, timeout=10)
    assert back.status_code in (302, 303), back.text[:500]
    return {k: v[0] for k, v in parse_qs(urlparse(back.headers["location"]).query).items()}


def error_page(auth_uri: str) -> tuple[int, str]:
    page = requests.get(auth_uri, timeout=10)
    return page.status_code, page.text
