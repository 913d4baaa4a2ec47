"""The page's own QR rendering against the SDK: same symbol size as ``partner_sdk.qr_version_m``, sharp
whole-device-pixel modules, and a code zxing-cpp reads back exactly; and the vendored library is the one
the build step records."""
from __future__ import annotations

import hashlib
import json
import time

import pytest
import zxingcpp
from PIL import Image

from partner_sdk.format import qr_version_m
from partner_sdk import testing as sdk_testing

from .conftest import REPO

VENDOR = REPO / "backend" / "static" / "app" / "vendor"


def test_vendored_library_is_what_the_build_step_recorded():
    manifest = json.loads((VENDOR / "MANIFEST.json").read_text())
    lock = json.loads((REPO / "web" / "package-lock.json").read_text())
    for name, entry in manifest.items():
        data = (VENDOR / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], f"{entry['file']} changed outside web/build.mjs"
        assert lock["packages"][f"node_modules/{name}"]["version"] == entry["version"]
        assert (VENDOR / f"LICENSE-{name}.txt").read_text().startswith("MIT License")
        assert f"{name}@{entry['version']}" in data.decode("utf-8").splitlines()[0]


@pytest.fixture(scope="module")
def codes():
    """Real PP1 credentials of different sizes (one to three perks)."""
    issuer = sdk_testing.TestIssuer()
    now = int(time.time())
    perks = [["MOLI-METRO20"], ["MOLI-GOV-PRIORITY", "MOLI-GOV-ASSIST"],
             ["SES-BIKE-NODEPOSIT", "SES-CAR-NODEPOSIT", "SES-FLAT-NODEPOSIT"]]
    return [issuer.credential("metro", p, now).qr_text for p in perks]


def test_page_renders_the_sdk_symbol_sharp_and_readable(make_page, codes, shot_dir):
    page, _ = make_page(locale="en-US")
    page.goto("/app/#/welcome")
    page.wait_for_selector("#go-join")
    for i, text in enumerate(codes):
        info = page.evaluate("""async (text) => {
          const m = await import('/app/js/qr.js');
          const box = document.createElement('div');
          box.id = 'qr-test'; box.className = 'qr-test';
          document.body.prepend(box);
          const svg = m.renderSvg(text, 358, 'test code');
          box.replaceChildren(svg);
          const modules = svg.viewBox.baseVal.width;
          return { version: Number(svg.dataset.version), modules, px: svg.getBoundingClientRect().width,
                   dpr: window.devicePixelRatio };
        }""", text)
        assert info["version"] == qr_version_m(text), "the page must pick the same QR version as the SDK"
        assert info["modules"] == 17 + 4 * info["version"] + 8  # symbol + 4-module quiet zone each side
        device_per_module = info["px"] * info["dpr"] / info["modules"]
        assert abs(device_per_module - round(device_per_module)) < 1e-6, info  # whole device pixels: sharp
        assert info["px"] >= 300, info
        path = shot_dir / f"qr-render-{i}.png"
        page.locator("#qr-test svg").screenshot(path=str(path))
        found = [r.text for r in zxingcpp.read_barcodes(Image.open(path), formats=zxingcpp.BarcodeFormat.QRCode)
                 if r.valid]
        assert found == [text]
        page.evaluate("document.getElementById('qr-test').remove()")
