"""Shared by the browser tests: Debian's Chromium driven by Playwright, and failure reports kept on each test."""
import os
from pathlib import Path
import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("QLORA_NB_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--disable-quic", "--disable-sync"]

@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    "Keep each phase's report on the test item, so fixtures can tell whether the test failed."
    rep = (yield).get_result()
    setattr(item, f"rep_{rep.when}", rep)

@pytest.fixture(scope="session")
def browser():
    "Debian's Chromium, headless, closed at the end."
    if not Path(CHROMIUM).exists(): pytest.fail(f"no browser at {CHROMIUM}: apt-get install -y chromium, or set QLORA_NB_CHROMIUM")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try: yield b
        finally: b.close()

