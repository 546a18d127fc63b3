"""The public page /informator: server-rendered, Polish, usable without JavaScript and without login,
showing directory data only. Driven in a real headless Chromium (Debian's chromium and chromedriver,
never a downloaded browser) against the app served over real HTTP; screenshots go to
test-output/informator/."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from app import demo, directory_demo
from app.api.web.informator import STYLESHEET
from app.bootstrap import Container
from app.config import Settings
from app.main import create_app
from tests.directory_support import with_directory

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
OUTPUT = Path(os.environ.get("SPOJNIA_TEST_OUTPUT", Path(__file__).resolve().parents[2] / "test-output")) / "informator"


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    app = with_directory(create_app(container=container))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://spojnia.test") as http:
        yield http


@pytest.fixture
async def county(container: Container) -> Container:
    await demo.seed(container)  # with persons and workers, to show that none of them reaches the page
    await directory_demo.seed_directory(container)
    return container


# --- over HTTP, without a browser ------------------------------------------------------------------


async def test_the_page_is_polish_html_with_a_strict_policy_and_no_personal_data(
    client: httpx.AsyncClient, county: Container
) -> None:
    search = await client.get("/informator", params={"q": "asystent"})
    service = await client.get(f"/informator/uslugi/{directory_demo.SERVICES[18].id}")

    for page in (search, service):
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert '<html lang="pl">' in page.text
        assert "<script" not in page.text
        for personal in ("Nowak", "Kowalska", "Wiśniewska", "85031204311", "Shevchenko"):
            assert personal not in page.text
    assert "Asystent rodziny" in search.text
    assert "<h1>Asystent rodziny</h1>" in service.text


async def test_a_bad_filter_is_explained_on_the_page_and_an_unknown_service_is_a_404_page(
    client: httpx.AsyncClient,
) -> None:
    bad = await client.get("/informator", params={"miejsce": "0000000"})
    missing = await client.get("/informator/uslugi/00000000-0000-4000-8000-000000000999")
    not_an_id = await client.get("/informator/uslugi/abc")

    assert bad.status_code == 400
    assert 'role="alert"' in bad.text
    assert "Wybierz miejscowość z listy." in bad.text
    assert missing.status_code == not_an_id.status_code == 404
    assert "Nie znaleziono tej usługi" in missing.text


async def test_the_stylesheet_is_served_by_the_app(client: httpx.AsyncClient) -> None:
    response = await client.get("/informator/styl.css")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert ":focus-visible" in response.text


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_text_colours_contrast_with_their_backgrounds_as_wcag_aa_asks() -> None:
    colours = dict(re.findall(r"--([a-z]+):\s*(#[0-9a-f]{6})", STYLESHEET))
    for text in ("text", "muted", "link", "error"):
        for background in ("background", "panel"):
            lighter, darker = sorted((_luminance(colours[text]), _luminance(colours[background])), reverse=True)
            ratio = (lighter + 0.05) / (darker + 0.05)
            assert ratio >= 4.5, f"{text} on {background}: {ratio:.2f}"


# --- in a real browser -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def live_server(settings: Settings) -> Iterator[str]:
    """The app over real HTTP, on its own thread and event loop (its lifespan builds its own container)."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(with_directory(create_app(settings)), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[object]:
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        message = "Debian's chromium and chromium-driver are needed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-background-networking", "--window-size=1280,1600"):
        options.add_argument(flag)
    # The page must work without JavaScript: the browser runs with it switched off.
    options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(0)  # pages load before get() and click() return; a missing element must fail fast
    try:
        yield driver
    finally:
        driver.quit()


def _screenshot(driver: object, name: str) -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{name}.png"
    assert driver.save_screenshot(str(path))  # type: ignore[attr-defined]
    return path


def _submit(driver: object, action: Callable[[], None]) -> None:
    """Submit a form and wait for the next page: the old page's root goes stale once it is replaced."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old_page = driver.find_element(By.TAG_NAME, "html")  # type: ignore[attr-defined]
    action()
    WebDriverWait(driver, 10).until(expected_conditions.staleness_of(old_page))  # type: ignore[arg-type]


def _accessible_basics(driver: object) -> None:
    """What WCAG 2.1 AA asks of every page and a program can check without scripts."""
    from selenium.webdriver.common.by import By

    find = driver.find_elements  # type: ignore[attr-defined]
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "pl"  # type: ignore[attr-defined]
    assert driver.title.strip()  # type: ignore[attr-defined]
    assert len(find(By.TAG_NAME, "h1")) == 1
    assert find(By.TAG_NAME, "main")
    assert find(By.CSS_SELECTOR, "a.skip-link[href='#tresc']")
    for field in find(By.CSS_SELECTOR, "input:not([type=hidden]), select, textarea"):
        field_id = field.get_attribute("id")
        assert field_id
        assert find(By.CSS_SELECTOR, f"label[for='{field_id}']"), f"no label for #{field_id}"
    for link in find(By.TAG_NAME, "a"):
        assert (link.get_attribute("textContent") or "").strip(), f"a link without text: {link.get_attribute('href')}"
    levels = [int(h.tag_name[1]) for h in find(By.CSS_SELECTOR, "h1, h2, h3, h4")]
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), f"heading levels skip: {levels}"
    assert not find(By.CSS_SELECTOR, "img:not([alt])")


def test_a_search_typed_in_the_box_finds_the_service_and_its_page_tells_how_to_apply(
    county: Container, live_server: str, browser: object
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    driver = browser
    driver.get(f"{live_server}/informator")  # type: ignore[attr-defined]
    _accessible_basics(driver)
    box = driver.find_element(By.ID, "q")  # type: ignore[attr-defined]
    box.send_keys("posrednictwo pracy")
    _submit(driver, lambda: box.send_keys(Keys.ENTER))

    first = driver.find_element(By.CSS_SELECTOR, "ol.results li h3 a")  # type: ignore[attr-defined]
    assert first.text == "Pośrednictwo pracy"
    assert "q=posrednictwo+pracy" in driver.current_url  # type: ignore[attr-defined]
    _accessible_basics(driver)
    print(f"screenshot: {_screenshot(driver, 'search-posrednictwo')}")  # noqa: T201 - named in the test output

    _submit(driver, first.click)
    assert driver.find_element(By.TAG_NAME, "h1").text == "Pośrednictwo pracy"  # type: ignore[attr-defined]
    headings = [h.text for h in driver.find_elements(By.TAG_NAME, "h2")]  # type: ignore[attr-defined]
    assert {"Jak skorzystać", "Kontakt", "Gdzie i kiedy"} <= set(headings)
    phone = driver.find_element(By.CSS_SELECTOR, "a[href^='tel:']")  # type: ignore[attr-defined]
    assert phone.text
    hours = driver.find_element(By.CSS_SELECTOR, "table caption")  # type: ignore[attr-defined]
    assert hours.text.startswith("Godziny otwarcia")
    _accessible_basics(driver)
    print(f"screenshot: {_screenshot(driver, 'service-posrednictwo')}")  # noqa: T201

    driver.get(f"{live_server}/informator")  # type: ignore[attr-defined]
    Select(driver.find_element(By.ID, "kategoria")).select_by_visible_text("Wsparcie społeczne")  # type: ignore[attr-defined]
    Select(driver.find_element(By.ID, "miejsce")).select_by_visible_text("Bisztynek")  # type: ignore[attr-defined]
    _submit(driver, driver.find_element(By.CSS_SELECTOR, "form.search button[type=submit]").click)  # type: ignore[attr-defined]
    found = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "ol.results li h3 a")]  # type: ignore[attr-defined]
    assert "Praca socjalna i poradnictwo w Bisztynku" in found
    assert "Praca socjalna w gminie Sępopol" not in found
    assert Select(driver.find_element(By.ID, "miejsce")).first_selected_option.text == "Bisztynek"  # type: ignore[attr-defined]
    print(f"screenshot: {_screenshot(driver, 'filters-bisztynek')}")  # noqa: T201


def test_chromium_is_debians_own(browser: object) -> None:
    """No step downloads a browser: the driver runs /usr/bin/chromium through /usr/bin/chromedriver."""
    capabilities = browser.capabilities  # type: ignore[attr-defined]
    assert capabilities["browserName"] in {"chrome", "chromium"}
    assert shutil.which("chromedriver") in {str(CHROMEDRIVER), None}
