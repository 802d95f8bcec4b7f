"""Small HTTP helpers for the sandbox tests."""

from __future__ import annotations

import requests

from sync_platform.engines.sandbox import Sandbox

API = "/services/data/v59.0"


def crm(sb: Sandbox, path: str, method: str = "GET", **kw) -> requests.Response:
    headers = {"Authorization": f"Bearer {sb.env()['CRM_TOKEN']}", **kw.pop("headers", {})}
    return requests.request(method, sb.env()["CRM_BASE_URL"] + path, headers=headers, timeout=10,
                            **kw)


def soql(sb: Sandbox, q: str, all_rows: bool = False, **kw) -> requests.Response:
    return crm(sb, f"{API}/{'queryAll' if all_rows else 'query'}", params={"q": q}, **kw)


def soql_all(sb: Sandbox, q: str, all_rows: bool = False) -> list[dict]:
    """Follow nextRecordsUrl to the end."""
    r = soql(sb, q, all_rows)
    r.raise_for_status()
    body = r.json()
    out = list(body["records"])
    while not body["done"]:
        body = crm(sb, body["nextRecordsUrl"]).json()
        out += body["records"]
    return out


def hs(sb: Sandbox, path: str, method: str = "GET", **kw) -> requests.Response:
    headers = {"Authorization": f"Bearer {sb.env()['MARKETING_TOKEN']}"}
    return requests.request(method, sb.env()["MARKETING_BASE_URL"] + path, headers=headers,
                            timeout=10, **kw)


def shop(sb: Sandbox, path: str, method: str = "GET", **kw) -> requests.Response:
    headers = {"X-Shopify-Access-Token": sb.env()["SHOP_TOKEN"]}
    url = path if path.startswith("http") else sb.env()["SHOP_BASE_URL"] + path
    return requests.request(method, url, headers=headers, timeout=10, **kw)
