"""The page, its stylesheet and its script, as inline strings (nothing to package or build).

Jinja2 with autoescape renders every value: records, samples and evidence come from business
systems and may hold markup (`<script>` in a name is text on this page). The script is served
from /static/app.js and the Content-Security-Policy allows no inline script, so markup that slipped
through still would not run. Without JavaScript every button is a plain form post (post, redirect,
flash); with it, the decided card fades out, a flash says what was recorded and the queue is
fetched again.
"""

from __future__ import annotations

from jinja2 import DictLoader, Environment, StrictUndefined

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Review queue · sync_platform</title>
<link rel="stylesheet" href="/static/app.css">
<script src="/static/app.js" defer></script>
</head>
<body>
<header class="top">
  <h1>Review queue</h1>
  <p class="lead">What the platform was not sure about. Each decision is recorded exactly as the
  <code>sync-platform</code> commands record it, and the next run applies it.</p>
  <label class="who">Your name <input id="reviewer" value="{{ reviewer }}" maxlength="60"
    autocomplete="name"></label>
</header>
<div id="flash" class="flash {{ flash_kind }}" role="status" aria-live="polite"
  {%- if not flash_message %} hidden{% endif %}>{{ flash_message }}</div>
<main id="queue">{% include "queue.html" %}</main>
</body>
</html>
"""

QUEUE = """<p class="summary" id="summary"><strong>{{ q.total }}{{ "+" if q.matches_more }}</strong>
waiting: {{ q.mappings_total }} mapping proposal{{ "s" if q.mappings_total != 1 }},
{{ q.matches|length }}{{ "+" if q.matches_more }} uncertain match{{ "es" if q.matches|length != 1 }},
{{ q.approvals|length }} blocked push{{ "es" if q.approvals|length != 1 }},
{{ q.push_reviews|length }} push question{{ "s" if q.push_reviews|length != 1 }}.</p>
{% for p in q.problems %}<p class="problem">{{ p }}</p>{% endfor %}
{% if q.warehouse_missing %}<p class="problem">No warehouse yet at {{ warehouse }}: only mapping
proposals can be shown. Run <code>sync-platform demo</code> or the Dagster jobs first.</p>{% endif %}

<section id="mappings" aria-labelledby="mappings-title">
<h2 id="mappings-title">Mapping proposals <span class="count">{{ q.mappings_total }}</span></h2>
<p class="help">Does this column of a business system hold that field? Approve, reject, or pick the
right field.</p>
{% for m in q.mappings %}
<article class="card mapping" id="{{ m.dom_id }}" data-mapping="{{ m.mapping_id }}"
  data-source="{{ m.source_field }}">
  <header>
    <h3><span class="where">{{ m.system }}.{{ m.table }}</span> <code>{{ m.sources }}</code>
      → <code>{{ m.targets }}</code> <span class="muted">({{ m.entity }}, {{ m.kind }})</span></h3>
    <span class="confidence {{ m.level }}">{{ m.percent }}% sure</span>
  </header>
  {% if m.rows %}
  <table class="samples">
    <thead><tr>{% for c in m.columns %}<th scope="col"><span class="role">{{ c.role }}</span>
      {{ c.title }}</th>{% endfor %}</tr></thead>
    <tbody>{% for row in m.rows %}<tr>{% for v in row %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}</tbody>
  </table>
  {% if m.personal %}<p class="muted">Personal data: values are shown masked.</p>{% endif %}
  {% else %}<p class="muted">No sample values to show.</p>{% endif %}
  <p class="evidence"><strong>Why:</strong> {{ m.evidence }}</p>
  {% if m.transform %}<p class="muted">Transform: {{ m.transform }}</p>{% endif %}
  <form class="decide" method="post" action="/decide/mapping">
    <input type="hidden" name="csrf" value="{{ csrf }}">
    <input type="hidden" name="mapping_id" value="{{ m.mapping_id }}">
    <input type="hidden" name="source_field" value="{{ m.source_field }}">
    <button type="submit" name="action" value="approve" class="approve">Approve</button>
    <button type="submit" name="action" value="reject" class="reject">Reject</button>
    <span class="correct"><label>or map to
      <select name="target">{% for f in m.fields %}<option value="{{ f.value }}" title="{{ f.description }}"
        {%- if f.selected %} selected{% endif %}>{{ f.label }}</option>{% endfor %}</select></label>
      <button type="submit" name="action" value="correct">Correct</button></span>
  </form>
</article>
{% else %}<p class="empty">No mapping proposals waiting.</p>{% endfor %}
{% if q.mappings_total > q.mappings|length %}<p class="more">{{ q.mappings_total - q.mappings|length }}
more wait behind these.</p>{% endif %}
</section>

<section id="matches" aria-labelledby="matches-title">
<h2 id="matches-title">Uncertain matches <span class="count">{{ q.matches|length }}{{ "+" if q.matches_more }}</span></h2>
<p class="help">Are these two records the same real-world person or company? Merge them,
keep them apart, or split records that are now merged.</p>
{% for x in q.matches %}
<article class="card match" id="{{ x.dom_id }}" data-item="{{ x.id }}">
  <header>
    <h3>Same {{ x.entity }}? <span class="muted">{{ x.id }}</span></h3>
    <span class="confidence {{ x.level }}">{{ x.percent }}% match</span>
  </header>
  <p class="muted">{{ x.reason }}{% if x.together %}; now in one golden record{% endif %}</p>
  <table class="pair">
    <thead><tr><th scope="col">field</th><th scope="col">{{ x.key_a }}</th>
      <th scope="col">{{ x.key_b }}</th><th scope="col"><span class="sr">same?</span></th></tr></thead>
    <tbody>{% for r in x.rows %}<tr class="{{ 'same' if r.same else 'differs' }}">
      <th scope="row">{{ r.field }}</th><td>{{ r.a }}</td><td>{{ r.b }}</td>
      <td class="sign">{{ "=" if r.same else "≠" }}</td></tr>{% endfor %}</tbody>
  </table>
  <p class="evidence"><strong>Evidence:</strong> {{ x.evidence }}</p>
  <form class="decide" method="post" action="/decide/match">
    <input type="hidden" name="csrf" value="{{ csrf }}">
    <input type="hidden" name="item_id" value="{{ x.id }}">
    <button type="submit" name="action" value="merge" class="approve"
      title="The same {{ x.entity }}: always one golden record">Same: merge</button>
    <button type="submit" name="action" value="not_a_match" class="reject"
      title="Different: never one golden record">Not a match</button>
    <button type="submit" name="action" value="split"
      title="Separate these two records if they are merged now">Split</button>
    <input name="note" placeholder="note (optional)" maxlength="200">
  </form>
  {% if x.held %}
  <form class="decide" method="post" action="/decide/group">
    <input type="hidden" name="csrf" value="{{ csrf }}">
    <input type="hidden" name="entity" value="{{ x.entity }}">
    <input type="hidden" name="golden_id" value="{{ x.golden_id }}">
    <button type="submit" name="action" value="accept">Accept the whole group {{ x.golden_id }} as one</button>
  </form>
  {% endif %}
</article>
{% else %}<p class="empty">No uncertain matches waiting.</p>{% endfor %}
{% if q.matches_more %}<p class="more">More wait behind these.</p>{% endif %}
</section>

<section id="pushes" aria-labelledby="pushes-title">
<h2 id="pushes-title">Blocked pushes <span class="count">{{ q.approvals|length }}</span></h2>
<p class="help">The mass-change guard holds a push that would change too much of a system at once.
Approve it to send it with the next push, or cancel it.</p>
{% for p in q.approvals %}
<article class="card push" id="{{ p.dom_id }}" data-approval="{{ p.id }}">
  <header>
    <h3><span class="where">{{ p.target }}.{{ p.table }}</span>: {{ p.changes }} changes held</h3>
    <span class="confidence low">{{ p.share }}% of records</span>
  </header>
  <p>This push would change {{ p.share }}% of the
    {{ p.target_records if p.target_records is not none else "(not yet landed)" }} records of
    {{ p.target }}.{{ p.table }}; the limit is {{ p.threshold }}%. Held since {{ p.requested_at }}.</p>
  {% if p.writes %}
  <table class="writes">
    <thead><tr><th scope="col">golden id</th><th scope="col">write</th><th scope="col">changes</th></tr></thead>
    <tbody>{% for w in p.writes %}<tr><td>{{ w.golden_id }}</td><td>{{ w.operation }}</td><td>
      <ul class="changes">{% for c in w.changes %}<li><code>{{ c.field }}</code>:
        {% if c.before %}<del>{{ c.before }}</del> → {% endif %}<ins>{{ c.after }}</ins></li>{% endfor %}</ul>
    </td></tr>{% endfor %}</tbody>
  </table>
  {% if p.changes > p.writes|length %}<p class="muted">… and {{ p.changes - p.writes|length }} more.</p>{% endif %}
  {% endif %}
  <form class="decide" method="post" action="/decide/push">
    <input type="hidden" name="csrf" value="{{ csrf }}">
    <input type="hidden" name="approval_id" value="{{ p.id }}">
    <button type="submit" name="action" value="approve" class="approve">Approve: send these changes</button>
    <button type="submit" name="action" value="cancel" class="reject">Cancel: do not send</button>
  </form>
</article>
{% else %}<p class="empty">No pushes blocked.</p>{% endfor %}

<h2 id="push-questions">Push questions <span class="count">{{ q.push_reviews|length }}</span></h2>
<p class="help">The push found a possible existing record instead of creating a new one.</p>
{% for r in q.push_reviews %}
<article class="card push-review" id="{{ r.dom_id }}" data-key="{{ r.key }}">
  <header><h3><span class="where">{{ r.target }}.{{ r.table }}</span>: create {{ r.entity }}
    {{ r.golden_id }}?</h3></header>
  <p>{{ r.reason }}</p>
  <form class="decide" method="post" action="/decide/push-review">
    <input type="hidden" name="csrf" value="{{ csrf }}">
    <input type="hidden" name="key" value="{{ r.key }}">
    {% if r.candidates %}<fieldset><legend>Existing records</legend>
      {% for c in r.candidates %}<label><input type="radio" name="target_key" value="{{ c.key }}"
        {%- if loop.first %} checked{% endif %}> {{ c.key }} <span class="muted">{{ c.details }}</span></label>
      {% endfor %}</fieldset>
    {% else %}<p class="muted">{{ r.candidates_text }}</p>
      <label>Existing record id <input name="target_key" maxlength="200"></label>{% endif %}
    <button type="submit" name="action" value="match" class="approve">Use the existing record</button>
    <button type="submit" name="action" value="create">Create a new record</button>
    <button type="submit" name="action" value="skip" class="reject">Skip this write</button>
  </form>
</article>
{% else %}<p class="empty">No push questions.</p>{% endfor %}
</section>
"""

CSS = """
:root { --fg: #1d2430; --muted: #5b6575; --line: #d8dde6; --bg: #f6f7f9; --card: #fff;
  --ok: #1f7a3d; --bad: #b3261e; --accent: #2456c7; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: var(--fg); background: var(--bg); }
header.top { padding: 18px 28px 8px; background: var(--card); border-bottom: 1px solid var(--line);
  display: grid; grid-template-columns: 1fr auto; gap: 4px 24px; align-items: end; }
header.top h1 { margin: 0; font-size: 24px; }
header.top .lead { margin: 0; color: var(--muted); grid-column: 1; }
header.top .who { grid-column: 2; grid-row: 1 / span 2; color: var(--muted); }
main { padding: 8px 28px 40px; max-width: 1400px; }
h2 { margin: 28px 0 4px; font-size: 19px; }
h2 .count { display: inline-block; min-width: 1.8em; padding: 0 6px; border-radius: 10px;
  background: var(--accent); color: #fff; font-size: 13px; text-align: center; }
.help, .muted, .more, .empty { color: var(--muted); }
.summary { font-size: 16px; }
.problem { padding: 8px 12px; background: #fff4e5; border: 1px solid #f0c36d; border-radius: 6px; }
.flash { position: sticky; top: 0; z-index: 5; margin: 0; padding: 10px 28px; font-weight: 600; }
.flash.ok { background: #e3f4e8; color: var(--ok); border-bottom: 1px solid #9fd3ae; }
.flash.error { background: #fde8e6; color: var(--bad); border-bottom: 1px solid #f0a8a1; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 12px 16px; margin: 12px 0; max-height: 3000px; overflow: hidden;
  transition: opacity .35s ease, max-height .4s ease, margin .4s ease, padding .4s ease; }
.card.busy { opacity: .6; }
.card.decided { opacity: 0; max-height: 0; margin: 0; padding-top: 0; padding-bottom: 0; }
.card > header { display: flex; justify-content: space-between; gap: 12px; align-items: baseline; }
.card h3 { margin: 0 0 6px; font-size: 16px; font-weight: 600; }
.where { color: var(--muted); font-weight: 500; }
.card h3 .muted { font-weight: 400; font-size: 14px; }
.confidence { white-space: nowrap; font-size: 13px; padding: 1px 8px; border-radius: 10px; }
.confidence.high { background: #e3f4e8; color: var(--ok); }
.confidence.medium { background: #fff4e5; color: #8a5a00; }
.confidence.low { background: #fde8e6; color: var(--bad); }
table { border-collapse: collapse; margin: 6px 0; font-size: 14px; }
th, td { border: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top;
  overflow-wrap: anywhere; max-width: 420px; }
thead th { background: #eef1f6; font-weight: 600; }
th .role { display: block; font-weight: 400; color: var(--muted); font-size: 12px; }
table.pair tr.differs td { background: #fff8e6; }
table.pair td.sign { text-align: center; color: var(--muted); }
ul.changes { margin: 0; padding-left: 16px; }
del { color: var(--bad); } ins { color: var(--ok); text-decoration: none; }
.evidence { margin: 6px 0; }
form.decide { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-top: 8px; }
form.decide fieldset { flex-basis: 100%; border: 1px solid var(--line); border-radius: 6px; }
form.decide fieldset label { display: block; }
button { font: inherit; padding: 5px 14px; border-radius: 6px; border: 1px solid #aab3c2;
  background: #fff; cursor: pointer; }
button:hover { border-color: var(--accent); }
button.approve { background: var(--ok); border-color: var(--ok); color: #fff; }
button.reject { color: var(--bad); border-color: #e0a29c; }
button:disabled { opacity: .5; cursor: wait; }
input, select { font: inherit; padding: 4px 6px; border: 1px solid #aab3c2; border-radius: 6px; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
code { font-size: 13px; background: #eef1f6; padding: 0 4px; border-radius: 4px; }
"""

JS = """'use strict';
(() => {
  const flash = (message, ok) => {
    const box = document.getElementById('flash');
    box.textContent = message;
    box.className = 'flash ' + (ok ? 'ok' : 'error');
    box.hidden = false;
  };
  const reviewer = document.getElementById('reviewer');
  if (reviewer) {
    const saved = window.localStorage.getItem('sync-review-reviewer');
    if (saved) reviewer.value = saved;
    reviewer.addEventListener('change', () =>
      window.localStorage.setItem('sync-review-reviewer', reviewer.value.trim()));
  }
  const refresh = async () => {
    const response = await fetch('/queue', {credentials: 'same-origin',
                                            headers: {'Accept': 'text/html'}});
    if (response.ok) document.getElementById('queue').innerHTML = await response.text();
  };
  document.addEventListener('submit', async (event) => {
    const form = event.target;
    if (!form.matches('form.decide')) return;
    event.preventDefault();
    const data = new URLSearchParams(new FormData(form));
    if (event.submitter && event.submitter.name) data.set(event.submitter.name, event.submitter.value);
    if (reviewer && reviewer.value.trim()) data.set('who', reviewer.value.trim());
    const card = form.closest('.card');
    const buttons = card.querySelectorAll('button');
    card.classList.add('busy');
    buttons.forEach((b) => { b.disabled = true; });
    let body;
    try {
      // getAttribute: the buttons are named "action", which shadows form.action
      const response = await fetch(form.getAttribute('action'), {method: 'POST', body: data,
        credentials: 'same-origin', headers: {'Accept': 'application/json'}});
      const type = response.headers.get('content-type') || '';
      body = type.includes('json') ? await response.json()
        : {ok: false, message: response.status + ': ' + (await response.text()).slice(0, 200)};
    } catch (error) {
      body = {ok: false, message: 'The decision was not sent: ' + error};
    }
    flash(body.message, body.ok);
    if (!body.ok) {
      card.classList.remove('busy');
      buttons.forEach((b) => { b.disabled = false; });
      return;
    }
    card.classList.remove('busy');
    card.classList.add('decided');
    window.setTimeout(() => { card.remove(); refresh(); }, 450);
  });
})();
"""

_ENV = Environment(loader=DictLoader({"page.html": PAGE, "queue.html": QUEUE}),
                   autoescape=True,
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render(name: str, **context) -> str:
    return _ENV.get_template(name).render(**context)
