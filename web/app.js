// slod web page: the SLO list (/) and one SLO (/slos/{id}), drawn from slod's JSON API
// (docs/slo-api.md, docs/web.md). No framework and no network beyond slod itself; charts are inline
// SVG sized to their box (redrawn on resize, so text is never stretched).
//
// State: `state` holds the list's sort/search/filter (mirrored in the URL query so a view can be
// shared) and the detail page's chart range. Every REFRESH_MS the current view re-fetches its data;
// the list then only replaces its table body, so typing in the search box is never interrupted.
'use strict';

const REFRESH_MS = 15000;
const state = { refreshMs: REFRESH_MS, sort: 'remaining', desc: false, q: '', alert: 'all', range: null, timer: null, list: null, view: 0 };

function $(sel, el) { return (el || document).querySelector(sel); }
function esc(s) { return String(s == null ? '' : s).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c])); }
function finite(x) { return x != null && isFinite(x); }
// A percentage with enough digits to tell 99.9 % from 99.95 %: 3 decimals near 100 %, fewer elsewhere.
function pct(x, digits) {
  if (!finite(x)) return '—';
  const v = x * 100;
  if (digits == null) digits = Math.abs(v) >= 99 && Math.abs(v) < 100 ? 3 : Math.abs(v) < 1 && v !== 0 ? 3 : 1;
  return v.toFixed(digits) + '%';
}
function burn(x) {
  if (!finite(x)) return '—';
  return (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)) + '×';
}
function dur(s) {
  if (!finite(s)) return '—';
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  return d >= 365 ? '> 1 year' : d ? d + 'd ' + h + 'h' : h ? h + 'h ' + m + 'm' : m + 'm';
}
async function api(path) {
  const r = await fetch(path, { headers: { 'Accept': 'application/json' } });
  const body = await r.json().catch(() => ({ status: 'error', error: 'HTTP ' + r.status }));
  if (body.status !== 'success') throw new Error(body.error || ('HTTP ' + r.status));
  return body.data;
}
function setUpdated(t) {
  $('#updated').textContent = t ? 'evaluated ' + new Date(t * 1000).toLocaleTimeString() : '';
}

// ---- what the list and the detail page show for one SLO ----

function sli(s) { return s.periodWindow && finite(s.periodWindow.errorRatio) ? 1 - s.periodWindow.errorRatio : null; }
function remaining(s) { return s.errorBudget && finite(s.errorBudget.remaining) && hasData(s) ? s.errorBudget.remaining : null; }
function hasData(s) { return !!(s.periodWindow && finite(s.periodWindow.errorRatio)); }
// Burn rate now: the shortest window's (the one the fastest alert tier looks at).
function burnNow(s) {
  const w = (s.windows || []).slice().sort((a, b) => a.seconds - b.seconds)[0];
  return w ? w.burnRate : null;
}
function worstState(s) {
  const st = (s.alerts || []).map(a => a.state);
  return st.includes('firing') ? 'firing' : st.includes('pending') ? 'pending' : 'ok';
}
// Seconds until the budget is gone at the current burn; -1 when it already is, Infinity when the
// burn rate is 0 (never), null without data.
function exhaustion(s) {
  const r = remaining(s);
  if (r == null) return null;
  if (r <= 0) return -1;
  const f = s.forecast && s.forecast.exhaustionSecondsAtCurrentBurn;
  return finite(f) ? f : Infinity;
}
function exhaustionText(s) {
  const e = exhaustion(s);
  return e == null ? '—' : e < 0 ? '<b class="bad">exhausted</b>' : e === Infinity ? 'never' : esc(dur(e));
}
function budgetBar(s) {
  const r = remaining(s);
  if (r == null) {
    // windows already have samples, the period's first 5-minute bucket is not complete yet
    const some = (s.windows || []).some(w => finite(w.errorRatio));
    return some ? '<span class="muted" title="The first samples are in; the period is counted in 5-minute buckets, the first one completes within 5 minutes.">collecting…</span>'
      : '<span class="muted">no data</span>';
  }
  const w = Math.max(0, Math.min(1, r)) * 100;
  const cls = r <= 0 ? 'exhausted' : r < 0.25 ? 'low' : '';
  return `<span class="bar ${cls}" role="meter" aria-valuenow="${(r * 100).toFixed(1)}" title="${pct(r)} of the error budget left"><span style="width:${w.toFixed(1)}%"></span></span><span class="barnum ${r <= 0 ? 'bad' : ''}">${pct(r, 1)}</span>`;
}
// One pill per alert tier, grouped by severity: "page [1h] [6h]  ticket [1d] [3d]".
function alertTiers(s) {
  const by = new Map();
  for (const a of s.alerts || []) {
    if (!by.has(a.severity)) by.set(a.severity, []);
    by.get(a.severity).push(a);
  }
  if (!by.size) return '<span class="muted">no alerts</span>';
  return [...by].map(([sev, tiers]) => `<span class="sev">${esc(sev)}</span>` + tiers.map(a =>
    `<span class="tier ${esc(a.state)}" data-state="${esc(a.state)}" title="${esc(sev)} ${esc(a.longWindow)}/${esc(a.shortWindow)} over ${esc(a.factor)}× burn: ${esc(a.state)}">${esc(a.longWindow)}${a.state === 'firing' ? ' firing' : a.state === 'pending' ? ' pending' : ''}</span>`).join('')).join(' ');
}
function labelChips(labels) {
  return Object.entries(labels || {}).map(([k, v]) => `<span class="chip">${esc(k)}=${esc(v)}</span>`).join('');
}

// ---- list ----

const COLUMNS = [
  { key: 'service', label: 'Service', get: s => s.service },
  { key: 'name', label: 'SLO', get: s => s.name },
  { key: 'objective', label: 'Objective', get: s => s.objective, num: true },
  { key: 'period', label: 'Period', get: s => s.periodSeconds, num: true },
  { key: 'sli', label: 'SLI (period)', get: sli, num: true },
  { key: 'remaining', label: 'Error budget left', get: remaining, num: true },
  { key: 'burn', label: 'Burn now', get: burnNow, num: true },
  { key: 'alerts', label: 'Alerts', get: s => ({ firing: 0, pending: 1, ok: 2 })[worstState(s)] },
  { key: 'exhaustion', label: 'Budget gone in', get: s => { const e = exhaustion(s); return e === Infinity ? 1e300 : e; }, num: true },
];

function cmp(a, b) {
  if (a == null && b == null) return 0;
  if (a == null) return 1;   // no data sorts last, whichever the direction
  if (b == null) return -1;
  return typeof a === 'string' ? a.localeCompare(b) : a - b;
}
function matches(s, q) {
  if (!q) return true;
  const hay = [s.id, s.service, s.name, s.description].concat(Object.entries(s.labels || {}).map(([k, v]) => k + '=' + v)).join(' ').toLowerCase();
  return q.toLowerCase().split(/\s+/).filter(Boolean).every(t => hay.includes(t));
}
function readQuery() {
  const p = new URLSearchParams(location.search);
  if (p.has('sort') && COLUMNS.some(c => c.key === p.get('sort'))) state.sort = p.get('sort');
  state.desc = p.get('desc') === '1';
  state.q = p.get('q') || '';
  state.alert = ['firing', 'pending', 'ok'].includes(p.get('alert')) ? p.get('alert') : 'all';
}
// ?refresh=N (seconds, 1..3600) on any page: how often the data is re-read, e.g. for a wall screen.
function readRefresh() {
  const n = parseInt(new URLSearchParams(location.search).get('refresh'), 10);
  state.refreshMs = n >= 1 && n <= 3600 ? n * 1000 : REFRESH_MS;
}
function writeQuery() {
  const p = new URLSearchParams();
  if (state.sort !== 'remaining') p.set('sort', state.sort);
  if (state.desc) p.set('desc', '1');
  if (state.q) p.set('q', state.q);
  if (state.alert !== 'all') p.set('alert', state.alert);
  if (state.refreshMs !== REFRESH_MS) p.set('refresh', String(state.refreshMs / 1000));
  const qs = p.toString();
  history.replaceState(null, '', '/' + (qs ? '?' + qs : ''));
}

function emptyNoSlos() {
  return `<div class="empty" id="empty"><h2>No SLOs loaded</h2>
    <p>Start slod with <code>--slo.files=PATH</code> pointing at Sloth, OpenSLO or Pyrra specs (files or
    directories; <code>examples/slos/</code> has some), or without it to load the bundled examples.
    Check them first with <code>slod validate -i PATH</code>.</p></div>`;
}
function remoteWriteHint() {
  return `<pre>remote_write:\n  - url: ${esc(location.origin)}/api/v1/write</pre>`;
}

function renderListShell(data) {
  const slos = data.slos || [];
  const noData = slos.every(s => !hasData(s));
  $('#app').innerHTML = `
    <div id="nodata-slot">${noData ? noDataBox() : ''}</div>
    <div class="controls">
      <input id="search" type="search" placeholder="Search name or label (team=payments)" value="${esc(state.q)}" aria-label="Search SLOs">
      <select id="alertfilter" aria-label="Filter by alert state">
        ${['all', 'firing', 'pending', 'ok'].map(v => `<option value="${v}" ${v === state.alert ? 'selected' : ''}>${v === 'all' ? 'All alert states' : v === 'ok' ? 'Not alerting' : v[0].toUpperCase() + v.slice(1)}</option>`).join('')}
      </select>
      <span class="muted" id="count"></span>
    </div>
    <div class="tablewrap"><table id="slos" class="list"><thead><tr>${COLUMNS.map(c =>
      `<th data-key="${c.key}" class="${c.num ? 'num' : ''}" tabindex="0" aria-sort="none">${c.label}</th>`).join('')}</tr></thead>
    <tbody></tbody></table></div>
    <p class="muted foot">Sorted by <span id="sortname"></span>. Click a column to sort; click again to reverse.
      Numbers refresh every ${state.refreshMs / 1000} s. Raw data: <a href="/api/v1/slos">/api/v1/slos</a>.
      Grafana dashboards: <a href="/ui/grafana/slo-overview.json" download>overview</a>,
      <a href="/ui/grafana/slo-detail.json" download>detail</a>.</p>`;
  $('#search').addEventListener('input', e => { state.q = e.target.value; writeQuery(); renderRows(); });
  $('#alertfilter').addEventListener('change', e => { state.alert = e.target.value; writeQuery(); renderRows(); });
  $('#app').querySelectorAll('th').forEach(th => {
    const go = () => {
      const k = th.dataset.key;
      if (state.sort === k) state.desc = !state.desc; else { state.sort = k; state.desc = false; }
      writeQuery();
      renderRows();
    };
    th.addEventListener('click', go);
    th.addEventListener('keydown', e => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); go(); } });
  });
}
function noDataBox() {
  return `<div class="empty" id="nodata"><h2>No data yet</h2>
    <p>The SLOs are loaded, but no samples for their queries have arrived. Point Prometheus's
    remote-write at slod; numbers appear once the first minutes of data are in:</p>${remoteWriteHint()}
    <p class="muted">Or push a test sample: <code>curl --data-binary 'http_requests_total{code="200"} 1' ${esc(location.origin)}/api/v1/import/prometheus</code></p></div>`;
}
function renderRows() {
  const data = state.list;
  const slos = data.slos || [];
  const col = COLUMNS.find(c => c.key === state.sort) || COLUMNS[5];
  const rows = slos.filter(s => matches(s, state.q))
    .filter(s => state.alert === 'all' || worstState(s) === state.alert)
    .sort((a, b) => {
      const va = col.get(a), vb = col.get(b);
      if (va == null || vb == null) return cmp(va, vb) || cmp(a.id, b.id);
      return (state.desc ? -1 : 1) * cmp(va, vb) || cmp(a.id, b.id);
    });
  $('#app').querySelectorAll('th').forEach(th => {
    const on = th.dataset.key === state.sort;
    th.classList.toggle('sorted', on);
    th.classList.toggle('desc', on && state.desc);
    th.setAttribute('aria-sort', on ? (state.desc ? 'descending' : 'ascending') : 'none');
  });
  $('#sortname').textContent = col.label.toLowerCase() + (state.desc ? ', descending' : ', ascending');
  $('#count').textContent = `${rows.length} of ${slos.length} SLO${slos.length === 1 ? '' : 's'}`;
  $('#slos tbody').innerHTML = rows.length ? rows.map(s => `<tr data-id="${esc(s.id)}" data-state="${worstState(s)}" class="${worstState(s)}">
      <td data-label="Service" class="service">${esc(s.service)}</td>
      <td data-label="SLO" class="name"><a href="/slos/${encodeURIComponent(s.id)}">${esc(s.name)}</a>${labelChips(s.labels)}</td>
      <td data-label="Objective" class="num objective">${esc(s.objective)}%</td>
      <td data-label="Period" class="num period">${esc(s.period)}</td>
      <td data-label="SLI (period)" class="num sli">${pct(sli(s))}</td>
      <td data-label="Budget left" class="remaining">${budgetBar(s)}</td>
      <td data-label="Burn now" class="num burn">${burn(burnNow(s))}</td>
      <td data-label="Alerts" class="alerts">${alertTiers(s)}</td>
      <td data-label="Budget gone in" class="num exhaustion">${exhaustionText(s)}</td></tr>`).join('')
    : `<tr class="none"><td colspan="${COLUMNS.length}" class="muted">No SLO matches${state.q ? ' “' + esc(state.q) + '”' : ''}${state.alert !== 'all' ? ' with alert state ' + esc(state.alert) : ''}.</td></tr>`;
}
async function showList(view) {
  const data = await api('/api/v1/slos');
  if (view !== state.view) return;
  setUpdated(data.evaluatedAt);
  const had = state.list;
  state.list = data;
  const slos = data.slos || [];
  const firing = slos.filter(s => worstState(s) === 'firing').length;
  document.title = (firing ? `(${firing} firing) ` : '') + 'slod — SLOs';
  if (!slos.length) { $('#app').innerHTML = emptyNoSlos(); return; }
  if (!had || !$('#slos')) renderListShell(data);
  else $('#nodata-slot').innerHTML = slos.every(s => !hasData(s)) ? noDataBox() : '';
  renderRows();
}

// ---- charts ----

// "Nice" tick values covering [lo, hi]: steps of 1, 2 or 5 × 10^k.
function niceTicks(lo, hi, n) {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / Math.max(1, n);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map(m => m * mag).find(s => s >= raw) || 10 * mag;
  const out = [];
  for (let v = Math.floor(lo / step + 1e-9) * step; v < hi + step * (1 - 1e-9); v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}
function timeLabel(t, span) {
  const d = new Date(t * 1000);
  if (span > 2 * 86400) return d.toLocaleDateString([], { month: 'short', day: 'numeric' });
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}
// Draws series = [{points: [[t, v]...], cls}] into a box of the element's width. opts: fmt(v) for
// the y labels, min/max to include in the y range, lines: [{v, cls, label}] horizontal markers,
// zeroFloor: never go below 0, from/to: the x range.
function drawChart(el) {
  const { series, opts } = el._chart;
  const W = Math.max(240, Math.floor(el.clientWidth || 600)), H = W < 420 ? 150 : 180;
  const L = 52, R = 10, T = 10, B = 22;
  const all = series.flatMap(s => s.points.filter(p => finite(p[1])));
  const x0 = opts.from, x1 = opts.to > opts.from ? opts.to : opts.from + 1;
  if (!all.length) {
    el.innerHTML = `<svg class="chart" width="${W}" height="${H}" data-points="0"><text class="nodata" x="${W / 2}" y="${H / 2}" text-anchor="middle">${esc(opts.empty || 'no data in this range')}</text></svg>`;
    return;
  }
  const vals = all.map(p => p[1]).concat((opts.lines || []).filter(l => l.include !== false).map(l => l.v));
  let y0 = Math.min(...vals, opts.min != null ? opts.min : Infinity), y1 = Math.max(...vals, opts.max != null ? opts.max : -Infinity);
  if (opts.zeroFloor) y0 = Math.min(0, y0);
  if (y1 - y0 < 1e-12) { y1 = y0 + (Math.abs(y0) || 1) * 0.1; y0 = opts.zeroFloor && y0 >= 0 ? 0 : y0 - (Math.abs(y0) || 1) * 0.1; }
  const ticks = niceTicks(y0, y1, H < 170 ? 3 : 4);
  y0 = Math.min(y0, ticks[0]); y1 = Math.max(y1, ticks[ticks.length - 1]);
  const sx = t => L + (W - L - R) * (t - x0) / (x1 - x0);
  const sy = v => T + (H - T - B) * (1 - (v - y0) / (y1 - y0));
  const fmt = opts.fmt || (v => +v.toPrecision(3) + '');
  let out = ticks.map(v => `<line class="grid" x1="${L}" x2="${W - R}" y1="${sy(v).toFixed(1)}" y2="${sy(v).toFixed(1)}"/><text x="${L - 6}" y="${(sy(v) + 3.5).toFixed(1)}" text-anchor="end">${esc(fmt(v))}</text>`).join('');
  const nx = Math.max(2, Math.min(6, Math.floor((W - L - R) / 110)));
  for (let i = 0; i <= nx; i++) {
    const t = x0 + (x1 - x0) * i / nx;
    out += `<text x="${sx(t).toFixed(1)}" y="${H - 6}" text-anchor="${i === 0 ? 'start' : i === nx ? 'end' : 'middle'}">${esc(timeLabel(t, x1 - x0))}</text>`;
  }
  for (const s of series) {
    let d = '', pen = false, first = null, last = null;
    for (const p of s.points) {
      if (!finite(p[1])) { pen = false; continue; }
      d += (pen ? 'L' : 'M') + sx(p[0]).toFixed(1) + ' ' + sy(p[1]).toFixed(1);
      pen = true;
      if (!first) first = p;
      last = p;
    }
    if (!d) continue;
    if (s.area) out += `<path class="area ${s.cls || ''}" d="${d}L${sx(last[0]).toFixed(1)} ${sy(Math.max(y0, 0)).toFixed(1)}L${sx(first[0]).toFixed(1)} ${sy(Math.max(y0, 0)).toFixed(1)}Z"/>`;
    out += `<path class="line ${s.cls || ''}" d="${d}"/>`;
    // a lone point has no segment to stroke: mark it
    if (s.points.filter(p => finite(p[1])).length === 1) out += `<circle class="dot ${s.cls || ''}" cx="${sx(last[0]).toFixed(1)}" cy="${sy(last[1]).toFixed(1)}" r="3"/>`;
  }
  for (const l of opts.lines || []) {
    if (l.v < y0 || l.v > y1) continue;
    out += `<line class="marker ${l.cls || ''}" x1="${L}" x2="${W - R}" y1="${sy(l.v).toFixed(1)}" y2="${sy(l.v).toFixed(1)}"/>`;
    if (l.label) out += `<text class="marker-label ${l.cls || ''}" x="${W - R - 2}" y="${(sy(l.v) - 4).toFixed(1)}" text-anchor="end">${esc(l.label)}</text>`;
  }
  out += `<line class="cursor" x1="0" x2="0" y1="${T}" y2="${H - B}" visibility="hidden"/>`;
  el.innerHTML = `<svg class="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" data-points="${all.length}">${out}</svg><div class="tip" hidden></div>`;
  // hover / touch: the nearest point's time and value
  const svg = el.firstChild, tip = el.lastChild, cur = svg.querySelector('.cursor');
  const pts = series[0].points.filter(p => finite(p[1]));
  const move = ev => {
    const r = svg.getBoundingClientRect();
    const x = (ev.touches ? ev.touches[0].clientX : ev.clientX) - r.left;
    const t = x0 + (x - L) / (W - L - R) * (x1 - x0);
    let best = null;
    for (const p of pts) if (!best || Math.abs(p[0] - t) < Math.abs(best[0] - t)) best = p;
    if (!best) return;
    cur.setAttribute('x1', sx(best[0])); cur.setAttribute('x2', sx(best[0])); cur.setAttribute('visibility', 'visible');
    tip.hidden = false;
    tip.textContent = new Date(best[0] * 1000).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }) + '  ' + (opts.tipFmt || fmt)(best[1]);
    tip.style.left = Math.min(Math.max(0, sx(best[0]) - 60), W - 150) + 'px';
  };
  svg.addEventListener('mousemove', move);
  svg.addEventListener('touchstart', move, { passive: true });
  svg.addEventListener('mouseleave', () => { tip.hidden = true; cur.setAttribute('visibility', 'hidden'); });
}
function chart(el, series, opts) {
  el._chart = { series, opts };
  drawChart(el);
}
let resizeTimer = null;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => document.querySelectorAll('.chart-slot').forEach(el => el._chart && drawChart(el)), 150);
});

// ---- detail ----

const RANGES = { '1h': 3600, '6h': 21600, '1d': 86400, '7d': 604800 };
function autoRange(points, now) {
  const first = points.find(p => finite(p.budgetRemaining));
  const age = first ? now - first.t : 0;
  return age > 6 * 3600 ? '1d' : age > 3600 ? '6h' : '1h';
}

// PromQL durations: whole seconds are enough here ("300s" parses everywhere).
function promDur(sec) { return Math.max(1, Math.round(sec)) + 's'; }
// "6m", "2h", "1h30m": the same duration for people.
function humanDur(sec) {
  sec = Math.round(sec);
  const d = Math.floor(sec / 86400), h = Math.floor(sec % 86400 / 3600), m = Math.floor(sec % 3600 / 60), s = sec % 60;
  return (d ? d + 'd' : '') + (h ? h + 'h' : '') + (m ? m + 'm' : '') + (s || !sec ? s + 's' : '');
}
// The SLI queries at one window: error ratio, and total events per second. Windows follow the chart
// step (never below the SLO's shortest window) so a long range shows averages, not samples.
function sliQueries(s, windowSec) {
  const w = promDur(windowSec);
  const sub = q => q.split('{{.window}}').join(w).split('{{ .window }}').join(w);
  if (!s.sli) return null;
  if (s.sli.kind === 'raw') return { ratio: sub(s.sli.errorRatioQuery), total: null };
  const tot = sub(s.sli.totalQuery);
  // an increase()-based total counts events per window; divide to get a per-second rate
  const perSec = /\bincrease\s*\(/.test(s.sli.totalQuery) ? `(${tot}) / ${Math.round(windowSec)}` : tot;
  return { ratio: `(${sub(s.sli.errorQuery)}) / (${tot})`, total: perSec };
}
async function rangeQuery(q, start, end, step) {
  if (!q) return [];
  const p = new URLSearchParams({ query: q, start: String(start), end: String(end), step: String(step) });
  const d = await api('/api/v1/query_range?' + p);
  const r = (d.result || [])[0];
  return r ? r.values.map(v => [v[0], parseFloat(v[1])]) : [];
}

async function showDetail(id, view) {
  let s;
  try {
    s = await api('/api/v1/slos/' + encodeURIComponent(id));
  } catch (e) {
    if (view !== state.view) return;
    $('#app').innerHTML = `<p><a href="/">← all SLOs</a></p><div class="empty"><h2>SLO not found</h2><p>${esc(e.message)}</p></div>`;
    return;
  }
  const now = s.evaluatedAt || Date.now() / 1000;
  const pstep = Math.max(60, Math.ceil(s.periodSeconds / 240));
  const period = await api(`/api/v1/slos/${encodeURIComponent(id)}/history?start=${now - s.periodSeconds}&end=${now}&step=${pstep}`).catch(() => ({ points: [] }));
  // Until someone picks a range: the smallest of 1h/6h/1d that covers the data there is (a new
  // setup has minutes of data, and a day-wide chart would show it as a dot).
  const range = state.range || autoRange(period.points || [], now);
  const span = range === 'period' ? s.periodSeconds : RANGES[range];
  const step = Math.max(15, Math.ceil(span / 240));
  const shortest = Math.min(...(s.windows || []).map(w => w.seconds), 300);
  const q = sliQueries(s, Math.max(shortest, step));
  const [ratio, total, notes] = await Promise.all([
    q ? rangeQuery(q.ratio, now - span, now, step).catch(() => []) : [],
    q && q.total ? rangeQuery(q.total, now - span, now, step).catch(() => []) : [],
    api('/api/v1/notifications?slo=' + encodeURIComponent(id)).catch(() => []),
  ]);
  if (view !== state.view) return;
  setUpdated(s.evaluatedAt);
  const rem = remaining(s);
  const budgetRatio = s.errorBudget ? s.errorBudget.ratio : 1 - s.objective / 100;
  const page = (s.alerts || []).find(a => a.severity === 'page') || (s.alerts || [])[0];
  const scrollY = window.scrollY;
  $('#app').innerHTML = `
    <p class="crumbs"><a href="/">← all SLOs</a></p>
    <h2 id="title">${esc(s.service)} / ${esc(s.name)} <span class="badge-state ${worstState(s)}">${worstState(s) === 'ok' ? 'not alerting' : worstState(s)}</span></h2>
    <p class="muted">${esc(s.description || '')} ${labelChips(s.labels)} <span class="chip id">id ${esc(s.id)}</span></p>
    ${hasData(s) ? '' : `<div class="empty" id="nodata"><h2>No data yet</h2><p>No samples for this SLO's queries have arrived. Point remote-write at slod:</p>${remoteWriteHint()}</div>`}
    <div class="cards">
      <div class="card"><div class="k">Objective</div><div class="v">${esc(s.objective)}%</div><div class="k">over ${esc(s.period)}</div></div>
      <div class="card"><div class="k">SLI over the period</div><div class="v" id="sli">${pct(sli(s))}</div><div class="k">${s.periodWindow && finite(s.periodWindow.totalEvents) ? Math.round(s.periodWindow.totalEvents).toLocaleString() + ' events' : esc(s.sli && s.sli.kind === 'raw' ? 'time average of the ratio' : '')}</div></div>
      <div class="card"><div class="k">Error budget left</div><div class="v ${rem != null && rem <= 0 ? 'bad' : ''}" id="budget-left">${pct(rem, 1)}</div>${budgetBar(s)}</div>
      <div class="card"><div class="k">Burn rate now</div><div class="v ${finite(burnNow(s)) && burnNow(s) > 1 ? 'warn' : ''}" id="burn-now">${burn(burnNow(s))}</div><div class="k">1× spends the budget in exactly ${esc(s.period)}</div></div>
      <div class="card"><div class="k">Budget gone in</div><div class="v" id="exhaustion">${exhaustionText(s)}</div>
        <div class="k">at the period's burn: ${exhaustion(s) != null && exhaustion(s) < 0 ? 'exhausted' : finite(s.forecast && s.forecast.exhaustionSecondsAtPeriodBurn) ? esc(dur(s.forecast.exhaustionSecondsAtPeriodBurn)) : 'never'}</div></div>
    </div>
    <section class="charts">
      <div class="chart-box wide" id="chart-budget"><h3>Error budget remaining <span class="muted">over the ${esc(s.period)} period, at each point</span></h3><div class="chart-slot"></div></div>
      <div class="range controls"><b>Range</b>
        ${['1h', '6h', '1d', '7d', 'period'].map(r => `<button type="button" data-range="${r}" class="${r === range ? 'on' : ''}">${r === 'period' ? esc(s.period) : r}</button>`).join('')}
        <span class="muted">for the two charts below</span></div>
      <div class="chart-box" id="chart-errors"><h3>Error ratio <span class="muted">(${esc(humanDur(Math.max(shortest, step)))} windows)</span></h3><div class="chart-slot"></div></div>
      <div class="chart-box" id="chart-requests"><h3>Request rate <span class="muted">(events/s)</span></h3><div class="chart-slot"></div></div>
    </section>
    <section><h3>Multi-window burn-rate alerts</h3>
      <p class="muted">A tier fires when the burn rate over both its long and its short window is above its threshold.</p>
      <div class="tablewrap"><table id="burn" class="plain"><thead><tr><th>Severity</th><th>Alert</th><th>Long window</th><th>Short window</th><th class="num">Burn (long)</th><th class="num">Burn (short)</th><th class="num">Threshold</th><th>State</th></tr></thead>
      <tbody>${(s.alerts || []).map(a => `<tr data-state="${esc(a.state)}"><td>${esc(a.severity)}</td><td>${esc(a.name)}</td><td>${esc(a.longWindow)}</td><td>${esc(a.shortWindow)}</td>
        <td class="num ${finite(a.longBurnRate) && a.longBurnRate > a.factor ? 'bad' : ''}">${burn(a.longBurnRate)}</td><td class="num ${finite(a.shortBurnRate) && a.shortBurnRate > a.factor ? 'bad' : ''}">${burn(a.shortBurnRate)}</td><td class="num">${burn(a.factor)}</td>
        <td><span class="tier ${esc(a.state)}">${esc(a.state)}</span></td></tr>`).join('') || `<tr><td colspan="8" class="muted">This SLO has no alerts.</td></tr>`}</tbody></table></div></section>
    <section><h3>Burn rate by window</h3><div class="tablewrap"><table class="plain" id="windows"><thead><tr><th>Window</th><th class="num">Error ratio</th><th class="num">SLI</th><th class="num">Burn rate</th></tr></thead>
      <tbody>${(s.windows || []).map(w => `<tr><td>${esc(w.window)}</td><td class="num">${pct(w.errorRatio, 4)}</td><td class="num">${pct(finite(w.errorRatio) ? 1 - w.errorRatio : null, 3)}</td><td class="num">${burn(w.burnRate)}</td></tr>`).join('')}</tbody></table></div></section>
    <section><h3>Recent notifications</h3>${notes.length ? `<div class="tablewrap"><table id="notifications" class="plain"><thead><tr><th>When</th><th>Alert</th><th>Status</th><th>Target</th><th>Delivery</th><th class="num">Attempts</th><th>Last error</th></tr></thead><tbody>
      ${notes.map(n => `<tr><td>${esc(new Date(n.createdAt * 1000).toLocaleString())}</td><td>${esc(n.alertname)} ${esc(n.severity || '')}</td><td><span class="tier ${n.status === 'firing' ? 'firing' : 'inactive'}">${esc(n.status)}</span></td><td>${esc(n.target)}</td><td class="delivery ${esc(n.delivery)}">${esc(n.delivery)}</td><td class="num">${esc(n.attempts)}</td><td>${esc(n.lastError)}</td></tr>`).join('')}</tbody></table></div>`
      : '<p class="muted" id="notifications-none">None. Notifications are sent to the targets given with <code>--alerting.webhook-url</code> or <code>--alerting.alertmanager-url</code>.</p>'}</section>
    <section><h3>Spec</h3><p class="muted">${esc(s.source || '')}</p><pre id="spec">${esc(s.spec || '')}</pre></section>`;
  const pts = (period.points || []).map(p => [p.t, p.budgetRemaining]);
  chart($('#chart-budget .chart-slot'), [{ points: pts, cls: 'budget', area: true }],
    { from: now - s.periodSeconds, to: now, fmt: v => +(v * 100).toFixed(1) + '%', max: 1, lines: [{ v: 0, cls: 'bad', label: 'exhausted' }] });
  chart($('#chart-errors .chart-slot'), [{ points: ratio, cls: 'errors', area: true }],
    { from: now - span, to: now, zeroFloor: true, fmt: v => +(v * 100).toPrecision(3) + '%',
      lines: [{ v: budgetRatio, cls: 'ok', label: '1× burn', include: true }].concat(page ? [{ v: budgetRatio * page.factor, cls: 'bad', label: page.severity + ' ' + burn(page.factor), include: false }] : []) });
  chart($('#chart-requests .chart-slot'), [{ points: total, cls: 'requests', area: true }],
    { from: now - span, to: now, zeroFloor: true, empty: q && !q.total ? 'a ratio SLI (raw): no request count' : null, fmt: v => v >= 1000 ? +(v / 1000).toPrecision(3) + 'k' : +v.toPrecision(3) + '' });
  $('#app').querySelectorAll('[data-range]').forEach(b => b.addEventListener('click', () => { state.range = b.dataset.range; route(); }));
  window.scrollTo(0, scrollY);
}

// ---- routing and refresh ----

async function route(fromNav) {
  clearTimeout(state.timer);
  const view = ++state.view;
  if (fromNav) readRefresh();
  const m = location.pathname.match(/^\/slos\/(.+)$/);
  try {
    if (m) {
      state.list = null;
      document.title = 'slod — ' + decodeURIComponent(m[1]);
      await showDetail(decodeURIComponent(m[1]), view);
    } else {
      if (fromNav) { state.list = null; readQuery(); }
      await showList(view);
    }
  } catch (e) {
    if (view === state.view) {
      state.list = null;
      $('#app').innerHTML = `<div class="empty" id="error"><h2>slod is not answering</h2><p>${esc(e.message)}</p><p class="muted">Retrying every ${state.refreshMs / 1000} s.</p></div>`;
    }
  }
  if (view === state.view) state.timer = setTimeout(() => route(false), state.refreshMs);
}
document.addEventListener('click', e => {
  const a = e.target.closest('a');
  if (a && a.origin === location.origin && !a.hasAttribute('download') && (a.pathname === '/' || a.pathname.startsWith('/slos/')) &&
      !e.metaKey && !e.ctrlKey && !e.shiftKey) {
    e.preventDefault();
    history.pushState(null, '', a.pathname + a.search);
    window.scrollTo(0, 0);
    route(true);
  }
});
window.addEventListener('popstate', () => route(true));
route(true);
