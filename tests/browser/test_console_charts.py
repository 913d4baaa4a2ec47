"""Issue 22 item 11: the console's charts mean something and the demo console looks like a live city.

Real Chromium against the real backend, with the fortnight ``make demo`` generates (backend/demo/activity.py):
every chart has a legend that lists the reasons it shows in the colour of their severity, the same reason has
the same colour in two charts and in the tables, each chart's table (its text alternative) holds the numbers
the SVG is drawn from, and the figures are those of a city: codes issued through the day with a morning and
an evening peak, a small share of refusals, mostly expired or for another venue, a forgery rarely, a few
replays. Screenshots: docs/screenshots/console-overview*.png (en and zh, desktop and phone) when
PERKPASS_UPDATE_SCREENSHOTS=1."""
from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET

import pytest

from partner_sdk.messages import SEVERITIES, Severity, severity

from .conftest import Server
from .test_accessibility import check
from .test_console import _account, _kiosk_with_counts, _shot, _sign_in

SVG = "{http://www.w3.org/2000/svg}"
CHARTS = ["activity", "grants-by-hour", "refusals-per-day", "refusals-by-reason", "refusals-by-venue-type",
          "grants-by-venue-type"]


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """The demo city with its generated fortnight, as `make demo` leaves it."""
    srv = Server(tmp_path_factory.mktemp("demo-city"))
    from backend.demo.activity import seed_activity
    from backend.extensions import db
    with srv.app.app_context():
        srv.activity = seed_activity(int(time.time()))
        db.session.remove()
    yield srv
    srv.stop()


@pytest.fixture
def city_page(chromium, city):
    made = []

    def factory(width=1280, height=900, mobile=False):
        ctx = chromium.new_context(viewport={"width": width, "height": height}, is_mobile=mobile, has_touch=mobile,
                                   base_url=city.base, locale="en-US")
        ctx.set_default_timeout(15000)
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "401" not in m.text else None)
        made.append((ctx, errors))
        return page

    yield factory
    for ctx, errors in made:
        ctx.close()
        assert not errors, errors


def _overview(page, city, username: str, lang: str = "en") -> None:
    secret = _account(city, username, "operator")
    _sign_in(page, username, secret)
    if lang != "en":
        page.click("#lang")
    page.wait_for_selector(f"#view[data-screen=overview][data-lang={lang}] figure.chart")
    page.wait_for_function("() => [...document.querySelectorAll('figure.chart img')]"
                           ".every(i => i.complete && i.naturalWidth > 0)")


def _svg(page, name: str) -> ET.Element:
    src = page.get_attribute(f"#chart-{name} img", "src")
    r = page.request.get(src)   # the page's own session cookie
    assert r.ok and r.headers["content-type"].startswith("image/svg+xml"), (src, r.status)
    return ET.fromstring(r.text())


def _marks(svg: ET.Element) -> dict[tuple[str, str], tuple[int, str]]:
    """(category, series) -> (value, colour) of every mark the chart draws."""
    out = {}
    for el in svg.iter():
        if "data-value" in el.attrib and "data-category" in el.attrib:
            colour = el.get("fill") if el.tag == SVG + "rect" else el.get("stroke") or el[1].get("fill")
            out[(el.get("data-category"), el.get("data-series"))] = (int(el.get("data-value")), colour.lower())
    return out


def _legend(page, name: str) -> dict[str, dict]:
    """series -> its legend entry: the words, the colour its swatch is drawn in, the reasons it lists."""
    return {li["key"]: li for li in page.locator(f"#chart-{name} .legend li").evaluate_all(
        """lis => lis.map(li => {
             const sw = li.querySelector('svg.swatch'), filled = sw.querySelector('rect, path');
             return {key: li.dataset.series, label: li.querySelector('.lg-label').textContent,
                     colour: filled ? filled.getAttribute('fill') : sw.querySelector('line').getAttribute('stroke'),
                     reasons: [...li.querySelectorAll('[data-reason]')].map(r => [r.dataset.reason, r.textContent])};
           })""")}


def _table(page, name: str) -> tuple[list[str], list[list[str]], list[str]]:
    page.click(f"#chart-{name} details summary")
    head = page.locator(f"#chart-{name} thead th").all_inner_texts()
    rows = page.locator(f"#chart-{name} tbody tr").evaluate_all(
        "trs => trs.map(tr => [...tr.children].map(c => c.textContent.trim()))")
    keys = page.locator(f"#chart-{name} tbody tr").evaluate_all("trs => trs.map(tr => tr.dataset.key)")
    return [x.strip() for x in head], rows, keys


def _int(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text))


def test_the_demo_console_shows_a_believable_fortnight(city, city_page, tmp_path):
    page = city_page()
    _overview(page, city, "ops.city.day")
    stats = {label: _int(n) for label, n in page.locator(".stat").evaluate_all(
        "cs => cs.map(c => [c.querySelector('.l').textContent, c.querySelector('.n').textContent])")}
    issued, grants, refusals, replays = (stats[k] for k in ("Codes issued", "Grants", "Refusals", "Cross-venue replays"))
    # a city's fortnight: thousands of codes a day, more codes issued than scanned (an open code refreshes),
    # a few per cent of scans refused, a handful of copied codes
    assert grants > 14 * 1000 and grants < issued < 4 * grants, stats
    assert 0.01 < refusals / (grants + refusals) < 0.08, stats
    assert 1 <= replays <= 10, stats
    assert stats["Kiosks online"] >= 12 and stats["Kiosks offline"] == 1, stats

    # through the day: the busiest hours are the commute, not noon and not the night
    _head, rows, keys = _table(page, "grants-by-hour")
    per_hour = {int(k[11:13]): _int(r[1]) for k, r in zip(keys, rows, strict=True)}
    assert len(per_hour) == 24
    noon = sum(per_hour[h] for h in (12, 13, 14)) / 3
    assert max(per_hour[h] for h in (7, 8, 9)) > 2 * noon and max(per_hour[h] for h in (17, 18, 19)) > 2 * noon, per_hour
    assert sum(per_hour[h] for h in (1, 2, 3, 4)) == 0, per_hour   # the metro is closed, so is everything else

    # refusals: mostly codes not for here or now, forgeries rare
    _head, rows, keys = _table(page, "refusals-by-reason")
    by_reason = {k: _int(r[2]) for k, r in zip(keys, rows, strict=True)}
    assert sum(by_reason.values()) == refusals
    assert max(by_reason, key=by_reason.get) == "EXPIRED"
    by_severity = {s: sum(n for k, n in by_reason.items() if severity(k) is s) for s in Severity}
    assert max(by_severity, key=by_severity.get) is Severity.CITIZEN
    assert 0 < by_severity[Severity.FORGED] < 0.05 * refusals, by_severity
    assert 0 < by_reason.get("BAD_SIGNATURE", 0) <= 20

    # the grants of each day add up to the total, the busiest venue types are the metro's
    _head, rows, _keys = _table(page, "activity")
    assert sum(_int(r[2]) for r in rows) == grants and sum(_int(r[1]) for r in rows) == issued
    assert sum(_int(r[3]) for r in rows) == replays
    assert min(_int(r[2]) for r in rows[:-1]) > 1000      # every full day is a working city day
    _head, rows, _keys = _table(page, "grants-by-venue-type")
    assert rows[0][0].startswith("Metro") and sum(_int(r[1]) for r in rows) == grants

    # the kiosks report in: every demo kiosk seen, one offline with uploads waiting
    page.click("#nav a[href='#/kiosks']")
    page.wait_for_selector("#kiosk-table tbody tr")
    states = page.locator("#kiosk-table tbody tr td:nth-child(3)").all_inner_texts()
    assert states.count("online") >= 13 and states.count("offline") == 1, states
    # and the copied codes are on the replays screen, each at both Fuzhou stations
    page.click("#nav a[href='#/replays']")
    page.wait_for_selector("#replay-table tbody tr")
    copied = page.locator("#replay-table tbody tr").all_inner_texts()
    assert len(copied) == replays and all("Dongjiekou" in c and "Railway Station" in c for c in copied), copied
    assert page.locator("#replay-table tbody tr td:nth-child(2)").all_inner_texts() == ["2"] * replays  # one replay each


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_legends_list_the_reasons_in_their_colours_and_a_reason_is_one_colour_everywhere(city, city_page, lang):
    _kiosk_with_counts(city, f"Library desk with a bad day {lang}")   # 11 of 52 scans refused: an anomaly
    page = city_page()
    _overview(page, city, f"ops.legend.{lang.lower()}", lang)
    colour_of: dict[str, str] = {}                                     # reason -> colour, first seen
    for name in ("refusals-by-reason", "refusals-per-day", "refusals-by-venue-type"):
        legend = _legend(page, name)
        marks = _marks(_svg(page, name))
        assert legend, name
        for key, item in legend.items():
            sev = Severity(key)
            # the legend names the severity and the reasons it stands for, in the console's language
            assert item["colour"].lower() == SEVERITIES[sev].colour.lower() and item["label"] == SEVERITIES[sev].label.get(lang)
            assert item["reasons"], (name, key)
            for reason, words in item["reasons"]:
                assert severity(reason) is sev
                assert not re.search(r"[A-Z]{2,}_", words), words           # words, never a status code
                if lang == "zh-CN":
                    assert re.search(r"[\u4e00-\u9fff]", words), words
                colour_of.setdefault(reason, item["colour"].lower())
                assert colour_of[reason] == item["colour"].lower(), (name, reason)
            # every bar of this severity is drawn in the legend's colour
            drawn = {c for (_cat, series), (_v, c) in marks.items() if series == key}
            assert drawn == {item["colour"].lower()}, (name, key, drawn)
        # and every severity drawn is in the legend
        assert {series for (_c, series) in marks} == set(legend), name
    # the by-reason chart: each reason's bar is the colour its legend entry gives it
    for (reason, _series), (_v, colour) in _marks(_svg(page, "refusals-by-reason")).items():
        assert colour == colour_of[reason], reason
    # the tables say it with the same colours: the by-reason table's rows, and the anomalies' reasons
    _head, _rows, keys = _table(page, "refusals-by-reason")
    row_colours = page.locator("#chart-refusals-by-reason tbody th svg.swatch rect").evaluate_all(
        "rs => rs.map(r => r.getAttribute('fill').toLowerCase())")
    assert row_colours == [colour_of[k] for k in keys]
    page.click("#nav a[href='#/replays']")
    page.wait_for_selector("#anomaly-table .reason")
    chips = page.locator("#anomaly-table .reason").evaluate_all(
        "cs => cs.map(c => [c.dataset.reason, c.querySelector('rect').getAttribute('fill').toLowerCase(), c.textContent])")
    assert {r for r, _c, _t in chips} >= {"EXPIRED", "REPLAYED", "WRONG_AUDIENCE"}
    for reason, colour, words in chips:
        assert colour == colour_of[reason] and reason not in words, (reason, colour, words)


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_each_charts_table_holds_the_numbers_it_is_drawn_from(city, city_page, lang):
    page = city_page()
    _overview(page, city, f"ops.table.{lang.lower()}", lang)
    assert page.locator("figure.chart").count() == len(CHARTS)
    for name in CHARTS:
        svg = _svg(page, name)
        marks = _marks(svg)
        legend = _legend(page, name)
        head, rows, keys = _table(page, name)
        assert rows and marks, name
        # the image's text alternative is the chart's summary, and the table is named as its description
        img = page.locator(f"#chart-{name} img")
        alt = img.get_attribute("alt")
        assert alt.startswith(page.inner_text(f"#chart-{name} h2")) and re.search(r"\d", alt), alt
        assert page.locator("#" + img.get_attribute("aria-describedby")).evaluate("t => t.tagName") == "TABLE"
        # every number drawn is in the table at its row and column, and the table has no number not drawn
        label_to_series = {item["label"]: key for key, item in legend.items()}
        column_series = [label_to_series.get(h) for h in head]
        if name == "refusals-by-reason":
            column_series = [None, None, None]
            from_table = {(k, severity(k).value): _int(r[2]) for k, r in zip(keys, rows, strict=True)}
        else:
            from_table = {(k, s): _int(cell) for k, r in zip(keys, rows, strict=True)
                          for s, cell in zip(column_series, r, strict=True) if s and _int(cell)}
        drawn = {k: v for k, (v, _c) in marks.items() if v}
        assert from_table == drawn, (name, lang)
        # a stacked chart's total column is the sum of what is stacked
        if head[-1] in ("Total", "合计"):
            for r in rows:
                assert _int(r[-1]) == sum(_int(c) for c in r[1:-1])
        if lang == "zh-CN":
            assert re.search(r"[\u4e00-\u9fff]", " ".join(head) + alt), (name, head)


@pytest.mark.parametrize("lang,phone", [("en", False), ("zh-CN", False), ("en", True), ("zh-CN", True)])
def test_the_demo_overview_passes_axe_and_is_photographed(city, city_page, tmp_path, lang, phone):
    page = city_page(390, 844, mobile=True) if phone else city_page()
    _overview(page, city, f"ops.shot.{lang.lower()}.{int(phone)}", lang)
    suffix = ("-phone" if phone else "") + ("-zh" if lang == "zh-CN" else "")
    _shot(page, "overview" + suffix, tmp_path)
    # nothing wider than the screen: each chart scales to its card, its table scrolls inside its own box
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.click("#chart-refusals-by-reason details summary")
    check(page, f"demo overview {lang}{' phone' if phone else ''}, a table open")
