"""Does what a person does on the sandbox's sign-in page: pick a user, press Accept or Cancel.

The page is where the sandbox's OpenID configuration sends browsers (`authorization_endpoint`):
plain http://localhost, which browsers open without a warning, so no certificate is involved here.
`sign_in` does it over plain HTTP (the page has no scripts); `chromium_sign_in` in a stock headless
Chromium, as a person's browser does (and as msal's desktop sign-in needs: Entra's form_post
answer is a page whose script posts the code to msal's listener).
"""

from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlparse

import requests


def assert_browser_page(auth_uri: str) -> None:
    """The sign-in page is plain HTTP on loopback: no certificate for a browser to doubt."""
    parts = urlparse(auth_uri)
    assert parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1"), f"not the browser page: {auth_uri}"


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
    assert_browser_page(auth_uri)
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


def chromium_sign_in(auth_uri: str, upn: str = "ada@contoso-sandbox.onmicrosoft.com", decision: str = "accept") -> str:
    """A stock headless Chromium (no certificate exception) opens the page, picks `upn`, presses
    Accept or Cancel, and follows Entra's answer to the redirect URI. Returns the text the app's
    listener showed there."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    assert_browser_page(auth_uri)
    # Where the app listens; the sign-in page is on localhost too, on another port.
    back_at = urlparse(parse_qs(urlparse(auth_uri).query)["redirect_uri"][0]).netloc
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"):
        options.add_argument(arg)
    options.binary_location = "/usr/bin/chromium"
    browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        browser.get(auth_uri)
        WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, f"input[data-upn='{upn}']"))).click()
        browser.find_element(By.ID, decision).click()
        WebDriverWait(browser, 20).until(lambda b: urlparse(b.current_url).netloc == back_at)
        return WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.TAG_NAME, "body"))).text
    finally:
        browser.quit()
