#!/usr/bin/env node
// integration.grafana — the Grafana dashboards (examples/grafana/, `slod grafana-dashboard`):
//   - `slod grafana-dashboard -o DIR` writes exactly the files in examples/grafana/, valid JSON
//   - every panel and every target reads its data source from the `datasource` variable; panel ids
//     are unique; the detail dashboard's variables chain service -> slo
//   - every PromQL expression (panel targets and variable queries), with the variables filled in,
//     parses and evaluates against a slod holding the example SLOs and a week of data
//     (tests/web/harness.js): /api/v1/query and /api/v1/query_range answer success with at least
//     one series, label_values() variable queries list values through /api/v1/label/<name>/values
//   - the same expressions against a real Prometheus (when installed) that runs the rules
//     `slod generate` exports and scrapes counters for the example SLOs: all have data
//   - Prometheus's own parser accepts every expression too (promtool check rules, when installed)
// No browser needed. usage: node grafana.test.js SLOD_BINARY
'use strict';

const assert = require('assert');
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { Harness, ROOT, sleep: sleepMs } = require('./harness.js');

const binary = process.argv[2];
if (!binary) {
  console.error('usage: node grafana.test.js SLOD_BINARY');
  process.exit(2);
}
const results = { passed: 0, failed: 0 };
async function check(name, fn) {
  try {
    await fn();
    results.passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    results.failed++;
    console.log(`FAIL ${name}\n     ${(e && e.stack || String(e)).split('\n').join('\n     ')}`);
  }
}

const FILES = ['slo-overview.json', 'slo-detail.json'];

// Every panel, rows' collapsed panels included.
function panels(dash) {
  const out = [];
  for (const p of dash.panels || []) {
    out.push(p);
    for (const q of p.panels || []) out.push(q);
  }
  return out;
}
// Grafana's variable interpolation for the cases the dashboards use.
function fill(expr, vars) {
  return expr.replace(/\$\{(\w+)(?::[\w]+)?\}|\$(\w+)/g, (m, a, b) => {
    const k = a || b;
    if (!(k in vars)) throw new Error(`unknown variable ${m} in ${expr}`);
    return vars[k];
  });
}

async function apiGet(base, p) {
  const r = await fetch(base + p);
  const body = await r.json();
  if (body.status !== 'success') throw new Error(`${p}: ${JSON.stringify(body)}`);
  return body.data;
}

// Runs every expression, variables filled in, as an instant and a range query against base (slod
// or Prometheus); each must succeed and (but for alert panels of a quiet SLO) return series.
async function evalAll(base, exprs, service, slo, now) {
  assert.ok(exprs.length >= 20, `${exprs.length} expressions`);
  const vars = { service, slo, datasource: 'x', __interval: '1m', __rate_interval: '2m', __range: '1h' };
  for (const { where, expr } of exprs) {
    const q = fill(expr, vars);
    const inst = await apiGet(base, '/api/v1/query?' + new URLSearchParams({ query: q }));
    // "Alerts firing"/"Alert tiers" for a quiet SLO legitimately have nothing to show
    const quietOk = slo !== 'checkout-requests-availability' && /ALERTS\{/.test(expr) && !/vector\(0\)/.test(expr);
    assert.ok(inst.result.length > 0 || quietOk, `${where}: no result for ${q}`);
    const rng = await apiGet(base, '/api/v1/query_range?' + new URLSearchParams({ query: q, start: String(now - 600), end: String(now), step: '15' }));
    assert.strictEqual(rng.resultType, 'matrix', where);
    assert.ok(rng.result.length > 0 || quietOk, `${where}: no range result for ${q}`);
  }
}

// Counters for the example SLOs' services (checkout failing 30 %), as a scrape target.
function startMetricsServer() {
  const http = require('http');
  const t0 = Date.now() / 1000 - 1000;
  const series = [
    ['http_requests_total{service="checkout",code="200"}', 7], ['http_requests_total{service="checkout",code="500"}', 3],
    ['search_requests_total{outcome="ok"}', 49.995], ['search_requests_total{outcome="error"}', 0.005],
    ['batch_jobs_total{status="ok"}', 0.194], ['batch_jobs_total{status="failed"}', 0.006],
  ];
  const srv = http.createServer((req, res) => {
    const t = Date.now() / 1000 - t0;
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(series.map(([n, r]) => `${n} ${(r * t).toFixed(3)}`).join('\n') + '\n');
  });
  return new Promise(r => srv.listen(0, '127.0.0.1', () => r(srv)));
}

async function main() {
  const h = new Harness(binary);
  try {
    const dir = path.join(h.dir, 'dash');
    const dashes = {};

    await check('slod grafana-dashboard -o writes examples/grafana/ byte for byte, valid JSON', async () => {
      const out = execFileSync(path.resolve(binary), ['grafana-dashboard', '-o', dir], { encoding: 'utf8' });
      for (const f of FILES) {
        assert.ok(out.includes(path.join(dir, f)), out);
        const got = fs.readFileSync(path.join(dir, f));
        const want = fs.readFileSync(path.join(ROOT, 'examples', 'grafana', f));
        assert.ok(got.equals(want), `${f} differs from examples/grafana/${f}`);
        dashes[f] = JSON.parse(got.toString('utf8'));
      }
      const stdout = execFileSync(path.resolve(binary), ['grafana-dashboard', '--dashboard=detail']);
      assert.ok(stdout.equals(fs.readFileSync(path.join(ROOT, 'examples', 'grafana', 'slo-detail.json'))));
    });

    await check('dashboards: datasource variable everywhere, unique panel ids, variables chained', async () => {
      for (const f of FILES) {
        const d = dashes[f];
        assert.ok(d.uid && d.title && d.schemaVersion >= 36, f);
        const vars = d.templating.list;
        assert.strictEqual(vars[0].name, 'datasource');
        assert.strictEqual(vars[0].type, 'datasource');
        assert.strictEqual(vars[0].query, 'prometheus');
        const ids = new Set();
        for (const p of panels(d)) {
          assert.ok(!ids.has(p.id), `${f}: duplicate panel id ${p.id}`);
          ids.add(p.id);
          assert.ok(p.gridPos && p.gridPos.w > 0 && p.gridPos.h > 0 && p.gridPos.x + p.gridPos.w <= 24, `${f}: ${p.title} gridPos`);
          if (p.type === 'row') continue;
          assert.strictEqual(p.datasource.uid, '${datasource}', `${f}: ${p.title}`);
          assert.ok(p.targets.length > 0, `${f}: ${p.title} has no targets`);
          for (const t of p.targets) assert.strictEqual(t.datasource.uid, '${datasource}', `${f}: ${p.title} ${t.refId}`);
        }
        for (const v of vars.slice(1)) assert.strictEqual(v.datasource.uid, '${datasource}', `${f}: variable ${v.name}`);
      }
      const detailVars = dashes['slo-detail.json'].templating.list.map(v => v.name);
      assert.deepStrictEqual(detailVars, ['datasource', 'service', 'slo']);
      assert.ok(dashes['slo-detail.json'].templating.list[2].definition.includes('$service'));
    });

    await h.startSlod();
    await h.pushExampleData();
    const now = Date.now() / 1000;

    const exprs = [];
    for (const f of FILES) {
      for (const p of panels(dashes[f] || { panels: [] }))
        for (const t of p.targets || []) if (t.expr) exprs.push({ where: `${f}: ${p.title} ${t.refId}`, expr: t.expr });
    }

    for (const [service, slo] of [['.*', 'checkout-requests-availability'], ['checkout', 'checkout-requests-availability'],
      ['prometheus', 'prometheus-query-latency']]) {
      await check(`every panel expression evaluates with data (service=${service}, slo=${slo})`,
        () => evalAll(h.url, exprs, service, slo, now));
    }

    await check('variable queries (label_values) list the example SLOs', async () => {
      const want = { service: ['batch', 'checkout', 'prometheus', 'search'] };
      for (const f of FILES) {
        for (const v of dashes[f].templating.list.slice(1)) {
          const m = /^label_values\((.*),\s*(\w+)\)$/.exec(v.definition);
          assert.ok(m, `${f}: ${v.name}: ${v.definition}`);
          const match = fill(m[1], { service: 'checkout' });
          const vals = await h.api(`/api/v1/label/${m[2]}/values?` + new URLSearchParams({ 'match[]': match }));
          if (v.name === 'service') assert.deepStrictEqual(vals, want.service, f);
          else assert.deepStrictEqual(vals, ['checkout-requests-availability'], `${f}: ${v.name}`);
        }
      }
    });

    await check('the overview table finds the exhausted SLO and the detail stats the API\'s numbers', async () => {
      const api = await h.api('/api/v1/slos/search-availability');
      const d = dashes['slo-detail.json'];
      const stat = title => panels(d).find(p => p.title === title).targets[0].expr;
      const val = async e => parseFloat((await h.api('/api/v1/query?' + new URLSearchParams({ query: fill(e, { slo: 'search-availability' }) }))).result[0].value[1]);
      assert.ok(Math.abs(await val(stat('Objective')) - 0.9995) < 1e-12);
      // Sloth's period method (average of 5-minute ratios): the API gives it as slothErrorRatio
      const sliSloth = 1 - api.periodWindow.slothErrorRatio;
      assert.ok(Math.abs(await val(stat('SLI over the period')) - sliSloth) < 1e-9, `${await val(stat('SLI over the period'))} vs ${sliSloth}`);
      assert.ok(Math.abs(await val(stat('Error budget left')) - 0.8) < 1e-6);
      const ov = dashes['slo-overview.json'];
      const exhausted = panels(ov).find(p => p.title === 'Budgets exhausted').targets[0].expr;
      const n = (await h.api('/api/v1/query?' + new URLSearchParams({ query: fill(exhausted, { service: '.*' }) }))).result[0].value[1];
      assert.strictEqual(n, '1');
    });

    await check('with Prometheus running `slod generate` rules: every expression has data', async () => {
      const prom = ['/usr/bin/prometheus', '/usr/local/bin/prometheus'].find(p => fs.existsSync(p));
      if (!prom) { console.log('     (prometheus not installed: skipped)'); return; }
      const rules = path.join(h.dir, 'rules');
      fs.mkdirSync(rules);
      execFileSync(path.resolve(binary), ['generate', '-i', path.join(ROOT, 'examples', 'slos'), '-o', rules, '--output-format', 'prometheus']);
      // A spec file with several YAML documents gives a rule file with several documents (as
      // Sloth does); Prometheus reads only the first document of a rule file, so split them.
      for (const f of fs.readdirSync(rules)) {
        const docs = fs.readFileSync(path.join(rules, f), 'utf8').split(/^---\s*$/m).filter(d => /^groups:/m.test(d));
        if (docs.length < 2) continue;
        fs.unlinkSync(path.join(rules, f));
        docs.forEach((d, i) => fs.writeFileSync(path.join(rules, `${i}-${f}`), d));
      }
      const app = await startMetricsServer();
      h.hook = app; // closed by h.stop()
      const { freePort, waitFor } = require('./harness.js');
      const port = await freePort();
      const cfg = path.join(h.dir, 'prometheus.yml');
      fs.writeFileSync(cfg, `global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ["${rules}/*.yaml"]
scrape_configs:
  - job_name: app
    static_configs: [{targets: ["127.0.0.1:${app.address().port}"]}]
  - job_name: prometheus
    static_configs: [{targets: ["127.0.0.1:${port}"]}]
`);
      const { spawn } = require('child_process');
      const log = fs.openSync(path.join(h.dir, 'prometheus.log'), 'a');
      const p = spawn(prom, [`--config.file=${cfg}`, `--storage.tsdb.path=${path.join(h.dir, 'prom-data')}`,
        `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', log, log] });
      fs.closeSync(log);
      h.procs.push(p);
      const P = `http://127.0.0.1:${port}`;
      const has = async q => (await apiGet(P, '/api/v1/query?' + new URLSearchParams({ query: q }))).result.length > 0;
      await waitFor(async () => {
        if (p.exitCode != null) throw new Error('prometheus exited: ' + fs.readFileSync(path.join(h.dir, 'prometheus.log'), 'utf8').slice(-2000));
        return await has('ALERTS{alertstate="firing",sloth_id="checkout-requests-availability"}') &&
          await has('slo:period_error_budget_remaining:ratio{sloth_id="checkout-requests-availability"}') &&
          await has('slo:period_error_budget_remaining:ratio{sloth_id="search-availability"}') &&
          await has('slo:period_error_budget_remaining:ratio{sloth_id="batch-job-success"}');
      }, 60000, 'Prometheus to record the SLO series and fire the checkout alert');
      await sleepMs(2000);
      const pnow = Date.now() / 1000;
      for (const [service, slo] of [['.*', 'checkout-requests-availability'], ['checkout', 'checkout-requests-availability']])
        await evalAll(P, exprs, service, slo, pnow);
      const ov = dashes['slo-overview.json'];
      const vals = await apiGet(P, '/api/v1/label/sloth_service/values?' + new URLSearchParams({ 'match[]': 'sloth_slo_info' }));
      assert.deepStrictEqual(vals, ['batch', 'checkout', 'prometheus', 'search']);
      const exhausted = panels(ov).find(q => q.title === 'Alerts firing').targets[0].expr;
      const n = (await apiGet(P, '/api/v1/query?' + new URLSearchParams({ query: fill(exhausted, { service: 'checkout' }) }))).result[0].value[1];
      assert.ok(+n >= 1, `firing tiers: ${n}`);
    });

    await check('Prometheus parses every expression (promtool check rules)', async () => {
      const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find(p => fs.existsSync(p));
      if (!promtool) { console.log('     (promtool not installed: skipped)'); return; }
      const lines = ['groups:', '  - name: grafana-dashboards', '    rules:'];
      exprs.forEach(({ expr }, i) => {
        const q = fill(expr, { service: '.*', slo: 'x', __interval: '1m', __rate_interval: '2m', __range: '1h' });
        lines.push(`      - record: dashboard_expr_${i}`, `        expr: ${JSON.stringify(q)}`);
      });
      const file = path.join(h.dir, 'dashboard-exprs.rules.yml');
      fs.writeFileSync(file, lines.join('\n') + '\n');
      const r = spawnSync(promtool, ['check', 'rules', file], { encoding: 'utf8' });
      assert.strictEqual(r.status, 0, r.stdout + r.stderr);
      assert.ok(r.stdout.includes(`${exprs.length} rules found`), r.stdout);
    });
  } catch (e) {
    results.failed++;
    console.log('FAIL setup: ' + (e.stack || e));
    console.log(h.slodLog());
  } finally {
    await h.stop();
  }
  console.log(`${results.passed} passed, ${results.failed} failed`);
  process.exit(results.failed ? 1 : 0);
}

main();
