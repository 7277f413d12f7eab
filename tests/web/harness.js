// harness.js — starts slod (and Chromium through playwright-core) for the web tests and the
// screenshot script, on 127.0.0.1 free ports in a temporary directory, and pushes a known week of
// data for the bundled example SLOs (examples/slos/) through POST /api/v1/import/prometheus.
//
// The data is built so each example SLO lands somewhere different on the page:
//   checkout/requests-availability  99.5 %   0.1 % errors for a week, then 30 % for the last 3 h:
//                                            budget exhausted, page tier firing
//   search/availability             99.95 %  0.01 % errors: ~80 % budget left, all quiet
//   batch/job-success               95 %     3 % failed jobs: ~40 % left
//   prometheus/http-availability    99.9 %   no 5xx at all: 100 % left
//   prometheus/query-latency        99 % raw 0.7 % slow queries: ~30 % left
// Samples every minute for 7 days, then every 15 s for the last 2 hours (what the short alert
// windows need). Everything lives until stop(); nothing is left running on failure.
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const CHROMIUM = process.env.SLOD_CHROMIUM || '/usr/bin/chromium';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

const sleep = ms => new Promise(r => setTimeout(r, ms));

async function waitFor(pred, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await pred();
      if (last) return last;
    } catch (e) { last = e; }
    await sleep(200);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last && (last.stack || JSON.stringify(last))})`);
}

// The example data: one text-format body, counters cumulative, timestamps in ms.
function exampleData(nowMs) {
  const DAY = 86400e3, H = 3600e3;
  const times = [];
  for (let t = nowMs - 7 * DAY; t < nowMs - 2 * H; t += 60e3) times.push(t);
  for (let t = nowMs - 2 * H; t <= nowMs; t += 15e3) times.push(t);
  // per series: f(t) = rate per second at time t
  const series = [
    ['http_requests_total{service="checkout",code="200"}', t => 10 * (1 - checkoutErr(t))],
    ['http_requests_total{service="checkout",code="500"}', t => 10 * checkoutErr(t)],
    ['search_requests_total{outcome="ok"}', () => 50 * 0.9999],
    ['search_requests_total{outcome="error"}', () => 50 * 0.0001],
    ['batch_jobs_total{status="ok"}', () => 0.2 * 0.97],
    ['batch_jobs_total{status="failed"}', () => 0.2 * 0.03],
    ['prometheus_http_requests_total{job="prometheus",handler="/api/v1/query",code="200"}', () => 2],
    ['prometheus_http_request_duration_seconds_bucket{job="prometheus",handler="/api/v1/query",le="0.1"}', () => 2 * 0.993],
    ['prometheus_http_request_duration_seconds_count{job="prometheus",handler="/api/v1/query"}', () => 2],
  ];
  function checkoutErr(t) { return t > nowMs - 3 * H ? 0.3 : 0.001; }
  const lines = [];
  for (const [name, rate] of series) {
    let v = 0, prev = times[0];
    for (const t of times) {
      v += rate(t) * (t - prev) / 1000;
      prev = t;
      lines.push(`${name} ${v.toFixed(3)} ${t}`);
    }
  }
  return lines.join('\n') + '\n';
}

class Harness {
  constructor(slodBinary) {
    this.binary = path.resolve(slodBinary);
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slod-web-'));
    this.procs = [];
  }

  // Starts a slod named `name` (its data dir and log file) with extra flags (default: the bundled
  // example specs); rules are evaluated every second. The first one started is this.url.
  async startSlod(extra, name) {
    name = name || 'slod';
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const args = ['serve', `--web.listen-address=127.0.0.1:${port}`,
      `--storage.path=${path.join(this.dir, name + '-data')}`, '--rules.evaluation-interval=1s', '--log.level=warn']
      .concat(extra || [`--slo.files=${path.join(ROOT, 'examples', 'slos')}`]);
    const log = fs.openSync(path.join(this.dir, name + '.log'), 'a');
    const p = spawn(this.binary, args, { stdio: ['ignore', log, log], cwd: this.dir });
    fs.closeSync(log);
    this.procs.push(p);
    if (!this.url) { this.url = url; this.slod = p; }
    await waitFor(async () => {
      if (p.exitCode != null) throw new Error(`slod exited with ${p.exitCode}: ${this.slodLog(name)}`);
      return (await fetch(url + '/-/ready')).status === 200;
    }, 30000, 'slod to be ready');
    return url;
  }

  // A webhook receiver answering 200 to every POST (so notifications show as delivered).
  async startWebhook() {
    const http = require('http');
    this.hooks = [];
    this.hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', c => { body += c; });
      req.on('end', () => { this.hooks.push(body); res.writeHead(200); res.end(); });
    });
    await new Promise(r => this.hook.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${this.hook.address().port}/hook`;
  }

  slodLog(name) {
    try { return fs.readFileSync(path.join(this.dir, (name || 'slod') + '.log'), 'utf8').slice(-4000); } catch (e) { return ''; }
  }

  async api(p) {
    const r = await fetch(this.url + p);
    const body = await r.json();
    if (body.status !== 'success') throw new Error(`${p}: ${JSON.stringify(body)}`);
    return body.data;
  }

  // Pushes exampleData(), reloads, and waits until every SLO has a period error ratio and checkout's page
  // tiers fire.
  async pushExampleData() {
    const now = Date.now();
    const r = await fetch(this.url + '/api/v1/import/prometheus', { method: 'POST', body: exampleData(now) });
    if (r.status !== 204) throw new Error(`import: ${r.status} ${await r.text()}`);
    // The SLO engine reads the period's history once, at its first evaluation; samples imported
    // into the past after that are not counted (docs/slo-eval.md). A reload builds a new engine,
    // which reads it all.
    const rl = await fetch(this.url + '/-/reload', { method: 'POST' });
    if (rl.status !== 200) throw new Error(`reload: ${rl.status} ${await rl.text()}`);
    return waitFor(async () => {
      const d = await this.api('/api/v1/slos');
      const co = d.slos.find(s => s.id === 'checkout-requests-availability');
      const ready = d.slos.length && d.slos.every(s => s.periodWindow.errorRatio != null) &&
        (!co || co.alerts.filter(a => a.severity === 'page').every(a => a.state === 'firing'));
      if (!ready) return null;
      // Sloth's meta recordings (slo:period_burn_rate:ratio, ...) come from a rule group of their own,
      // evaluated at its own slot: after a reload they can trail the SLO engine by one interval.
      const q = await this.api('/api/v1/query?query=' + encodeURIComponent('count(slo:period_burn_rate:ratio)'));
      const n = q.result.length ? Number(q.result[0].value[1]) : 0;
      return n >= d.slos.length ? d : null;
    }, 60000, 'every SLO to be evaluated and one alert to fire');
  }

  // A fresh profile in the temp dir (playwright refuses --user-data-dir in args: the persistent
  // context is how it takes one). Debian's Chromium; playwright-core never downloads a browser.
  async launchBrowser() {
    const { chromium } = require('playwright-core');
    this.context = await chromium.launchPersistentContext(path.join(this.dir, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 900 },
      timeout: 60000,
    });
    return this.context;
  }

  async stop() {
    if (this.context) await this.context.close().catch(() => {});
    if (this.hook) this.hook.close();
    for (const p of this.procs) {
      if (p.exitCode == null) {
        p.kill('SIGTERM');
        await Promise.race([new Promise(r => p.once('exit', r)), sleep(10000)]);
        if (p.exitCode == null) p.kill('SIGKILL');
      }
    }
    if (process.env.SLOD_KEEP_TMP !== '1') fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

module.exports = { Harness, exampleData, freePort, waitFor, sleep, ROOT };
