// slod web page: the SLO list (/) and one SLO (/slos/{id}), drawn from the JSON API
// (docs/slo-api.md). No framework, no network beyond slod itself; charts are inline SVG.
'use strict';

const REFRESH_MS = 15000;
const state = { sort: 'remaining', desc: false, q: '', alert: 'all', range: 'period', timer: null };

function $(sel, el) { return (el || document).querySelector(sel); }
function esc(s) { return String(s == null ? '' : s).replace(/[&<>"']/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c])); }
function pct(x, digits) { return x == null || !isFinite(x) ? '—' : (x * 100).toFixed(digits == null ? 3 : digits) + '%'; }
function num(x, digits) { return x == null || !isFinite(x) ? '—' : Number(x).toFixed(digits == null ? 2 : digits); }
function dur(s) {
  if (s == null || !isFinite(s)) return '—';
  if (s < 0) return 'exhausted';
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  return d ? d + 'd ' + h + 'h' : h ? h + 'h ' + m + 'm' : m + 'm';
}
async function api(path) {
  const r = await fetch(path, { headers: { 'Accept': 'application/json' } });
  const body = await r.json().catch(() => ({ status: 'error', error: 'HTTP ' + r.status }));
  if (body.status !== 'success') throw new Error(body.error || ('HTTP ' + r.status));
  return body.data;
}
function setUpdated(t) { $('#updated').textContent = t ? 'evaluated ' + new Date(t * 1000).toLocaleTimeString() : ''; }

// ---- list ----

function shortBurn(s) { return s.windows && s.windows.length ? s.windows[0].burnRate : null; }
function worstState(s) {
  const st = (s.alerts || []).map(a => a.state);
  return st.includes('firing') ? 'firing' : st.includes('pending') ? 'pending' : 'ok';
}
const COLUMNS = [
  { key: 'service', label: 'Service', get: s => s.service },
  { key: 'name', label: 'SLO', get: s => s.name },
  { key: 'objective', label: 'Objective', get: s => s.objective, num: true },
  { key: 'period', label: 'Period', get: s => s.periodSeconds, num: true },
  { key: 'sli', label: 'SLI (period)', get: s => s.periodWindow && s.periodWindow.errorRatio != null ? 1 - s.periodWindow.errorRatio : null, num: true },
  { key: 'remaining', label: 'Error budget left', get: s => s.errorBudget ? s.errorBudget.remaining : null, num: true },
  { key: 'burn', label: 'Burn now', get: shortBurn, num: true },
  { key: 'alerts', label: 'Alerts', get: s => ({ firing: 0, pending: 1, ok: 2 })[worstState(s)] },
  { key: 'exhaustion', label: 'Budget exhausted in', get: s => s.forecast ? s.forecast.exhaustionSecondsAtCurrentBurn : null, num: true },
];

function budgetBar(s) {
  const r = s.errorBudget ? s.errorBudget.remaining : null;
  if (r == null) return '<span class="muted">no data</span>';
  const w = Math.max(0, Math.min(1, r)) * 100;
  const cls = r <= 0 ? 'exhausted' : r < 0.25 ? 'low' : '';
  return `<span class="bar ${cls}" title="${pct(r, 1)}"><span style="width:${w}%"></span></span> ${pct(r, 1)}`;
}
function alertBadges(s) {
  return (s.alerts || []).map(a => `<span class="badge ${esc(a.state)}" title="${esc(a.longWindow)}/${esc(a.shortWindow)} ×${esc(a.factor)}">${esc(a.severity)}: ${esc(a.state)}</span>`).join('');
}
function cmp(a, b) {
  if (a == null && b == null) return 0;
  if (a == null) return 1;
  if (b == null) return -1;
  return typeof a === 'string' ? a.localeCompare(b) : a - b;
}
function matches(s, q) {
  if (!q) return true;
  const hay = [s.id, s.service, s.name, s.description].concat(Object.entries(s.labels || {}).map(([k, v]) => k + '=' + v)).join(' ').toLowerCase();
  return q.toLowerCase().split(/\s+/).every(t => hay.includes(t));
}
function renderList(data) {
  const app = $('#app');
  const slos = data.slos || [];
  setUpdated(data.evaluatedAt);
  if (!slos.length) {
    app.innerHTML = `<div class="empty" id="empty"><h2>No SLOs loaded</h2>
      <p>Start slod with <code>--slo.files=PATH</code> pointing at Sloth, OpenSLO or Pyrra specs
      (see <code>examples/slos/</code>), then point Prometheus at slod:</p>
      <pre>remote_write:\n  - url: ${esc(location.origin)}/api/v1/write</pre></div>`;
    return;
  }
  const noData = slos.every(s => !s.periodWindow || s.periodWindow.errorRatio == null);
  const col = COLUMNS.find(c => c.key === state.sort) || COLUMNS[5];
  const rows = slos.filter(s => matches(s, state.q))
    .filter(s => state.alert === 'all' || worstState(s) === state.alert)
    .sort((a, b) => (state.desc ? -1 : 1) * cmp(col.get(a), col.get(b)) || cmp(a.id, b.id));
  app.innerHTML = `
    ${noData ? `<div class="empty" id="nodata"><b>No data yet.</b> Point remote-write at
      <code>${esc(location.origin)}/api/v1/write</code>; numbers appear after the first samples arrive.</div>` : ''}
    <div class="controls">
      <input id="search" type="search" placeholder="Search by name or label (team=payments)" value="${esc(state.q)}">
      <select id="alertfilter">
        ${['all', 'firing', 'pending', 'ok'].map(v => `<option value="${v}" ${v === state.alert ? 'selected' : ''}>${v === 'all' ? 'All alert states' : v}</option>`).join('')}
      </select>
      <span class="muted" id="count">${rows.length} of ${slos.length} SLOs</span>
    </div>
    <table id="slos"><thead><tr>${COLUMNS.map(c => `<th data-key="${c.key}" class="${c.num ? 'num' : ''} ${c.key === state.sort ? 'sorted' + (state.desc ? ' desc' : '') : ''}">${c.label}</th>`).join('')}</tr></thead>
    <tbody>${rows.map(s => `<tr data-id="${esc(s.id)}" data-state="${worstState(s)}">
      <td>${esc(s.service)}</td>
      <td><a href="/slos/${encodeURIComponent(s.id)}">${esc(s.name)}</a></td>
      <td class="num">${esc(s.objective)}%</td>
      <td class="num">${esc(s.period)}</td>
      <td class="num sli">${pct(COLUMNS[4].get(s))}</td>
      <td class="remaining">${budgetBar(s)}</td>
      <td class="num burn">${num(shortBurn(s))}×</td>
      <td class="alerts">${alertBadges(s)}</td>
      <td class="num">${dur(COLUMNS[8].get(s))}</td></tr>`).join('')}</tbody></table>`;
  $('#search').addEventListener('input', e => { state.q = e.target.value; renderList(data); $('#search').focus(); });
  $('#alertfilter').addEventListener('change', e => { state.alert = e.target.value; renderList(data); });
  app.querySelectorAll('th').forEach(th => th.addEventListener('click', () => {
    const k = th.dataset.key;
    if (state.sort === k) state.desc = !state.desc; else { state.sort = k; state.desc = false; }
    renderList(data);
  }));
}

// ---- charts ----

function lineChart(points, opts) {
  const W = 600, H = 180, L = 48, R = 8, T = 8, B = 20;
  const pts = points.filter(p => p[1] != null && isFinite(p[1]));
  if (!pts.length) return `<svg class="chart" viewBox="0 0 ${W} ${H}"><text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text></svg>`;
  const x0 = pts[0][0], x1 = pts[pts.length - 1][0] || x0 + 1;
  let y0 = Math.min(...pts.map(p => p[1]), opts.min != null ? opts.min : Infinity);
  let y1 = Math.max(...pts.map(p => p[1]), opts.threshold != null ? opts.threshold : -Infinity);
  if (opts.min != null) y0 = Math.min(y0, opts.min);
  if (y1 === y0) { y1 = y0 + 1; }
  const sx = t => L + (W - L - R) * (x1 === x0 ? 0.5 : (t - x0) / (x1 - x0));
  const sy = v => T + (H - T - B) * (1 - (v - y0) / (y1 - y0));
  const d = pts.map((p, i) => (i ? 'L' : 'M') + sx(p[0]).toFixed(1) + ' ' + sy(p[1]).toFixed(1)).join(' ');
  const area = d + ` L${sx(pts[pts.length - 1][0]).toFixed(1)} ${sy(y0).toFixed(1)} L${sx(pts[0][0]).toFixed(1)} ${sy(y0).toFixed(1)} Z`;
  const fmt = opts.fmt || (v => v.toPrecision(3));
  const ticks = [y0, (y0 + y1) / 2, y1].map(v => `<text x="${L - 4}" y="${sy(v) + 3}" text-anchor="end">${esc(fmt(v))}</text><line class="axis" x1="${L}" x2="${W - R}" y1="${sy(v)}" y2="${sy(v)}" opacity=".4"/>`).join('');
  const xl = [x0, x1].map((t, i) => `<text x="${sx(t)}" y="${H - 4}" text-anchor="${i ? 'end' : 'start'}">${new Date(t * 1000).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })}</text>`).join('');
  const th = opts.threshold != null ? `<line class="threshold" x1="${L}" x2="${W - R}" y1="${sy(opts.threshold)}" y2="${sy(opts.threshold)}"/>` : '';
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" data-points="${pts.length}">${ticks}${xl}<path class="area" d="${area}"/><path class="line" d="${d}"/>${th}</svg>`;
}

// ---- detail ----

const RANGES = { '1h': 3600, '6h': 21600, '1d': 86400, '7d': 604800 };

async function renderDetail(id) {
  const app = $('#app');
  let s, hist, period, notes = [];
  try {
    s = await api('/api/v1/slos/' + encodeURIComponent(id));
  } catch (e) {
    app.innerHTML = `<p><a href="/">← all SLOs</a></p><div class="empty"><h2>SLO not found</h2><p>${esc(e.message)}</p></div>`;
    return;
  }
  setUpdated(s.evaluatedAt);
  const now = s.evaluatedAt || Date.now() / 1000;
  const span = state.range === 'period' ? s.periodSeconds : RANGES[state.range];
  const step = Math.max(60, Math.ceil(span / 300));
  const pstep = Math.max(60, Math.ceil(s.periodSeconds / 300));
  [hist, period, notes] = await Promise.all([
    api(`/api/v1/slos/${encodeURIComponent(id)}/history?start=${now - span}&end=${now}&step=${step}`).catch(() => ({ points: [] })),
    api(`/api/v1/slos/${encodeURIComponent(id)}/history?start=${now - s.periodSeconds}&end=${now}&step=${pstep}`).catch(() => ({ points: [] })),
    api('/api/v1/notifications?slo=' + encodeURIComponent(id)).catch(() => []),
  ]);
  const rem = s.errorBudget ? s.errorBudget.remaining : null;
  const budgetRatio = 1 - s.objective / 100;
  app.innerHTML = `
    <p><a href="/">← all SLOs</a></p>
    <h2>${esc(s.service)} / ${esc(s.name)} <small>${esc(s.id)}</small></h2>
    <p class="muted">${esc(s.description || '')}</p>
    <div class="cards">
      <div class="card"><div class="k">Objective</div><div class="v">${esc(s.objective)}%</div><div class="k">over ${esc(s.period)}</div></div>
      <div class="card"><div class="k">SLI over the period</div><div class="v">${pct(s.periodWindow && s.periodWindow.errorRatio != null ? 1 - s.periodWindow.errorRatio : null)}</div></div>
      <div class="card"><div class="k">Error budget left</div><div class="v ${rem != null && rem <= 0 ? 'bad' : ''}" id="budget-left">${pct(rem, 1)}</div>${budgetBar(s)}</div>
      <div class="card"><div class="k">Burn rate now</div><div class="v">${num(shortBurn(s))}×</div></div>
      <div class="card"><div class="k">Exhausted in (current burn)</div><div class="v">${dur(s.forecast && s.forecast.exhaustionSecondsAtCurrentBurn)}</div>
        <div class="k">at period burn: ${dur(s.forecast && s.forecast.exhaustionSecondsAtPeriodBurn)}</div></div>
    </div>
    <section><div class="controls"><b>Range</b>
      <select id="range">${['1h', '6h', '1d', '7d', 'period'].map(r => `<option ${r === state.range ? 'selected' : ''}>${r}</option>`).join('')}</select></div>
    <div class="charts">
      <div class="chart-box" id="chart-budget"><h3>Error budget remaining (period)</h3>${lineChart((period.points || []).map(p => [p.t, p.budgetRemaining]), { fmt: v => (v * 100).toFixed(0) + '%', threshold: 0 })}</div>
      <div class="chart-box" id="chart-errors"><h3>Error ratio</h3>${lineChart((hist.points || []).map(p => [p.t, p.errorRatio]), { fmt: v => (v * 100).toPrecision(2) + '%', threshold: budgetRatio, min: 0 })}</div>
      <div class="chart-box" id="chart-requests"><h3>Request rate (/s)</h3>${lineChart((hist.points || []).map(p => [p.t, p.requestRate]), { min: 0 })}</div>
    </div></section>
    <section><h3>Multi-window burn rates</h3>
      <table id="burn"><thead><tr><th>Severity</th><th>Long window</th><th>Short window</th><th class="num">Burn (long)</th><th class="num">Burn (short)</th><th class="num">Threshold</th><th>State</th></tr></thead>
      <tbody>${(s.alerts || []).map(a => `<tr><td>${esc(a.severity)}</td><td>${esc(a.longWindow)}</td><td>${esc(a.shortWindow)}</td>
        <td class="num">${num(a.longBurnRate)}×</td><td class="num">${num(a.shortBurnRate)}×</td><td class="num">${num(a.factor)}×</td>
        <td><span class="badge ${esc(a.state)}">${esc(a.state)}</span></td></tr>`).join('')}</tbody></table></section>
    <section><h3>Windows</h3><table><thead><tr><th>Window</th><th class="num">Error ratio</th><th class="num">Burn rate</th></tr></thead>
      <tbody>${(s.windows || []).map(w => `<tr><td>${esc(w.window)}</td><td class="num">${pct(w.errorRatio, 4)}</td><td class="num">${num(w.burnRate)}×</td></tr>`).join('')}</tbody></table></section>
    <section><h3>Recent notifications</h3>${notes.length ? `<table id="notifications"><thead><tr><th>When</th><th>Target</th><th>Alert</th><th>Status</th><th>Delivery</th><th class="num">Attempts</th><th>Last error</th></tr></thead><tbody>
      ${notes.map(n => `<tr><td>${new Date(n.createdAt * 1000).toLocaleString()}</td><td>${esc(n.target)}</td><td>${esc(n.alertname)} ${esc(n.severity || '')}</td><td>${esc(n.status)}</td><td>${esc(n.delivery)}</td><td class="num">${esc(n.attempts)}</td><td>${esc(n.lastError)}</td></tr>`).join('')}</tbody></table>` : '<p class="muted">None.</p>'}</section>
    <section><h3>Spec</h3><p class="muted">${esc(s.source || '')}</p><pre id="spec">${esc(s.spec || '')}</pre></section>`;
  $('#range').addEventListener('change', e => { state.range = e.target.value; renderDetail(id); });
}

// ---- routing ----

async function route() {
  clearTimeout(state.timer);
  const m = location.pathname.match(/^\/slos\/(.+)$/);
  try {
    if (m) await renderDetail(decodeURIComponent(m[1]));
    else renderList(await api('/api/v1/slos'));
  } catch (e) {
    $('#app').innerHTML = `<div class="empty"><h2>slod is not answering</h2><p>${esc(e.message)}</p></div>`;
  }
  state.timer = setTimeout(route, REFRESH_MS);
}
document.addEventListener('click', e => {
  const a = e.target.closest('a');
  if (a && a.origin === location.origin && !e.metaKey && !e.ctrlKey) {
    e.preventDefault();
    history.pushState(null, '', a.pathname);
    route();
  }
});
window.addEventListener('popstate', route);
route();
