"""Shopify-style API: Link-header paging, variant updates, inventory levels, auth."""

from __future__ import annotations

import re

import requests

from sync_platform.engines.sandbox import Sandbox

from .helpers import shop

BASE = "/admin/api/2024-07"


def test_auth_required(sandbox: Sandbox) -> None:
    r = requests.get(sandbox.env()["SHOP_BASE_URL"] + f"{BASE}/products.json", timeout=5)
    assert r.status_code == 401
    assert r.json()["errors"].startswith("[API] Invalid API key or access token")


def _next(resp: requests.Response) -> str | None:
    m = re.search(r'<([^>]+)>; rel="next"', resp.headers.get("Link", ""))
    return m.group(1) if m else None


def test_link_header_paging(sandbox: Sandbox) -> None:
    r = shop(sandbox, f"{BASE}/products.json", params={"limit": 25})
    assert re.match(r"^\d+/40$", r.headers["X-Shopify-Shop-Api-Call-Limit"])
    products = list(r.json()["products"])
    url = _next(r)
    assert url and url.startswith(sandbox.env()["SHOP_BASE_URL"]) and "page_info=" in url
    while url:
        r = shop(sandbox, url)
        products += r.json()["products"]
        url = _next(r)
    count = shop(sandbox, f"{BASE}/products/count.json").json()["count"]
    assert len(products) == len({p["id"] for p in products}) >= count
    v = products[0]["variants"][0]
    assert v["sku"].upper().startswith("SKU-") and isinstance(v["inventory_item_id"], int)
    stamps = sorted(p["updated_at"] for p in products)
    pivot = stamps[len(stamps) // 2]
    recent = shop(sandbox, f"{BASE}/products.json",
                  params={"limit": 250, "updated_at_min": pivot}).json()["products"]
    assert len(recent) == sum(1 for s in stamps if s >= pivot)


def test_variant_update_and_inventory(sandbox: Sandbox) -> None:
    product = shop(sandbox, f"{BASE}/products.json", params={"limit": 1}).json()["products"][0]
    vid = product["variants"][0]["id"]
    r = shop(sandbox, f"{BASE}/variants/{vid}.json", "PUT",
             json={"variant": {"id": vid, "inventory_quantity": 17, "price": "21.50"}})
    assert r.status_code == 200
    assert r.json()["variant"]["inventory_quantity"] == 17
    assert r.json()["variant"]["price"] == "21.50"
    got = shop(sandbox, f"{BASE}/variants/{vid}.json").json()["variant"]
    assert got["inventory_quantity"] == 17 and got["updated_at"] > product["updated_at"]
    for bad in ({"inventory_quantity": -1}, {"inventory_quantity": "many"},
                {"inventory_quantity": 1.5}, {"price": "abc"}):
        r = shop(sandbox, f"{BASE}/variants/{vid}.json", "PUT", json={"variant": bad})
        assert r.status_code == 422 and isinstance(r.json()["errors"], dict)
    assert shop(sandbox, f"{BASE}/variants/1.json").status_code == 404
    loc = shop(sandbox, f"{BASE}/locations.json").json()["locations"][0]["id"]
    r = shop(sandbox, f"{BASE}/inventory_levels/set.json", "POST",
             json={"location_id": loc, "inventory_item_id": got["inventory_item_id"],
                   "available": 42})
    assert r.status_code == 200 and r.json()["inventory_level"]["available"] == 42
    assert shop(sandbox, f"{BASE}/variants/{vid}.json").json()["variant"][
        "inventory_quantity"] == 42
