"""The review UI served for real (uvicorn on 127.0.0.1, ephemeral port) over a warehouse and
mappings made by the real engines: decisions land in the same stores as the CLI's and the next
run honours them; the page escapes hostile values; tokens, CSRF and the loopback rule hold."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import requests
import yaml
from click.testing import CliRunner

from sync_platform.cli import main
from sync_platform.engines.canonical import load_entities
from sync_platform.engines.catalog import load_catalog
from sync_platform.engines.identity import resolve, xref_clusters
from sync_platform.engines.identity.decisions import load_decisions
from sync_platform.engines.identity.review import pending_matches
from sync_platform.engines.mapping import load_mapping, pending, propose_mappings
from sync_platform.engines.mapping.store import mapping_path, read_system_mappings
from sync_platform.engines.push import push, resume
from sync_platform.engines.review_queue import review_queue
from sync_platform.review_ui import is_loopback
from sync_platform.review_ui.queue import dom_id
from sync_platform_tests.browser import artifact, chromium_page  # noqa: F401
from sync_platform_tests.engines.push.conftest import configure
from sync_platform_tests.engines.push.helpers import crm_contacts, ledger_states, store_counts

from .conftest import World, csrf_of

JSON = {"Accept": "application/json"}
HOSTILE_SCRIPT = "<script>window.__pwned = 'match'</script>"
HOSTILE_IMG = "<img src=x onerror=\"window.__pwned='mapping'\">"


def _rule(mappings_dir: Path, mapping_id: str, field: str):
    return next(r for r in load_mapping(mappings_dir, mapping_id).mapping_rules
                if r.sources[0] == field)


def _mirrored_rule(warehouse: Path, mapping_id: str, field: str):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        mapping = next(m for m in read_system_mappings(con) if m.id == mapping_id)
    return next(r for r in mapping.mapping_rules if r.sources[0] == field)


def test_approve_a_mapping_in_the_browser(world: World, serve_ui, chromium_page) -> None:  # noqa: F811
    """A person opens the page, names themselves and clicks Approve: the mapping YAML and
    meta.system_mappings say approved (as `mappings approve` would), the card disappears with
    a flash, and the next automatic proposal run keeps the decision."""
    first = pending(world.mappings_dir, world.warehouse)[0]
    mapping_id, field = first["mapping_id"], first["source_fields"][0]
    yaml_file = mapping_path(world.mappings_dir, load_mapping(world.mappings_dir, mapping_id))
    before = yaml_file.read_text()
    assert _rule(world.mappings_dir, mapping_id, field).status == "proposed"
    assert _mirrored_rule(world.warehouse, mapping_id, field).status == "proposed"

    server = serve_ui(world.mappings_dir, world.warehouse)
    page = chromium_page
    page.goto(server.url)
    card = page.locator(f"#{dom_id('m', mapping_id, field)}")
    assert card.is_visible()
    assert first["source_samples"][field][0] in card.inner_text()  # samples side by side
    assert "Why:" in card.inner_text() and f"{round(first['confidence'] * 100)}% sure" in card.inner_text()
    options = card.locator("select[name=target] option").all_inner_texts()
    assert set(load_entities(world.mappings_dir)[first["entity"]].field_names) <= set(options)
    page.fill("#reviewer", "Ada Reviewer")
    page.dispatch_event("#reviewer", "change")
    card.locator("button[value=approve]").click()
    page.wait_for_selector("#flash.ok")
    assert page.inner_text("#flash").startswith(f"Approved {mapping_id}: {field}")
    card.wait_for(state="detached")
    page.wait_for_timeout(300)  # the queue is fetched again after the card fades out
    page.screenshot(path=str(artifact("review_ui.png")))  # what a person sees: flash + queue

    rule = _rule(world.mappings_dir, mapping_id, field)
    assert rule.status == "approved" and rule.decided_by.startswith("Ada Reviewer (")
    assert yaml_file.read_text() != before and "status: approved" in yaml_file.read_text()
    assert _mirrored_rule(world.warehouse, mapping_id, field).status == "approved"
    decisions = yaml.safe_load((world.mappings_dir / "knowledge" / "decisions.yaml").read_text())
    assert decisions["decisions"][-1]["action"] == "approve"
    assert decisions["decisions"][-1]["who"] == "Ada Reviewer"
    assert (mapping_id, field) not in {(p["mapping_id"], p["source_fields"][0])
                                       for p in pending(world.mappings_dir, world.warehouse)}
    # the next automatic run keeps the person's decision
    propose_mappings(world.warehouse, load_catalog(world.mappings_dir, require_secrets=False),
                     load_entities(world.mappings_dir), world.mappings_dir)
    assert _rule(world.mappings_dir, mapping_id, field).status == "approved"


def test_reject_and_correct_without_javascript(world: World, serve_ui) -> None:
    """Plain form posts (no script): post, redirect, flash; correct takes an entity field."""
    items = pending(world.mappings_dir, world.warehouse)
    server = serve_ui(world.mappings_dir, world.warehouse)
    session = requests.Session()
    csrf = csrf_of(session.get(server.url, timeout=10).text)
    rejected, corrected = items[1], items[2]
    answer = session.post(server.url + "decide/mapping", timeout=30, allow_redirects=False, data={
        "csrf": csrf, "action": "reject", "mapping_id": rejected["mapping_id"],
        "source_field": rejected["source_fields"][0]})
    assert answer.status_code == 303 and answer.headers["location"] == "/#mappings"
    page = session.get(server.url, timeout=10).text
    assert f"Rejected {rejected['mapping_id']}: {rejected['source_fields'][0]}" in page
    assert 'class="flash ok"' in page
    assert _rule(world.mappings_dir, rejected["mapping_id"],
                 rejected["source_fields"][0]).status == "rejected"

    fields = load_entities(world.mappings_dir)[corrected["entity"]].field_names
    target = next(f for f in fields if f not in corrected["target_fields"])
    answer = session.post(server.url + "decide/mapping", timeout=30, headers=JSON, data={
        "csrf": csrf, "action": "correct", "mapping_id": corrected["mapping_id"],
        "source_field": corrected["source_fields"][0], "target": target})
    assert answer.status_code == 200 and answer.json()["ok"], answer.text
    rules = load_mapping(world.mappings_dir, corrected["mapping_id"]).mapping_rules
    assert any(r.sources == [corrected["source_fields"][0]] and r.targets == [target]
               and r.status == "approved" for r in rules)
    unknown = session.post(server.url + "decide/mapping", timeout=30, headers=JSON, data={
        "csrf": csrf, "action": "correct", "mapping_id": corrected["mapping_id"],
        "source_field": corrected["source_fields"][0], "target": "no_such_field"})
    assert unknown.status_code == 400 and "no field" in unknown.json()["message"]


def test_match_decision_lands_in_the_cli_store_and_the_next_resolve_honours_it(
        world: World, serve_ui) -> None:
    items = pending_matches(world.warehouse, "contact", world.mappings_dir)
    apart = [i for i in items if i.golden_a != i.golden_b]
    by_ui, by_cli = apart[0], apart[1]
    server = serve_ui(world.mappings_dir, world.warehouse)
    session = requests.Session()
    page = session.get(server.url, timeout=10).text
    assert by_ui.id in page and by_ui.key_a in page and by_ui.key_b in page
    answer = session.post(server.url + "decide/match", timeout=30, headers=JSON, data={
        "csrf": csrf_of(page), "action": "merge", "item_id": by_ui.id, "who": "Grace",
        "note": "same person"})
    assert answer.status_code == 200 and answer.json()["message"].startswith("Recorded MC-0001")
    cli = CliRunner().invoke(main, ["matches", "merge", by_cli.id])  # the CLI, same store
    assert cli.exit_code == 0 and "recorded MC-0002" in cli.output, cli.output

    store = world.mappings_dir / "matches" / "contact.yaml"
    decisions = load_decisions("contact", world.mappings_dir).decisions
    assert store.is_file() and [d.id for d in decisions] == ["MC-0001", "MC-0002"]
    assert (decisions[0].action, decisions[0].who, decisions[0].note) == ("merge", "Grace", "same person")
    assert {decisions[0].record, *decisions[0].with_} == {by_ui.key_a, by_ui.key_b}

    resolve(world.warehouse, load_entities(world.mappings_dir)["contact"],
            mappings_dir=world.mappings_dir, full_rebuild=True)
    xref = {f"{s}|contacts|{i}": g for (s, i), g in xref_clusters(world.warehouse, "contact").items()}
    assert xref[by_ui.key_a] == xref[by_ui.key_b] and xref[by_cli.key_a] == xref[by_cli.key_b]
    after = session.get(server.url, timeout=10).text
    assert by_ui.id not in after and by_cli.id not in after
    again = session.post(server.url + "decide/match", timeout=30, headers=JSON, data={
        "csrf": csrf_of(after), "action": "merge", "item_id": "contact:0000000000"})
    assert again.status_code == 400 and "no pair" in again.json()["message"]


def test_blocked_mass_change_shows_and_can_be_approved_or_cancelled(
        sandbox, mappings_dir: Path, serve_ui) -> None:
    configure(mappings_dir, push={"mass_change_min": 5, "mass_change_share": 0.25})
    catalog = load_catalog()
    warehouse = catalog.warehouse_path
    approve_me = push(catalog, crm_contacts(8)).blocked[0]["approval_id"]
    cancel_me = push(catalog, crm_contacts(7, prefix="c")).blocked[0]["approval_id"]
    assert ledger_states(warehouse) == {"held": 15}
    queued = [i for i in review_queue(mappings_dir, warehouse) if i.kind == "push"]  # the one queue
    assert {i.id for i in queued} == {approve_me, cancel_me}
    assert CliRunner().invoke(main, ["review"]).exit_code == 0

    server = serve_ui(mappings_dir, warehouse)
    session = requests.Session()
    page = session.get(server.url, timeout=10).text
    assert approve_me in page and cancel_me in page and "8 changes held" in page
    assert "Push4" in page and "Push5" not in page and "and 3 more" in page  # 5 writes shown each
    csrf = csrf_of(page)
    approved = session.post(server.url + "decide/push", timeout=30, headers=JSON, data={
        "csrf": csrf, "action": "approve", "approval_id": approve_me})
    assert approved.json() == {"ok": True, "message": f"Approved {approve_me}: 8 writes "
                               "released; the next push or push-resume sends them."}
    cancelled = session.post(server.url + "decide/push", timeout=30, headers=JSON, data={
        "csrf": csrf, "action": "cancel", "approval_id": cancel_me, "who": "Grace"})
    assert cancelled.json()["message"] == f"Cancelled {cancel_me}: 7 writes will not be sent."
    twice = session.post(server.url + "decide/push", timeout=30, headers=JSON, data={
        "csrf": csrf, "action": "cancel", "approval_id": cancel_me})
    assert twice.status_code == 400 and "cancelled, not pending" in twice.json()["message"]
    after = session.get(server.url, timeout=10).text
    assert approve_me not in after and cancel_me not in after and "No pushes blocked." in after

    assert resume(catalog, ["crm"]) == {"acknowledged": 8, "skipped": 7}  # sends the approved
    assert len(store_counts(sandbox, "crm", "Contact", "g")) == 8
    push(catalog, crm_contacts(7, prefix="c"))  # the cancelled change set is not sent
    assert store_counts(sandbox, "crm", "Contact", "c") == {}
    assert ledger_states(warehouse, "c-") == {"skipped": 7}
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute("SELECT approval_id, status, decided_by FROM ops.push_approvals "
                           "ORDER BY status").fetchall() == [(approve_me, "approved", "test-reviewer"),
                                                             (cancel_me, "cancelled", "Grace")]
        # two target records share the email of a create: the push asks instead of creating
        con.execute("CREATE SCHEMA raw_crm")
        con.execute("CREATE TABLE raw_crm.contacts (id VARCHAR, email VARCHAR, external_id__c VARCHAR)")
        con.execute("INSERT INTO raw_crm.contacts VALUES ('003x1', 'twin@push.example', NULL), "
                    "('003x2', 'twin@push.example', NULL)")
    twin = crm_contacts(1, prefix="t")
    twin[0]["payload"]["Email"] = "twin@push.example"
    assert push(catalog, twin).plan["crm.contacts"] == {"review": 1}
    page = session.get(server.url, timeout=10).text
    key = re.search(r'name="key" value="([^"]+)"', page).group(1)
    assert 'value="003x1"' in page and 'value="003x2"' in page and "share email" in page
    skipped = session.post(server.url + "decide/push-review", timeout=30, headers=JSON, data={
        "csrf": csrf, "action": "skip", "key": key, "target_key": "003x1"})
    assert skipped.status_code == 200 and skipped.json()["ok"], skipped.text
    assert ledger_states(warehouse, "t-") == {"skipped": 1}
    assert "No push questions." in session.get(server.url, timeout=10).text


def _make_hostile(world: World) -> tuple[str, dict, object]:
    """A hostile value in a pending proposal's samples and in a pending match's record."""
    item = next(i for i in pending(world.mappings_dir, world.warehouse)  # shown first: "<" < "A"
                if str((i["source_samples"].get(i["source_fields"][0]) or ["0"])[0])[0] > "<")
    column = item["source_fields"][0]
    match = pending_matches(world.warehouse, "contact", world.mappings_dir)[0]
    with duckdb.connect(str(world.warehouse)) as con:
        table = f'raw_{item["source_system"]}."{item["source_table"]}"'
        con.execute(f'UPDATE {table} SET "{column}" = ? WHERE "{column}" = ?',
                    [HOSTILE_IMG, item["source_samples"][column][0]])
        system, table_name, source_id = match.key_a.split("|")
        con.execute("UPDATE staged.contact SET title = ? WHERE source_system = ? AND "
                    "source_table = ? AND source_id = ?", [HOSTILE_SCRIPT, system, table_name, source_id])
    return column, item, match


def test_hostile_values_are_shown_as_text(world: World, serve_ui, chromium_page) -> None:  # noqa: F811
    column, item, match = _make_hostile(world)
    server = serve_ui(world.mappings_dir, world.warehouse)
    html = requests.get(server.url, timeout=10).text
    assert HOSTILE_SCRIPT not in html and HOSTILE_IMG not in html
    assert "&lt;script&gt;window.__pwned = &#39;match&#39;&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&#34;window.__pwned=&#39;mapping&#39;&#34;&gt;" in html

    page = chromium_page
    page.goto(server.url)
    assert page.evaluate("window.__pwned === undefined")
    mapping_card = page.locator(f"#{dom_id('m', item['mapping_id'], column)}")
    assert HOSTILE_IMG in mapping_card.locator("table.samples").inner_text()
    match_card = page.locator(f"#{dom_id('x', match.id)}")
    assert HOSTILE_SCRIPT in match_card.locator("table.pair").inner_text()
    assert page.locator("table script, table img").count() == 0
    headers = requests.get(server.url, timeout=10).headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"


def test_posts_need_the_csrf_token_same_origin_and_a_loopback_host(world: World, serve_ui) -> None:
    first = pending(world.mappings_dir, world.warehouse)[0]
    server = serve_ui(world.mappings_dir, world.warehouse)
    form = {"action": "approve", "mapping_id": first["mapping_id"],
            "source_field": first["source_fields"][0]}
    session = requests.Session()
    csrf = csrf_of(session.get(server.url, timeout=10).text)
    missing = session.post(server.url + "decide/mapping", data=form, headers=JSON, timeout=10)
    assert missing.status_code == 403 and "reload" in missing.json()["message"]
    forged = session.post(server.url + "decide/mapping", data={**form, "csrf": "x" * len(csrf)},
                          headers=JSON, timeout=10)
    assert forged.status_code == 403
    cross = session.post(server.url + "decide/mapping", data={**form, "csrf": csrf}, timeout=10,
                         headers={**JSON, "Origin": "http://evil.example"})
    assert cross.status_code == 403 and "cross-site" in cross.text
    cross_site = session.post(server.url + "decide/mapping", data={**form, "csrf": csrf},
                              timeout=10, headers={**JSON, "Sec-Fetch-Site": "cross-site"})
    assert cross_site.status_code == 403
    rebound = session.get(server.url, headers={"Host": "attacker.example"}, timeout=10)
    assert rebound.status_code == 403  # DNS rebinding: a foreign Host name is refused
    assert _rule(world.mappings_dir, first["mapping_id"], first["source_fields"][0]).status == "proposed"
    port = server.url.rsplit(":", 1)[1].strip("/")
    same = session.post(server.url + "decide/mapping", data={**form, "csrf": csrf}, timeout=30,
                        headers={**JSON, "Origin": f"http://127.0.0.1:{port}"})
    assert same.status_code == 200 and same.json()["ok"]


def test_with_a_token_every_request_needs_it(world: World, serve_ui) -> None:
    token = "t0ken-" + "x" * 20
    server = serve_ui(world.mappings_dir, world.warehouse, token=token)
    for path in ("", "queue", "static/app.js"):
        assert requests.get(server.url + path, timeout=10).status_code == 401
    assert requests.get(server.url, params={"token": "wrong-" + "x" * 20}, timeout=10).status_code == 401
    assert requests.post(server.url + "decide/mapping", data={"action": "approve"},
                         timeout=10).status_code == 401
    assert requests.get(server.url, headers={"X-Review-Token": token}, timeout=10).status_code == 200
    assert requests.get(server.url, headers={"Authorization": f"Bearer {token}"},
                        timeout=10).status_code == 200
    session = requests.Session()
    once = session.get(server.url, params={"token": token}, timeout=10, allow_redirects=False)
    assert once.status_code == 303 and once.headers["location"] == "/"
    assert "httponly" in once.headers["set-cookie"].lower()
    assert "samesite=strict" in once.headers["set-cookie"].lower()
    sneaky = requests.get(server.url + "/evil.example", params={"token": token}, timeout=10,
                          allow_redirects=False)
    assert sneaky.headers["location"] == "/evil.example"  # stays on this server
    page = session.get(server.url, timeout=10)  # the cookie carries it from now on
    assert page.status_code == 200 and "Review queue" in page.text
    assert session.get(server.url + "static/app.js", timeout=10).status_code == 200


def test_the_cli_refuses_a_public_host_without_a_token_and_serves_with_one(world: World) -> None:
    runner = CliRunner(env={"SYNC_REVIEW_UI_TOKEN": ""})
    refused = runner.invoke(main, ["review-ui", "--host", "0.0.0.0"])
    assert refused.exit_code == 2 and "--token" in refused.output
    short = runner.invoke(main, ["review-ui", "--host", "0.0.0.0", "--token", "short"])
    assert short.exit_code == 2 and "too short" in short.output
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert is_loopback("127.8.0.1") and not is_loopback("0.0.0.0") and not is_loopback("10.0.0.5")

    # the real command, in its own process, on a free port, with a token from the environment
    token = "cli-" + "y" * 24
    env = {**os.environ, "SYNC_REVIEW_UI_TOKEN": token}
    command = Path(sys.executable).parent / "sync-platform"
    process = subprocess.Popen([str(command), "review-ui", "--port", "0"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, url = time.monotonic() + 60, None
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
            if found := re.search(r"review UI: (http://127\.0\.0\.1:\d+/)", line):
                url = found.group(1)
        assert url, "the command printed where it listens"
        assert requests.get(url, timeout=10).status_code == 401
        page = requests.get(url, headers={"X-Review-Token": token}, timeout=30)
        assert page.status_code == 200 and "Mapping proposals" in page.text
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
