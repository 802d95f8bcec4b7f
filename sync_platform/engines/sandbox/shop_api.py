"""The `shop` system: a Shopify Admin REST API look-alike (products, variants, inventory).

Supported: products list with Link-header cursor paging, updated_at_min, `order` (id asc,
updated_at asc|desc) and `fields`, product count and GET and DELETE (gone for good with its
variants; 404 afterwards), variant GET/PUT, locations, inventory_levels/set (one location;
the variant's inventory_quantity follows it). Timestamps have second precision like Shopify's.
Simplification: when page_info is given, other filters are taken from the cursor and ignored.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from decimal import Decimal, InvalidOperation
from typing import Any

from .http_base import ApiError, Request, Response, RestApi, query_newest
from .store import Record, RecordStore
from .timeutil import parse_datetime_ms, shopify_datetime

PRODUCT_BASE = 7_000_000_000
VARIANT_BASE = 40_000_000_000
ITEM_BASE = 42_000_000_000
LOCATION_ID = 65_000_000_001
LOCATION = {"id": LOCATION_ID, "name": "Main Warehouse", "address1": "500 Harbor Way",
            "address2": None, "city": "Oakland", "zip": "94607", "province": "California",
            "country": "US", "phone": "", "created_at": "2022-01-01T00:00:00-00:00",
            "updated_at": "2022-01-01T00:00:00-00:00", "country_code": "US",
            "country_name": "United States", "province_code": "CA", "legacy": False,
            "active": True, "admin_graphql_api_id": f"gid://shopify/Location/{LOCATION_ID}"}
TOUCH = ("product", "variant")
V = r"(?P<version>\d{4}-\d{2}|unstable)"
ORDERS = ("id asc", "updated_at asc", "updated_at desc")  # products.json `order` values


def render_variant(v: Record) -> dict[str, Any]:
    d = v.data
    return {"id": int(v.id), "product_id": int(v.parent), "title": d.get("title", "Default Title"),
            "price": d.get("price"), "sku": d.get("sku"), "position": 1,
            "inventory_policy": "deny", "compare_at_price": None,
            "fulfillment_service": "manual", "inventory_management": "shopify",
            "option1": d.get("title", "Default Title"), "option2": None, "option3": None,
            "created_at": shopify_datetime(v.created_at),
            "updated_at": shopify_datetime(v.modified_at), "taxable": True, "barcode": None,
            "grams": 0, "weight": 0.0, "weight_unit": "kg",
            "inventory_item_id": int(d["inventory_item_id"]),
            "inventory_quantity": d.get("inventory_quantity", 0),
            "old_inventory_quantity": d.get("inventory_quantity", 0), "requires_shipping": True,
            "admin_graphql_api_id": f"gid://shopify/ProductVariant/{v.id}"}


_PRODUCT_KEYS = {"title", "body_html", "vendor", "product_type", "handle", "tags", "status"}


def render_product(p: Record, variants: list[Record]) -> dict[str, Any]:
    d = p.data
    pid = int(p.id)
    out = {"id": pid, "title": d.get("title"), "body_html": d.get("body_html"),
            "vendor": d.get("vendor"), "product_type": d.get("product_type"),
            "created_at": shopify_datetime(p.created_at), "handle": d.get("handle"),
            "updated_at": shopify_datetime(p.modified_at),
            "published_at": shopify_datetime(p.created_at), "template_suffix": None,
            "published_scope": "web", "tags": d.get("tags", ""),
            "status": "archived" if p.deleted else d.get("status", "active"),
            "admin_graphql_api_id": f"gid://shopify/Product/{pid}",
            "variants": [render_variant(v) for v in variants],
            "options": [{"id": pid + 1_000_000_000, "product_id": pid, "name": "Title",
                         "position": 1, "values": [v.data.get("title", "Default Title")
                                                   for v in variants]}],
            "images": [], "image": None}
    custom = {k: v for k, v in d.items() if k not in _PRODUCT_KEYS}
    if custom:  # custom fields added by mutate(new_field=...) show as metafields
        out["metafields"] = [{"namespace": "custom", "key": k, "value": v, "type":
                              "single_line_text_field"} for k, v in custom.items()]
    return out


def _errors(status: int, errors: Any) -> ApiError:
    return ApiError(status, {"errors": errors})


def _int(value: Any) -> int | None:
    """An integer from JSON (int or integral string), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


class ShopApi(RestApi):
    """Shopify Admin REST API subset."""

    system = "shop"

    def __init__(self, store: RecordStore, token: str, seed: int = 42):
        super().__init__(store, token, seed)
        self._bucket = 0.0
        self._bucket_t = time.monotonic()
        self._lock = threading.Lock()
        base = f"/admin/api/{V}"
        self.route("GET", f"{base}/products\\.json", self.products)
        self.route("GET", f"{base}/products/count\\.json", self.count)
        self.route("GET", f"{base}/products/(?P<id>\\d+)\\.json", self.product)
        self.route("DELETE", f"{base}/products/(?P<id>\\d+)\\.json", self.delete_product)
        self.route("GET", f"{base}/variants/(?P<id>\\d+)\\.json", self.variant)
        self.route("PUT", f"{base}/variants/(?P<id>\\d+)\\.json", self.update_variant)
        self.route("GET", f"{base}/locations\\.json", self.locations)
        self.route("POST", f"{base}/inventory_levels/set\\.json", self.set_level)

    # -- styles --------------------------------------------------------------------------------

    def authorized(self, req: Request) -> bool:
        return req.headers.get("x-shopify-access-token", "") == self.token

    def unauthorized(self) -> Response:
        return Response(401, {"errors": "[API] Invalid API key or access token (unrecognized "
                                        "login or wrong password)"})

    def rate_limited(self, verdict, settings) -> Response:
        return Response(429, {"errors": "Exceeded 2 calls per second for api client. Reduce "
                                        "request rates to resume uninterrupted service."},
                        {"Retry-After": f"{max(verdict.retry_after, 0.1):.1f}"})

    def server_error(self, status: int) -> Response:
        text = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
        return Response(status, {"errors": text.get(status, "Error")})

    def not_found(self, req: Request) -> Response:
        return Response(404, {"errors": "Not Found"})

    def decorate(self, req, resp, verdict, settings) -> None:
        with self._lock:  # leaky bucket: 40 calls, leaks 2 per second
            now = time.monotonic()
            self._bucket = max(0.0, self._bucket - (now - self._bucket_t) * 2) + 1
            self._bucket = min(self._bucket, 40.0)
            self._bucket_t = now
            level = int(round(self._bucket))
        resp.headers["X-Shopify-Shop-Api-Call-Limit"] = f"{level}/40"
        if settings.rate_limit is not None and resp.status == 429:
            resp.headers["X-Shopify-Shop-Api-Call-Limit"] = "40/40"

    # -- products ------------------------------------------------------------------------------

    def products(self, req: Request) -> Response:
        try:
            limit = max(1, min(250, int(req.param("limit", "50"))))
        except ValueError as exc:
            raise _errors(400, {"limit": ["is not a number"]}) from exc
        page_info = req.param("page_info")
        if page_info:
            try:
                raw = page_info + "=" * (-len(page_info) % 4)
                state = json.loads(base64.urlsafe_b64decode(raw))
                after, min_ms, status = state["last"], state["min"], state.get("status")
                order = state.get("order", "id asc")
            except (ValueError, KeyError, TypeError) as exc:
                raise _errors(400, {"page_info": ["Invalid value."]}) from exc
        else:
            after, status = None, req.param("status")
            order = " ".join((req.param("order") or "id asc").lower().split())
            if " " not in order:
                order += " asc"
            if order not in ORDERS:
                raise _errors(400, {"order": ["is invalid (the sandbox supports "
                                              + ", ".join(sorted(ORDERS)) + ")"]})
            text = req.param("updated_at_min")
            try:
                min_ms = parse_datetime_ms(text) if text else None
            except ValueError as exc:
                raise _errors(400, {"updated_at_min": ["is not a valid date"]}) from exc
        fields = [f.strip() for f in (req.param("fields") or "").split(",") if f.strip()]
        deleted = None if status in (None, "any") else status == "archived"
        with self.store.reading() as conn:
            if order == "updated_at desc":
                recs = query_newest(conn, "product", deleted=deleted, min_modified=min_ms,
                                    before=tuple(after) if after else None, limit=limit + 1)
            elif order == "updated_at asc":
                recs = RecordStore.query(conn, "product", deleted=deleted, min_modified=min_ms,
                                         after_mod=tuple(after) if after else None,
                                         limit=limit + 1)
            else:
                recs = RecordStore.query(conn, "product", deleted=deleted, min_modified=min_ms,
                                         after_rid=after, order="rid", limit=limit + 1)
            page = recs[:limit]
            variants = RecordStore.children(conn, "variant", [p.id for p in page]) \
                if not fields or "variants" in fields else []
        by_parent: dict[str, list[Record]] = {}
        for v in variants:
            by_parent.setdefault(v.parent, []).append(v)
        products = [render_product(p, by_parent.get(p.id, [])) for p in page]
        if fields:  # only the fields asked for, as Shopify answers `fields=id,updated_at`
            products = [{k: v for k, v in p.items() if k in fields} for p in products]
        out = {"products": products}
        headers = {}
        if len(recs) > limit:
            last = page[-1].rid if order.startswith("id") else [page[-1].modified_at, page[-1].id]
            cursor = base64.urlsafe_b64encode(json.dumps(
                {"last": last, "min": min_ms, "status": status, "order": order}).encode()).decode()
            cursor = cursor.rstrip("=")
            version = req.match.group("version")
            url = f"{req.base_url}/admin/api/{version}/products.json?limit={limit}&page_info={cursor}"
            if fields:
                url += "&fields=" + ",".join(fields)
            headers["Link"] = f'<{url}>; rel="next"'
        return Response(200, out, headers)

    def count(self, req: Request) -> Response:
        text = req.param("updated_at_min")
        min_ms = parse_datetime_ms(text) if text else None
        with self.store.reading() as conn:
            n = RecordStore.count(conn, "product", deleted=False, min_modified=min_ms)
        return Response(200, {"count": n})

    def product(self, req: Request) -> Response:
        with self.store.reading() as conn:
            p = RecordStore.get(conn, "product", req.match.group("id"))
            if p is None:
                raise _errors(404, "Not Found")
            variants = RecordStore.children(conn, "variant", [p.id])
        return Response(200, {"product": render_product(p, variants)})

    def delete_product(self, req: Request) -> Response:
        """DELETE /products/{id}.json: the product and its variants are removed (200 {})."""
        with self.store.transaction() as conn:
            p = RecordStore.get(conn, "product", req.match.group("id"))
            if p is None:
                raise _errors(404, "Not Found")
            RecordStore.remove(conn, "variant", [v.id for v in RecordStore.children(conn, "variant", [p.id])])
            RecordStore.remove(conn, "product", [p.id])
        return Response(200, {})

    # -- variants and inventory ----------------------------------------------------------------

    def variant(self, req: Request) -> Response:
        with self.store.reading() as conn:
            v = RecordStore.get(conn, "variant", req.match.group("id"))
        if v is None:
            raise _errors(404, "Not Found")
        return Response(200, {"variant": render_variant(v)})

    def update_variant(self, req: Request) -> Response:
        body = req.json()
        data = body.get("variant") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise _errors(400, {"variant": ["Required parameter missing or invalid"]})
        changes: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        if "inventory_quantity" in data:
            qty = _int(data["inventory_quantity"])
            if qty is None:
                errors["inventory_quantity"] = ["is not a number"]
            elif qty < 0:
                errors["inventory_quantity"] = ["must be greater than or equal to 0"]
            else:
                changes["inventory_quantity"] = qty
        if "price" in data:
            try:
                price = Decimal(str(data["price"]))
                if isinstance(data["price"], bool) or not price.is_finite():
                    raise InvalidOperation
                if price < 0:
                    errors["price"] = ["must be greater than or equal to 0"]
                else:
                    changes["price"] = f"{price:.2f}"
            except InvalidOperation:
                errors["price"] = ["is not a number"]
        if "sku" in data:
            if data["sku"] is not None and not isinstance(data["sku"], str):
                errors["sku"] = ["is invalid"]
            elif data["sku"] and len(data["sku"]) > 255:
                errors["sku"] = ["is too long (maximum is 255 characters)"]
            else:
                changes["sku"] = data["sku"]
        if errors:
            raise _errors(422, errors)
        with self.store.transaction() as conn:
            v = RecordStore.get(conn, "variant", req.match.group("id"))
            if v is None:
                raise _errors(404, "Not Found")
            ts = RecordStore.next_timestamp(conn, TOUCH, step_ms=1000)
            v.data.update(changes)
            RecordStore.update(conn, v, ts)
            p = RecordStore.get(conn, "product", v.parent)
            if p is not None:
                RecordStore.update(conn, p, ts)
        return Response(200, {"variant": render_variant(v)})

    def locations(self, req: Request) -> Response:
        return Response(200, {"locations": [LOCATION]})

    def set_level(self, req: Request) -> Response:
        body = req.json()
        if not isinstance(body, dict):
            raise _errors(400, {"inventory_level": ["Required parameter missing or invalid"]})
        loc, item, available = (_int(body.get("location_id")), _int(body.get("inventory_item_id")),
                                _int(body.get("available")))
        if available is None:
            raise _errors(422, {"available": ["is not a number"]})
        if loc != LOCATION_ID:
            raise _errors(422, {"location_id": ["Location not found"]})
        with self.store.transaction() as conn:
            v = RecordStore.find(conn, "variant", "ext_key", str(item))
            if v is None:
                raise _errors(422, {"inventory_item_id": ["Inventory item does not exist"]})
            ts = RecordStore.next_timestamp(conn, TOUCH, step_ms=1000)
            v.data["inventory_quantity"] = available
            RecordStore.update(conn, v, ts)
            p = RecordStore.get(conn, "product", v.parent)
            if p is not None:
                RecordStore.update(conn, p, ts)
        return Response(200, {"inventory_level": {
            "inventory_item_id": item, "location_id": LOCATION_ID, "available": available,
            "updated_at": shopify_datetime(ts),
            "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{LOCATION_ID}?"
                                    f"inventory_item_id={item}"}})
