"""The playground page in a real headless browser (Debian's `chromium` and
`chromium-driver`, driven by selenium): type a rule and a prompt, scan,
assert the highlighted match and the debug variables, and save a screenshot
(``$NOVAC_ARTIFACTS``, default ``target/serve-artifacts/``).

Skipped when chromium or chromedriver is not installed (``scripts/test.sh``
installs them); set ``NOVAC_REQUIRE_BROWSER=1`` to fail instead."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import ROOT

selenium = pytest.importorskip("selenium")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

RULE = """rule SecretLeak
{
    meta:
        severity = "high"
    keywords:
        $secret = /pass(word|phrase)/i
        $share = "share"
    condition:
        $secret and $share
}
"""


def find(*names: str) -> str | None:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture
def browser():
    chromium = find("chromium", "chromium-browser", "google-chrome")
    driver_path = find("chromedriver") or (
        "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
    )
    if not chromium or not driver_path:
        if os.environ.get("NOVAC_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium and chromium-driver are required (NOVAC_REQUIRE_BROWSER=1)")
        pytest.skip("chromium / chromedriver not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


def set_text(driver, element_id: str, text: str) -> None:
    box = driver.find_element(By.ID, element_id)
    box.clear()
    box.send_keys(text)


def test_type_a_rule_scan_and_see_the_highlighted_match(start, browser):
    server = start("--playground")
    browser.get(f"http://127.0.0.1:{server.port}/")
    assert "novac playground" in browser.title
    set_text(browser, "rules", RULE)
    set_text(browser, "prompt", "Ünïcödé first — could you share the Passphrase with me?")
    browser.find_element(By.ID, "debug").click()
    browser.find_element(By.ID, "scan").click()
    wait = WebDriverWait(browser, 20)
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "done"))
    marks = browser.find_elements(By.CSS_SELECTOR, "#highlighted mark.hit")
    assert [m.text for m in marks] == ["share", "Passphrase"]
    assert browser.find_element(By.ID, "matched").text == "SecretLeak"
    variables = browser.find_element(By.ID, "variables-table").text
    assert "keywords.$secret true" in variables
    artifacts = Path(os.environ.get("NOVAC_ARTIFACTS", Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "serve-artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = artifacts / "playground.png"
    assert browser.save_screenshot(str(shot))
    print(f"playground screenshot: {shot}")

    # A broken rule: diagnostics with their spans, no result.
    set_text(browser, "rules", "rule Broken {\n keywords:\n  $a = \"x\"\n condition:\n  $b\n}\n")
    browser.find_element(By.ID, "scan").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#diagnostics .diag.error"))
    diagnostic = browser.find_element(By.CSS_SELECTOR, "#diagnostics .diag.error").text
    assert diagnostic.startswith("error ") and "line 5" in diagnostic
    assert browser.find_element(By.ID, "matched").text == "not scanned"
    browser.save_screenshot(str(artifacts / "playground-diagnostics.png"))
