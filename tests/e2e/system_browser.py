"""The "system browser" the app opens for sign-in, during the end-to-end suite: headless Chromium
driven by chromedriver does what a person does on the sandbox's sign-in page — picks the user
named in IOTM_E2E_UPN, presses Accept (or Cancel when IOTM_E2E_DECISION=cancel) — and follows
Entra's redirect back to the app's loopback listener, then checks the tab says so.

The app launches it through xdg-open, which runs $BROWSER; conftest points $BROWSER here. It is a
stock Chromium with no certificate exception, as a person's browser is: the sandbox serves its
sign-in page on plain http://localhost (a secure context no browser warns about).
"""

import os
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait


def main(url: str) -> None:
    log = Path(os.environ.get("IOTM_E2E_BROWSER_LOG", "/tmp/iotm-e2e-browser.log"))
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"):
        options.add_argument(arg)
    options.binary_location = "/usr/bin/chromium"
    browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    # The app's listener; the sign-in page is on localhost too, on another port.
    back_at = urlparse(parse_qs(urlparse(url).query)["redirect_uri"][0]).netloc
    try:
        browser.get(url)
        upn = os.environ.get("IOTM_E2E_UPN", "ada@contoso-sandbox.onmicrosoft.com")
        WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, f"input[data-upn='{upn}']"))).click()
        browser.find_element(By.ID, os.environ.get("IOTM_E2E_DECISION", "accept")).click()
        WebDriverWait(browser, 20).until(lambda b: urlparse(b.current_url).netloc == back_at)
        heading = WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.TAG_NAME, "h1"))).text
        log.write_text(f"{heading}\n{browser.current_url.split('?')[0]}\n")
    finally:
        browser.quit()


if __name__ == "__main__":
    main(sys.argv[1])
