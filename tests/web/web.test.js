#!/usr/bin/env node
// integration.web — slod's web page in headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core; no browser is ever downloaded), against a slod started here on a free 127.0.0.1
// port with the bundled example SLOs (examples/slos/) and a known week of imported data (harness.js
// says which SLO gets what). Checks what a person would look at:
//   - before any data: the "No data yet" state with the remote-write URL; with no SLOs: "No SLOs loaded"
//   - the list: every SLO, the numbers of /api/v1/slos as text, least budget left first, the
//     exhausted budget's red bar, the firing tiers; sorting by clicking headers; search; alert
//     filter; auto-refresh (?refresh=1) that keeps the search box as typed
//   - the detail page: three charts with non-empty SVG paths, the burn-rate table with the firing
//     tiers, a delivered notification, the spec's YAML; the range buttons redraw the charts
//   - a phone-sized viewport without horizontal scrolling; no request leaves slod's origin
// usage: node web.test.js SLOD_BINARY [SCREENSHOT_DIR]
//   With SCREENSHOT_DIR (or SLOD_WEB_SCREENSHOTS=dir) it also writes list/detail screenshots, desktop
//   and phone, there (docs/screenshots/ is refreshed this way).
// Prints one line per check and "N passed, N failed" at the end; exit status 1 on any failure.
'use strict';

const assert = require('assert');
const path = require('path');
const { Harness, waitFor } = require('./harness.js');

const binary = process.argv[2];
const shots = process.argv[3] || process.env.SLOD_WEB_SCREENSHOTS || '';
if (!binary) {
  console.error('usage: node web.test.js SLOD_BINARY [SCREENSHOT_DIR]');
  process.exit(2);
}

const results = { passed: 0, failed: 0 };
async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.passed++;
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.failed++;
    console.log(`FAIL ${name}\n     ${(e && e.stack || String(e)).split('\n').join('\n     ')}`);
  }
}

const pct = (x, d) => (x * 100).toFixed(d) + '%';
const rowIds = page => page.$$eval('#slos tbody tr[data-id]', trs => trs.map(tr => tr.dataset.id));
// Number of points of the drawn line in a chart box ("M x y L x y ..." segments).
const linePoints = (page, box) => page.$eval(`${box} svg`, svg => {
  const p = svg.querySelector('path.line');
  return p ? (p.getAttribute('d').match(/[ML]/g) || []).length : 0;
});

async function main() {
  const h = new Harness(binary);
  const offOrigin = [];
  try {
    const hook = await h.startWebhook();
    const url = await h.startSlod([`--slo.files=${path.join(__dirname, '..', '..', 'examples', 'slos')}`,
      `--alerting.webhook-url=${hook}`]);
    const ctx = await h.launchBrowser();
    const page = await ctx.newPage();
    const errors = [];
    page.on('pageerror', e => errors.push(String(e)));
    page.on('console', m => { if (m.type() === 'error') errors.push(m.text()); });
    ctx.on('request', r => { if (!r.url().startsWith(url + '/') && !r.url().startsWith('data:')) offOrigin.push(r.url()); });

    await check('assets are embedded and served', async () => {
      for (const [p, type] of [['/', 'text/html'], ['/ui/app.js', 'javascript'], ['/ui/app.css', 'text/css'], ['/slos/x', 'text/html'],
        ['/ui/grafana/slo-overview.json', 'application/json'], ['/ui/grafana/slo-detail.json', 'application/json']]) {
        const r = await fetch(url + p);
        assert.strictEqual(r.status, 200, p);
        assert.ok(r.headers.get('content-type').includes(type), `${p}: ${r.headers.get('content-type')}`);
      }
      assert.strictEqual((await fetch(url + '/ui/nope.js')).status, 404);
    });

    const api = await h.pushExampleData();
    const byId = Object.fromEntries(api.slos.map(s => [s.id, s]));

    await check('list: every SLO with the API\'s numbers, least budget left first', async () => {
      await page.goto(url + '/');
      await page.waitForSelector('#slos tbody tr[data-id]');
      await page.waitForFunction(() => !document.querySelector('#nodata'));
      // what the page fetched (the engine keeps evaluating; compare with the API as of now)
      const fresh = Object.fromEntries((await h.api('/api/v1/slos')).slos.map(s => [s.id, s]));
      const ids = await rowIds(page);
      assert.deepStrictEqual(ids, ['checkout-requests-availability', 'prometheus-query-latency', 'batch-job-success',
        'search-availability', 'prometheus-http-availability']);
      for (const id of ids) {
        const s = fresh[id];
        const row = `#slos tr[data-id="${id}"]`;
        const txt = async sel => (await page.textContent(`${row} ${sel}`)).trim();
        assert.strictEqual(await txt('.objective'), s.objective + '%', id);
        assert.strictEqual(await txt('.period'), s.period, id);
        const sli = 1 - s.periodWindow.errorRatio;
        assert.strictEqual(await txt('.sli'), pct(sli, sli >= 0.99 && sli < 1 ? 3 : 1), id);
        assert.strictEqual(await txt('.remaining .barnum'), pct(s.errorBudget.remaining, 1), id);
      }
      // the numbers the data was built for (harness.js)
      assert.strictEqual(await page.textContent('#slos tr[data-id="search-availability"] .sli'), '99.990%');
      assert.strictEqual(await page.textContent('#slos tr[data-id="search-availability"] .barnum'), '80.0%');
      assert.strictEqual(await page.textContent('#slos tr[data-id="batch-job-success"] .burn'), '0.60×');
      assert.strictEqual(await page.textContent('#slos tr[data-id="prometheus-http-availability"] .exhaustion'), 'never');
      assert.match(await page.textContent('#slos tr[data-id="search-availability"] .exhaustion'), /^1[12]\dd \d+h$/);
    });

    await check('list: exhausted budget is a red bar, firing tiers show as firing', async () => {
      const row = '#slos tr[data-id="checkout-requests-availability"]';
      assert.strictEqual(await page.getAttribute(row, 'data-state'), 'firing');
      assert.strictEqual(await page.title(), '(1 firing) slod — SLOs');
      assert.ok(await page.$(`${row} .bar.exhausted`), 'exhausted bar');
      const color = await page.$eval(`${row} .bar.exhausted`, el => getComputedStyle(el).backgroundColor);
      const [r, g, b] = color.match(/\d+/g).map(Number);
      assert.ok(r > 150 && g < 80 && b < 80, 'bar colour ' + color);
      assert.strictEqual((await page.textContent(`${row} .exhaustion`)).trim(), 'exhausted');
      const tiers = await page.$$eval(`${row} .tier`, els => els.map(e => e.dataset.state));
      assert.deepStrictEqual(tiers.slice(0, 2), ['firing', 'firing']);
      assert.ok((await page.textContent(`${row} .alerts`)).includes('1h firing'));
      const quiet = await page.$$eval('#slos tr[data-id="search-availability"] .tier', els => els.map(e => e.dataset.state));
      assert.deepStrictEqual(quiet, ['inactive', 'inactive', 'inactive', 'inactive']);
    });

    await check('list: sorting by any column, both directions', async () => {
      await page.click('#slos th[data-key="objective"]');
      let ids = await rowIds(page);
      assert.strictEqual(ids[0], 'batch-job-success');
      assert.strictEqual(ids[ids.length - 1], 'search-availability');
      assert.strictEqual(await page.getAttribute('#slos th[data-key="objective"]', 'aria-sort'), 'ascending');
      await page.click('#slos th[data-key="objective"]');
      ids = await rowIds(page);
      assert.strictEqual(ids[0], 'search-availability');
      assert.strictEqual(await page.getAttribute('#slos th[data-key="objective"]', 'aria-sort'), 'descending');
      await page.click('#slos th[data-key="burn"]');
      ids = await rowIds(page);
      assert.deepStrictEqual([ids[0], ids[4]], ['prometheus-http-availability', 'checkout-requests-availability']);
      await page.click('#slos th[data-key="service"]');
      const services = await page.$$eval('#slos tbody td.service', tds => tds.map(t => t.textContent));
      assert.deepStrictEqual(services, ['batch', 'checkout', 'prometheus', 'prometheus', 'search']);
      assert.ok(page.url().includes('sort=service'), page.url());
      await page.click('#slos th[data-key="remaining"]');
      assert.strictEqual((await rowIds(page))[0], 'checkout-requests-availability');
    });

    await check('list: search by name or label, filter by alert state', async () => {
      await page.fill('#search', 'team=payments');
      assert.deepStrictEqual(await rowIds(page), ['checkout-requests-availability']);
      await page.fill('#search', 'prometheus');
      assert.strictEqual((await rowIds(page)).length, 2);
      assert.strictEqual(await page.textContent('#count'), '2 of 5 SLOs');
      await page.fill('#search', 'latency');
      assert.deepStrictEqual(await rowIds(page), ['prometheus-query-latency']);
      await page.fill('#search', 'no-such-thing');
      assert.strictEqual((await rowIds(page)).length, 0);
      assert.ok((await page.textContent('#slos tbody')).includes('No SLO matches'));
      await page.fill('#search', '');
      await page.selectOption('#alertfilter', 'firing');
      assert.deepStrictEqual(await rowIds(page), ['checkout-requests-availability']);
      await page.selectOption('#alertfilter', 'ok');
      assert.strictEqual((await rowIds(page)).length, 4);
      await page.selectOption('#alertfilter', 'pending');
      assert.strictEqual((await rowIds(page)).length, 0);
      // the view survives a reload (it is in the URL)
      await page.selectOption('#alertfilter', 'firing');
      await page.reload();
      await page.waitForSelector('#slos tbody tr[data-id]');
      assert.deepStrictEqual(await rowIds(page), ['checkout-requests-availability']);
      assert.strictEqual(await page.inputValue('#alertfilter'), 'firing');
      await page.selectOption('#alertfilter', 'all');
    });

    await check('list: auto-refresh re-reads the API and keeps what is being typed', async () => {
      let reads = 0;
      const count = r => { if (r.url().startsWith(url + '/api/v1/slos')) reads++; };
      page.on('request', count);
      await page.goto(url + '/?refresh=1');
      await page.waitForSelector('#slos tbody tr[data-id]');
      await page.focus('#search');
      await page.keyboard.type('check');
      const before = reads;
      await waitFor(async () => reads >= before + 2, 10000, 'two refreshes');
      page.off('request', count);
      assert.strictEqual(await page.inputValue('#search'), 'check');
      assert.strictEqual(await page.evaluate(() => document.activeElement && document.activeElement.id), 'search');
      assert.deepStrictEqual(await rowIds(page), ['checkout-requests-availability']);
      assert.ok(page.url().includes('refresh=1') && page.url().includes('q=check'), page.url());
      assert.ok((await page.textContent('.foot')).includes('every 1 s'));
    });

    if (shots) {
      await page.goto(url + '/');
      await page.waitForSelector('#slos tbody tr[data-id]');
      await page.screenshot({ path: path.join(shots, 'list.png'), fullPage: true });
    }

    await check('detail: charts, burn-rate tiers, notifications, spec', async () => {
      await page.click('#slos tr[data-id="checkout-requests-availability"] td.name a');
      await page.waitForSelector('#burn');
      assert.ok(page.url().endsWith('/slos/checkout-requests-availability'), page.url());
      assert.ok((await page.textContent('#title')).includes('checkout / requests-availability'));
      assert.ok((await page.textContent('#title')).includes('firing'));
      for (const box of ['#chart-budget', '#chart-errors', '#chart-requests']) {
        const n = await linePoints(page, box);
        assert.ok(n >= 20, `${box}: ${n} points`);
      }
      // the budget line ends where the API says the budget is
      const s = byId['checkout-requests-availability'];
      assert.strictEqual(await page.textContent('#budget-left'), pct(s.errorBudget.remaining, 1));
      const tiers = await page.$$eval('#burn tbody tr', trs => trs.map(tr => [tr.cells[2].textContent, tr.cells[3].textContent, tr.dataset.state]));
      assert.deepStrictEqual(tiers, [['1h', '5m', 'firing'], ['6h', '30m', 'firing'], ['1d', '2h', 'firing'], ['3d', '6h', 'firing']]);
      assert.strictEqual(await page.textContent('#burn tbody tr:first-child td:nth-child(7)'), '14.4×');
      assert.strictEqual(await page.textContent('#burn-now'), '60.0×');
      assert.ok((await page.textContent('#spec')).includes('CheckoutHighErrorRate'));
      // hovering the error chart near its right end shows the latest value (30 % errors)
      const box = await page.$eval('#chart-errors svg', el => { const r = el.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; });
      await page.mouse.move(box[0] + box[2] - 12, box[1] + box[3] / 2);
      await page.waitForSelector('#chart-errors .tip:not([hidden])');
      assert.match(await page.textContent('#chart-errors .tip'), /\s30%$/);
    });

    await check('detail: a firing notification shows as delivered', async () => {
      await waitFor(async () => (await h.api('/api/v1/notifications?slo=checkout-requests-availability'))
        .some(n => n.delivery === 'delivered'), 30000, 'a delivered notification');
      await page.reload();
      await page.waitForSelector('#notifications');
      const cells = await page.$$eval('#notifications tbody tr', trs => trs.map(tr => [...tr.cells].map(c => c.textContent)));
      assert.ok(cells.some(c => c[1].startsWith('CheckoutHighErrorRate') && c[2] === 'firing' && c[4] === 'delivered'), JSON.stringify(cells));
    });

    if (shots) {
      await page.click('[data-range="1d"]');
      await page.waitForSelector('[data-range="1d"].on');
      await page.screenshot({ path: path.join(shots, 'detail.png'), fullPage: true });
    }

    await check('detail: the range buttons redraw the error and request charts', async () => {
      for (const r of ['1h', '7d', 'period']) {
        await page.click(`[data-range="${r}"]`);
        await page.waitForSelector(`[data-range="${r}"].on`);
        assert.ok(await linePoints(page, '#chart-errors') >= 20, r);
        assert.ok(await linePoints(page, '#chart-requests') >= 20, r);
      }
      // a quiet SLO: the error ratio is flat at 0.01 %
      await page.goto(url + '/slos/search-availability');
      await page.waitForSelector('#burn');
      assert.ok(await linePoints(page, '#chart-errors') >= 20);
      assert.strictEqual(await page.textContent('#title .badge-state'), 'not alerting');
      const labels = await page.$$eval('#chart-errors svg text', ts => ts.map(t => t.textContent));
      assert.ok(labels.some(l => l.endsWith('%')), labels.join(' '));
    });

    await check('detail: an unknown SLO says so', async () => {
      await page.goto(url + '/slos/no-such-slo');
      await page.waitForSelector('.empty');
      assert.ok((await page.textContent('.empty')).includes('SLO not found'));
    });

    await check('phone width: the list is cards, nothing scrolls sideways', async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(url + '/');
      await page.waitForSelector('#slos tbody tr[data-id]');
      const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(wide <= 0, `page is ${wide}px wider than the phone`);
      assert.strictEqual(await page.$eval('#slos thead', el => getComputedStyle(el).display), 'none');
      if (shots) await page.screenshot({ path: path.join(shots, 'list-phone.png'), fullPage: true });
      await page.goto(url + '/slos/checkout-requests-availability');
      await page.waitForSelector('#burn');
      const wide2 = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(wide2 <= 0, `detail page is ${wide2}px wider than the phone`);
      assert.ok(await linePoints(page, '#chart-budget') >= 20);
      if (shots) await page.screenshot({ path: path.join(shots, 'detail-phone.png'), fullPage: true });
      await page.setViewportSize({ width: 1400, height: 900 });
    });

    await check('no data yet: the page says how to point remote-write at slod', async () => {
      const fresh = await h.startSlod([`--slo.files=${path.join(__dirname, '..', '..', 'examples', 'slos')}`], 'nodata');
      await page.goto(fresh + '/');
      await page.waitForSelector('#nodata');
      const text = await page.textContent('#nodata');
      assert.ok(text.includes('No data yet'), text);
      assert.ok(text.includes(fresh + '/api/v1/write'), text);
      assert.strictEqual((await rowIds(page)).length, 5);
      assert.ok((await page.textContent('#slos tbody')).includes('no data'));
      if (shots) await page.screenshot({ path: path.join(shots, 'nodata.png') });
    });

    await check('no SLOs loaded: the page says how to load some', async () => {
      const empty = await h.startSlod(['--slo.files=none'], 'empty');
      await page.goto(empty + '/');
      await page.waitForSelector('#empty');
      assert.ok((await page.textContent('#empty')).includes('No SLOs loaded'));
      assert.ok((await page.textContent('#empty')).includes('--slo.files'));
      if (shots) await page.screenshot({ path: path.join(shots, 'empty.png') });
    });

    await check('no script errors, nothing fetched from outside slod', async () => {
      assert.deepStrictEqual(errors.filter(e => !/404/.test(e)), []);
      assert.deepStrictEqual(offOrigin.filter(u => !u.startsWith('http://127.0.0.1:')), []);
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
