"""The dashboard (`/dashboard`, Workers static assets) and `/v1/stats`: traffic of a tenant of
its own (some answers priced, some cached, some failing) is counted the same by the ledger
(`/v1/usage`) and by the stats' buckets; the page, signed in with the tenant's key and then
with the admin key, shows `/v1/usage`'s totals in headless Chromium (Debian's `chromium`,
driven by Playwright without a browser download), and nothing leaves for another origin."""

import secrets
import shutil
import time

import httpx
import pytest

from conftest import ADMIN_KEY

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def chat(gateway, key, model, content, **body):
    return httpx.post(gateway.url + "/v1/chat/completions", timeout=30, headers={"authorization": f"Bearer {key}"},
                      json={"model": model, "messages": [{"role": "user", "content": content}], **body})


def get(gateway, path, key, **params):
    r = httpx.get(gateway.url + path, params=params, headers={"authorization": f"Bearer {key}"}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def tenant(gateway):
    """A runtime key in a tenant of its own, with traffic settled: 4 priced answers (2 of them
    cache hits) and 2 failures. Returns (key, tenant, usage)."""
    name = "dash-" + secrets.token_hex(4)
    r = httpx.post(gateway.url + "/admin/keys", json={"name": name, "tenant": name}, headers={"authorization": f"Bearer {ADMIN_KEY}"})
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    marker = "dashboard " + name
    sent = 0
    for i in range(2):
        r = chat(gateway, key, "up-priced", f"{marker} {i}", temperature=0)
        sent += 1
        assert r.status_code == 200, r.text
    hits, deadline = 0, time.time() + 10
    while hits < 2 and time.time() < deadline:
        r = chat(gateway, key, "up-priced", f"{marker} 0", temperature=0)
        sent += 1
        assert r.status_code == 200
        hits += r.headers["x-switchyard-cache"] == "HIT"
        time.sleep(0.2)
    assert hits == 2, "the first answer was cached"
    failures = [chat(gateway, key, "up-status-400", f"{marker} bad {i}") for i in range(2)]
    sent += 2
    # One cascade answer, for the gates' table: its weak rung refused twice, its strong one passed.
    r = chat(gateway, key, "r-cascade", f"{marker}: what is 6*7?")
    sent += 1
    assert r.status_code == 200, r.text
    assert [f.status_code for f in failures] == [400, 400]
    # Settlements reach the tenant's object after the replies.
    deadline = time.time() + 15
    while (u := get(gateway, "/v1/usage", key))["total"]["calls"] < sent and time.time() < deadline:
        time.sleep(0.3)
    total = u["total"]
    assert (u["tenant"], total["calls"], total["errors"], total["cache_hits"]) == (name, sent, 2, 2), u
    assert total["cost_nano_usd"] > 0 and total["saved_usd"] != "0.000000000"
    return key, name, u


def test_stats_buckets_count_what_the_ledger_counts(gateway, tenant):
    key, name, usage = tenant
    total = usage["total"]
    s = get(gateway, "/v1/stats", key)
    assert (s["object"], s["tenant"], s["queue_depth"]) == ("stats", name, 0)
    for scale in ("minutes", "hours"):
        # [start_ms, requests, errors, cache_hits, saved_nano_usd, cost_nano_usd, p50, p95, p99]
        rows = s[scale]
        assert sum(r[1] for r in rows) == total["calls"], scale
        assert sum(r[2] for r in rows) == total["errors"] == 2, scale
        assert sum(r[3] for r in rows) == total["cache_hits"] == 2, scale
        assert sum(r[5] for r in rows) == total["cost_nano_usd"], scale
        assert all(r[6] is not None and r[6] <= r[7] <= r[8] for r in rows), rows
        for dim in ("_by_model", "_by_key"):
            named = s[scale + dim]
            assert sum(r[2] for r in named) == total["calls"] and sum(r[6] for r in named) == total["cost_nano_usd"], scale + dim
        assert {r[1] for r in s[scale + "_by_model"]} == {"up-priced", "up-status-400", "r-cascade"}
        assert {r[1] for r in s[scale + "_by_key"]} == {name}
    assert s["hours"][-1][0] <= s["now_ms"] < s["hours"][-1][0] + 3_600_000
    assert {"target", "state"} <= set(s["breakers"][0]), s["breakers"][:1]
    # The admin key reads the same tenant by name; a gateway key cannot name one.
    by_admin = get(gateway, "/v1/stats", ADMIN_KEY, tenant=name)
    assert by_admin["tenant"] == name and sum(r[1] for r in by_admin["minutes"]) == total["calls"]
    assert get(gateway, "/v1/usage", ADMIN_KEY, tenant=name)["total"] == total
    named = httpx.get(gateway.url + "/v1/stats", params={"tenant": "dev"}, headers={"authorization": f"Bearer {key}"})
    assert named.status_code == 400 and named.json()["error"]["code"] == "invalid_query"
    assert httpx.get(gateway.url + "/v1/stats").status_code == 401
    assert httpx.get(gateway.url + "/v1/usage", headers={"authorization": f"Bearer {ADMIN_KEY}"}).status_code == 400


def test_the_page_is_a_static_asset_and_the_rest_still_reaches_the_worker(gateway):
    page = httpx.get(gateway.url + "/dashboard")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Content-Security-Policy" in page.text and "default-src 'none'" in page.text
    for path, kind in (("/dashboard/app.js", "javascript"), ("/dashboard/style.css", "text/css")):
        r = httpx.get(gateway.url + path)
        assert r.status_code == 200 and kind in r.headers["content-type"], path
    # Paths with no asset are the worker's, as before.
    for path in ("/", "/dashboard/nope", "/v1/nope"):
        r = httpx.get(gateway.url + path)
        assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_route", path
    assert httpx.get(gateway.url + "/healthz").json()["status"] == "ok"


def test_the_page_shows_the_usage_totals_in_chromium(gateway, tenant, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.skip("chromium is not installed (scripts/setup installs it)")
    key, name, usage = tenant
    total = usage["total"]
    requests, problems = [], []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(gateway.url + "/dashboard")
        page.fill("#key", key)
        page.click("#signin button[type=submit]")
        page.wait_for_selector("body[data-state=ready]", timeout=15_000)
        shot = tmp_path / "dashboard.png"
        page.screenshot(path=str(shot), full_page=True)
        shown = {i: page.text_content("#" + i) for i in
                 ("total-requests", "total-errors", "total-tokens", "total-cost", "total-cache-hits", "total-saved", "queue-depth")}
        charts = page.locator("figure[data-chart] svg").count()
        models = page.text_content("#by-model")
        breakers = page.locator("#breakers tr").count()
        gates = page.text_content("#gates")

        # Signed out, then in with the admin key and the tenant's name: the same totals.
        page.click("#signout")
        page.fill("#key", ADMIN_KEY)
        page.fill("#tenant", name)
        page.click("#signin button[type=submit]")
        page.wait_for_selector("body[data-state=ready]", timeout=15_000)
        by_admin = page.text_content("#total-requests"), page.text_content("#total-cost"), page.text_content("#gates")
        # A refused key is reported in the page.
        page.click("#signout")
        page.fill("#key", "sk-not-a-key")
        page.click("#signin button[type=submit]")
        page.wait_for_selector("body[data-state=error]", timeout=15_000)
        error = page.text_content("#error")
        browser.close()

    assert shot.stat().st_size > 10_000
    assert shown == {
        "total-requests": str(total["calls"]),
        "total-errors": str(total["errors"]),
        "total-tokens": str(total["input_tokens"] + total["output_tokens"]),
        "total-cost": total["cost_usd"],
        "total-cache-hits": str(total["cache_hits"]),
        "total-saved": total["saved_usd"],
        "queue-depth": "0",
    }
    assert by_admin == (str(total["calls"]), total["cost_usd"], gates)
    # The gates' records: the weak rung checked twice and never passed, the strong one passed.
    assert "r-cascade" in gates and "cascade-weak2" in gates.replace(" ", "") and "cascade-strong11100%" in gates.replace(" ", ""), gates
    assert charts == 6 and "up-priced" in models and breakers > 1
    assert "401" in error and "invalid_api_key" in error
    # Nothing left for another origin, and the strict CSP refused nothing the page does.
    assert requests and all(u.startswith(gateway.url + "/") for u in requests), [u for u in requests if not u.startswith(gateway.url)]
    assert not [m for m in problems if "401" not in m], problems
