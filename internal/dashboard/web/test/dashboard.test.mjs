// The dashboard in headless Chromium against the real server filled with seeded traffic:
// sign-in, every view with data and without console errors, the figures of the funnel and
// attribution views against the admin API, visitor text shown as text, the date range, live
// updates, sign-out. A screenshot of each view is kept in test/artifacts/.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { setup, artifacts, signIn, ready, watch, until, TOKEN, SITE, ORIGIN } from "./harness.mjs";
import { XSS_ANSWER } from "./traffic.mjs";

let env;
let page;
let errors;
const timings = {};

before(async () => {
  env = await setup();
  console.log(`# traffic: ${env.fill.how}${env.fill.lines ? `, ${env.fill.lines} requests` : ""}`);
}, { timeout: 600000 });

after(async () => {
  if (Object.keys(timings).length) console.log("# view render times (ms, data to screen): " + JSON.stringify(timings));
  await env?.stop();
});

const shot = (name, p = page) => p.screenshot({ path: path.join(artifacts, name + ".png"), fullPage: true });

// open shows a view and waits for it; the fragment carries every setting.
async function open(hash, view) {
  await page.evaluate((h) => (location.hash = h), hash);
  const d = await ready(page, view);
  timings[view] = Math.max(timings[view] || 0, Number(d.ms));
  return d;
}

// apiReport asks the admin API for a report over the view's period.
function apiReport(name, d, extra = "") {
  return env.admin(`/api/v1/reports/${name}?from=${d.from}&to=${d.to}${extra}`);
}

const num = (s) => Number(String(s).replace(/[^0-9.\-]/g, ""));

// noSnapshot is the console's note of the 404 that says a page has no DOM snapshot: the
// Heatmaps view then shows the live page, as it should.
const noSnapshot = (e) => /status of 404 .*\/api\/v1\/reports\/heatmap\/snapshot\?/.test(e);

test("the dashboard needs a sign-in", async () => {
  const p = await env.browser.newPage();
  try {
    const r = await p.goto(env.api + "/dashboard/#/funnels?range=90d");
    assert.match(p.url(), /\/dashboard\/login#\/funnels\?range=90d$/, "an anonymous visit lands on the sign-in page, keeping the view");
    assert.equal(r.status(), 200);
    const csp = r.headers()["content-security-policy"] || "";
    assert.match(csp, /default-src 'self'/);
    assert.doesNotMatch(csp, /script-src[^;]*unsafe-inline/);
    for (const asset of ["/dashboard/app.js", "/api/v1/reports/overview", "/api/v1/rules"]) {
      const a = await p.request.get(env.api + asset);
      assert.equal(a.status(), 401, `GET ${asset} without a session = ${a.status()}; want 401`);
    }
    for (const asset of ["/dashboard/app.css", "/dashboard/login.js"]) {
      const a = await p.request.get(env.api + asset);
      assert.equal(a.status(), 200, `GET ${asset} (the sign-in page's) = ${a.status()}; want 200`);
    }
    await p.fill('input[name="token"]', "not-the-token");
    await p.click('button[type="submit"]');
    await p.waitForSelector("[data-login-error]:not([hidden])", { timeout: 5000 });
    assert.equal(await p.evaluate(() => document.cookie), "");
    await shot("signin-refused", p);
    await p.fill('input[name="token"]', TOKEN);
    await Promise.all([p.waitForURL(/\/dashboard\/#\/funnels\?range=90d$/, { timeout: 10000 }), p.click('button[type="submit"]')]);
    await ready(p, "funnels");
    const cookie = (await env.browser.cookies(env.api)).find((c) => c.name === "pl_dash");
    assert.ok(cookie, "a session cookie is set");
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, "Strict");
    assert.equal(cookie.path, "/");
  } finally {
    await p.close();
  }
});

test("every view renders with data and without console errors", async () => {
  page = await env.browser.newPage();
  errors = watch(page);
  await page.goto(env.api + "/dashboard/#/overview?range=90d");
  await ready(page, "overview");
  const visitor = env.fill.xssVisitor;
  const views = [
    ["overview", "#/overview?range=90d", ".kpi[data-kpi=visitors]"],
    ["journey", "#/journey?range=90d", "#chart-sankey canvas"],
    ["funnels", "#/funnels?range=90d&funnel=purchase&breakdown=channel", "#chart-funnel canvas"],
    ["attribution", "#/attribution?range=90d", "#chart-attribution canvas"],
    ["health", "#/health?range=90d", ".health-row"],
    ["surveys", "#/surveys?range=90d", "[data-survey]"],
    ["experiments", "#/experiments?range=90d", "[data-experiment]"],
    ["replays", "#/replays?range=90d", "#rp-count"],
    ["rules", "#/rules?range=90d", ".kpi"],
    ["automations", "#/automations?range=90d", "#chart-fired canvas"],
    ["visitor", `#/visitor?range=90d&vid=${visitor}`, ".timeline .session"],
    ["live", "#/live?range=90d", "#chart-live canvas"],
  ];
  for (const [view, hash, sel] of views) {
    await open(hash, view);
    if (view === "live") await until("live data", () => page.$eval("main#view", (m) => Number(m.dataset.polls || 0) >= 1), 10000);
    assert.ok(await page.$(sel), `${view}: ${sel} is shown`);
    const bad = await page.$$eval("main .notice.error, main .notice.warn", (ns) => ns.map((n) => n.textContent));
    assert.deepEqual(bad.filter((t) => !/mismatch/i.test(t)), [], `${view}: no error notice`);
    await shot(view);
  }
  assert.deepEqual(errors, [], "console errors");
});

test("every view is in sight in the navigation, from a phone to a wide screen", async () => {
  const p = await env.browser.newPage();
  try {
    const errs = watch(p);
    for (const [width, height] of [[1280, 860], [1024, 768], [1440, 900], [390, 844]]) {
      await p.setViewportSize({ width, height });
      await p.goto(env.api + "/dashboard/#/overview?range=90d");
      await ready(p, "overview");
      const links = await p.$$eval("nav.views a", (as) =>
        as.map((a) => {
          const r = a.getBoundingClientRect();
          const n = a.closest("nav").getBoundingClientRect();
          const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
          return {
            view: a.dataset.view,
            inWindow: r.left >= 0 && r.right <= innerWidth && r.top >= 0 && r.bottom <= innerHeight,
            inNav: r.left >= n.left - 0.5 && r.right <= n.right + 0.5 && r.top >= n.top - 0.5 && r.bottom <= n.bottom + 0.5,
            onTop: !!hit && a.contains(hit),
          };
        }),
      );
      assert.ok(links.length >= 12 && links.some((l) => l.view === "live"), `${width} px: the views are linked; got ${links.map((l) => l.view)}`);
      const hidden = links.filter((l) => !(l.inWindow && l.inNav && l.onTop)).map((l) => `${l.view} ${JSON.stringify(l)}`);
      assert.deepEqual(hidden, [], `${width} px: every view's link is whole and in sight`);
      const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `${width} px: the page does not scroll sideways (by ${overflow} px)`);
      await p.screenshot({ path: path.join(artifacts, `nav-${width}.png`) });
      await p.click('nav.views a[data-view="live"]');
      await ready(p, "live");
    }
    assert.deepEqual(errs, []);
  } finally {
    await p.close();
  }
});

test("the NPS bar fills its width", async () => {
  await open("#/surveys?range=90d", "surveys");
  await page.waitForSelector('.survey .nps + .chart[data-chart="ready"] canvas');
  // The bar's ends, read off the canvas: the grid spans the chart but for its 8 px and 16 px
  // margins, and the stacked bar of all answers should span the grid.
  const bar = await page.$eval(".survey .nps + .chart canvas", (c) => {
    const k = c.width / c.clientWidth;
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let left = Infinity;
    let right = -1;
    for (let y = Math.round(40 * k); y < c.height; y++) {
      for (let x = 0; x < c.width; x++) {
        if (d[(y * c.width + x) * 4 + 3] > 200) {
          left = Math.min(left, x);
          right = Math.max(right, x);
        }
      }
    }
    return { left: left / k, right: right / k, width: c.clientWidth };
  });
  assert.ok(bar.right >= 0, "the NPS bar is drawn");
  assert.ok(bar.left <= 12, `the bar starts at the chart's left: ${JSON.stringify(bar)}`);
  assert.ok(bar.right >= bar.width - 20, `the bar ends at the chart's right, not short of it: ${JSON.stringify(bar)}`);
  await shot("surveys-nps");
});

test("step health plots end at a clean rate", async () => {
  await open("#/health?range=90d", "health");
  const scales = await page.$$eval(".health-row .scale", (ss) => ss.map((s) => [...s.children].map((c) => c.textContent)));
  assert.ok(scales.length >= 2, `plots are drawn; got ${scales.length}`);
  for (const marks of scales) {
    assert.equal(marks[0], "0%", `a plot starts at 0%: ${marks}`);
    const end = marks.at(-1);
    const v = Number(end.replace("%", ""));
    const clean = (v % 10 === 0 && v > 0 && v <= 100) || [0.1, 0.2, 0.5, 1, 2, 5].includes(v);
    assert.ok(clean, `a plot ends at a clean rate (a multiple of 10%, or 1, 2 or 5 times a power of ten below): ${end}`);
  }
  assert.equal(new Set(scales.map((m) => m.at(-1))).size, 1, `every row shares one scale, so that rows compare: ${JSON.stringify(scales)}`);
  // Every figure drawn lies on the scale.
  const off = await page.$$eval(".health-row .plot > span", (ss) => ss.filter((s) => parseFloat(s.style.left) > 100).length);
  assert.equal(off, 0, "no mark is drawn past the scale's end");
});

test("the funnel view shows the admin API's figures", async () => {
  for (const breakdown of ["", "&breakdown=device"]) {
    const d = await open(`#/funnels?range=90d&funnel=purchase${breakdown}`, "funnels");
    const api = (await apiReport("funnel", d, "&funnel=purchase" + breakdown)).data.funnel;
    assert.ok(api.entered > 0, "the funnel has visitors");
    const rows = await page.$$eval("main table tbody tr[data-key]", (trs) =>
      trs.filter((tr) => tr.querySelector("[data-col=visitors]")).map((tr) => ({
        step: tr.dataset.key,
        visitors: tr.querySelector("[data-col=visitors]").textContent,
        fromFirst: Number(tr.querySelector("[data-col=from_first]").dataset.value),
        dropOff: tr.querySelector("[data-col=drop_off]").textContent,
      })),
    );
    assert.deepEqual(rows.map((r) => r.step), api.steps.map((s) => s.step));
    api.steps.forEach((s, i) => {
      assert.equal(num(rows[i].visitors), s.visitors, `step ${s.step} visitors`);
      assert.equal(num(rows[i].dropOff), s.drop_off, `step ${s.step} drop-off`);
      assert.equal(rows[i].fromFirst, s.conversion_from_first ?? 0, `step ${s.step} conversion from first`);
    });
    const total = Number(await page.$eval("#chart-funnel", (c) => c.dataset.total));
    assert.equal(total, api.steps.reduce((a, s) => a + s.visitors + s.drop_off, 0), "the chart draws the API's counts");
  }
});

test("the attribution view shows the admin API's figures", async () => {
  const d = await open("#/attribution?range=90d&lookback=30d", "attribution");
  const api = (await apiReport("attribution", d, "&model=all&lookback=30d")).data.models;
  const cells = await page.$$eval("main table tbody tr[data-key] td[data-col]", (tds) => tds.map((td) => ({ channel: td.parentElement.dataset.key, model: td.dataset.col, value: td.dataset.value, text: td.textContent })));
  let checked = 0;
  for (const [model, a] of Object.entries(api)) {
    for (const c of a.channels) {
      const cell = cells.find((x) => x.channel === c.channel && x.model === model);
      assert.ok(cell, `a cell for ${c.channel} × ${model}`);
      assert.equal(Number(cell.value), c.conversions, `${c.channel} × ${model}`);
      assert.equal(num(cell.text), Math.round(c.conversions * 10) / 10, `${c.channel} × ${model} as shown`);
      assert.match(cell.text, /^\d{1,3}(,\d{3})*\.\d$/, `${c.channel} × ${model}: one decimal, as every credit`);
      checked++;
    }
  }
  assert.ok(checked >= 8, `compared ${checked} cells; want every model's channels`);
});

test("numbers, names and colours read evenly", async () => {
  // Attribution: money with its currency and two decimals, ROAS with two, no CAC without spend.
  await open("#/attribution?range=90d&lookback=30d", "attribution");
  const cost = await page.$$eval("main table tbody tr[data-key] td[data-col]", (tds) =>
    tds.filter((td) => ["spend", "cac", "roas"].includes(td.dataset.col)).map((td) => ({ channel: td.parentElement.dataset.key, col: td.dataset.col, text: td.textContent })),
  );
  assert.ok(cost.some((c) => c.col === "roas" && c.text !== "–"), "some channel has a ROAS (simulate sends spend)");
  for (const c of cost) {
    if (c.text === "–") continue;
    if (c.col === "roas") assert.match(c.text, /^\d{1,3}(,\d{3})*\.\d\d×$/, `${c.channel} ROAS ${c.text}`);
    else assert.match(c.text, /^\$\d{1,3}(,\d{3})*\.\d\d$/, `${c.channel} ${c.col} ${c.text}: dollars and cents`);
  }
  const direct = cost.find((c) => c.channel === "Direct" && c.col === "cac");
  assert.equal(direct?.text, "–", "no spend on Direct: no CAC");

  // Overview: every channel its own colour; money in the spend's currency; a change only
  // against a previous period that holds enough (simulate's data begins inside it).
  const d = await open("#/overview?range=90d", "overview");
  const colors = JSON.parse(await page.$eval("#chart-channels", (c) => c.dataset.colors));
  assert.ok(colors.Direct && colors.Display, `Direct and Display are drawn; got ${JSON.stringify(colors)}`);
  assert.equal(new Set(Object.values(colors)).size, Object.keys(colors).length, `no two channels share a colour: ${JSON.stringify(colors)}`);
  const api = (await apiReport("overview", d)).data;
  assert.equal(api.currency, "USD");
  assert.match(await page.$eval("[data-kpi=value] .value", (e) => e.textContent), /^\$[\d,]+\.\d\d$/);
  for (const k of ["visitors", "sessions", "conversions", "conversion_rate", "value"]) {
    const text = await page.$eval(`[data-kpi=${k}] .change`, (e) => e.textContent);
    if (api.change[k] == null) assert.doesNotMatch(text, /%.*vs previous/, `${k}: no percentage against a thin period; got ${text}`);
    else assert.match(text, /[+-]?[\d.,]+% vs previous period/, `${k}: ${text}`);
  }

  // "Last 30 days" is the same period on the dashboard as the API's (and the CLI's) default.
  const thirty = await open("#/overview?range=30d", "overview");
  const byDefault = await env.admin("/api/v1/reports/overview");
  assert.deepEqual([String(byDefault.from), String(byDefault.to)], [thirty.from, thirty.to], "the dashboard's last 30 days are the reports' default period");

  // Steps by their names, ids in the tooltip.
  await open("#/journey?range=90d", "journey");
  const steps = await page.$$eval("main table tbody tr[data-key] td:first-child span[title]", (s) => s.map((e) => [e.title, e.textContent]));
  assert.ok(steps.some(([id, name]) => id === "viewed_product" && name === "Viewed product"), `step names; got ${JSON.stringify(steps)}`);

  // A window made narrow lays the Sankey out again, top to bottom, and back.
  try {
    await page.setViewportSize({ width: 390, height: 844 });
    await until("the Sankey laid out for a phone", () => page.$("#chart-sankey.portrait"), 5000);
  } finally {
    await page.setViewportSize({ width: 1280, height: 860 });
  }
  await until("the Sankey laid out for a wide screen again", async () => !(await page.$("#chart-sankey.portrait")), 5000);

  // Experiments: the control is named once.
  await open("#/experiments?range=90d", "experiments");
  const x = await page.$eval("[data-experiment]", (e) => e.textContent);
  assert.doesNotMatch(x, /control\s*control/i, "no 'control control'");

  // Surveys at 1440 px: no table scrolls sideways.
  await page.setViewportSize({ width: 1440, height: 900 });
  try {
    await open("#/surveys?range=90d", "surveys");
    const wide = await page.$$eval("main .table-wrap", (ws) => ws.filter((w) => w.scrollWidth > w.clientWidth + 1).map((w) => w.closest("[data-survey]")?.dataset.survey + ": " + w.scrollWidth + " > " + w.clientWidth));
    assert.deepEqual(wide, [], "survey tables fit at 1440 px");
    await shot("surveys-1440");
  } finally {
    await page.setViewportSize({ width: 1280, height: 860 });
  }
  assert.deepEqual(errors, [], "console errors");
});

test("the automations view shows the admin API's figures and retries a failed delivery", async () => {
  // Wait until the outbox settles: every delivery to crm acknowledged, every one to broken
  // failed at least once.
  const settled = await until(
    "the outbox to settle",
    async () => {
      const s = await env.admin(`/api/v1/automations/stats?from=0&to=${Date.now() + 86400000}`);
      const by = Object.fromEntries(s.destinations.map((d) => [d.destination, d]));
      return by.crm && by.crm.pending === 0 && by.broken.pending > 0 && by.broken.retrying === by.broken.pending && s;
    },
    60000,
    500,
  );
  const d = await open("#/automations?range=90d", "automations");
  assert.equal(await page.$eval("main#view", (m) => [...m.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).length), 0, "no stray text in the view");
  const api = await env.admin(`/api/v1/automations/stats?from=${d.from}&to=${d.to}`);
  const fired = Object.values(api.fired).reduce((n, byAuto) => n + (byAuto.cart_started || 0), 0);
  assert.equal(fired, env.fill.fired, "the live add-to-carts fired the automation, the imported history nothing");
  assert.equal(Number(await page.$eval(".kpi[data-kpi=fired]", (k) => k.dataset.value)), fired, "fired in the period");
  assert.equal(Number(await page.$eval("tr[data-key=cart_started] [data-col=fired]", (c) => c.dataset.value)), fired);
  const broken = settled.destinations.find((x) => x.destination === "broken");
  assert.equal(Number(await page.$eval("tr[data-key=broken] [data-col=retrying]", (c) => c.dataset.value)), broken.retrying, "retrying to broken");
  assert.equal(Number(await page.$eval("tr[data-key=crm] [data-col=pending]", (c) => c.dataset.value)), 0, "nothing waits for crm");
  assert.ok(env.hooks.got.crm >= broken.pending, "crm received the deliveries");
  // The receiver's answer is shown as text, never as markup.
  const err = await page.$eval("[data-col=error]", (c) => ({ text: c.textContent, bold: !!c.querySelector("b") }));
  assert.match(err.text, /HTTP 503: <b>maintenance window<\/b>/);
  assert.equal(err.bold, false);
  const before = env.hooks.got.broken;
  await page.click("button[data-replay]");
  await until("the retry's answer", () => page.$eval("#replay-result", (r) => /1 back in the outbox/.test(r.textContent)), 10000);
  await until("the retried delivery to reach the receiver", () => env.hooks.got.broken > before, 10000);
  await shot("automations-retry");
});

test("an API key is made and revoked in the automations view", async () => {
  // Another address than the last test's: a fresh render, not one its replay reloads.
  await open("#/automations?range=30d", "automations");
  await page.selectOption("#key-site", "shop");
  await page.fill("#key-name", "crm <b>sync</b>");
  await page.click("#key-name ~ button[type=submit]");
  const secret = await until("the new key's secret", () => page.$eval("[data-secret]", (c) => c.textContent).catch(() => ""), 10000);
  assert.match(secret, /^plk_[A-Za-z0-9_-]{40,}$/);
  const keys = (await env.admin("/api/v1/keys")).keys;
  assert.equal(keys.length, 1);
  assert.equal(keys[0].name, "crm <b>sync</b>", "the name is kept as typed");
  assert.ok(!JSON.stringify(keys).includes(secret), "the admin API never shows the secret again");
  const r = await fetch(env.api + "/api/v1/events", { method: "POST", headers: { Authorization: "Bearer " + secret }, body: JSON.stringify({ site: SITE, events: [{ id: "ui-key-1", user_id: "u-ui", type: "event", name: "deal_won" }] }) });
  assert.equal(r.status, 200, "the key sends events");
  env.fill.liveVids.push((await r.json()).visitors["ui-key-1"]);
  await page.click(`button[data-revoke="${keys[0].id}"]`);
  await until("the key to be revoked", async () => (await env.admin("/api/v1/keys")).keys.length === 0, 10000);
  // The view lists the keys again after the revoke while it stays ready: wait for the list
  // itself (a key still listed after 10 s fails here).
  await until("the revoked key to leave the list", async () => (await page.$(`button[data-revoke="${keys[0].id}"]`)) === null, 10000);
  await ready(page, "automations");
  await shot("automations-keys");
});

test("visitor text is shown as text", async () => {
  await open("#/surveys?range=90d", "surveys");
  const shown = await page.$$eval("[data-survey=thanks_feedback] td.answer", (tds) => tds.map((td) => td.textContent));
  assert.ok(shown.includes(XSS_ANSWER), `the answer ${JSON.stringify(XSS_ANSWER)} is shown as typed; got ${JSON.stringify(shown.slice(0, 5))}`);
  assert.equal(await page.$$eval("main script, main img", (n) => n.length), 0, "no element was made from the answer");
  assert.equal(await page.evaluate(() => window.__plxss), undefined, "the answer's markup never ran");
  await page.$eval("[data-survey=thanks_feedback]", (el) => el.scrollIntoView());
  await page.screenshot({ path: path.join(artifacts, "surveys-open-answers.png") });
});

test("switching the date range updates the view", async () => {
  const a = await open("#/overview?range=90d", "overview");
  const before = { total: await page.$eval("#chart-days", (c) => c.dataset.total), visitors: await page.$eval("[data-kpi=visitors]", (k) => k.dataset.value) };
  await page.selectOption("#range", "7d");
  await until("the overview of the last 7 days", () => page.$eval("main#view", (m, from) => m.dataset.ready === "1" && m.dataset.from !== from, a.from), 15000);
  assert.match(page.url(), /#\/overview\?range=7d$/, "the URL carries the range");
  const b = await page.$eval("main#view", (m) => ({ ...m.dataset }));
  const api = (await apiReport("overview", b)).data;
  const after = { total: await page.$eval("#chart-days", (c) => c.dataset.total).catch(() => "0"), visitors: await page.$eval("[data-kpi=visitors]", (k) => k.dataset.value) };
  assert.equal(Number(after.visitors), api.visitors, "the KPI is the API's for the new range");
  assert.notDeepEqual(after, before, "the figures changed with the range");

  // A custom range through the date inputs.
  await page.selectOption("#range", "custom");
  await until("the custom range", () => page.url().includes("range=custom"), 5000);
  await page.fill("#from", "2020-01-01");
  await page.fill("#to", "2020-01-31");
  await page.$eval("#to", (i) => i.dispatchEvent(new Event("change")));
  await until("the custom range's view", () => page.$eval("main#view", (m) => m.dataset.ready === "1" && m.dataset.from === String(Date.UTC(2020, 0, 1))), 15000);
  assert.equal(await page.$eval("[data-kpi=visitors]", (k) => k.dataset.value), "0", "nobody visited in 2020");
});

test("a journey step shows its visitors", async () => {
  await open("#/journey?range=90d", "journey");
  const box = await page.$eval("#chart-sankey", (c) => c.getBoundingClientRect().toJSON());
  // The first node sits at the left edge of the diagram: click along it until a step opens.
  for (let y = box.y + 20; y < box.y + box.height - 10; y += 12) {
    await page.mouse.click(box.x + 12, y);
    if (await page.$("#step-detail .card")) break;
  }
  await until("the step's detail", () => page.$('#step-detail .who[data-state="done"]'), 10000);
  assert.match(page.url(), /[?&]step=/, "the URL keeps the step");
  const step = decodeURIComponent(/[?&]step=([^&]+)/.exec(page.url())[1]);
  const d = await page.$eval("main#view", (m) => ({ ...m.dataset }));
  const api = await apiReport("funnel", d, "&breakdown=channel&steps=" + encodeURIComponent(step));
  const want = api.data.funnel.groups.filter((g) => g.steps[0].visitors > 0).map((g) => [g.key, g.steps[0].visitors]).sort((a, b) => b[1] - a[1] || 0);
  const shown = await page.$$eval('#step-detail [data-group="channels"] tbody tr', (trs) => trs.map((tr) => [tr.cells[0].textContent, Number(tr.cells[1].dataset.value)]));
  assert.deepEqual(shown.map(([k, v]) => k + v).sort(), want.map(([k, v]) => k + v).sort(), `the channels of the visitors of ${step}`);
  assert.ok(shown.length > 0, "the step's visitors have channels");
  const stage = ((await env.admin("/api/v1/rules")).steps || []).find((x) => x.id === step)?.stage || "";
  assert.equal(await page.$eval("#step-detail .answers", (a) => a.dataset.stage), stage, `the answers box is of ${step}'s stage`);
  if (stage) assert.match(await page.$eval("#step-detail .answers h3", (e) => e.textContent), new RegExp(`answers given at the ${stage} stage`, "i"));
  await shot("journey-step");
  assert.deepEqual(errors, [], "console errors");
});

test("the site picker lists the configured sites", async () => {
  await open("#/overview?range=90d", "overview");
  await until("the site suggestions", () => page.$$eval("#sites option", (os) => os.length > 0), 10000);
  const options = await page.$$eval("#sites option", (os) => os.map((o) => ({ value: o.value, label: o.label })));
  assert.deepEqual(options.map((o) => o.value), [SITE], "the server's configured site");
  assert.ok(options[0].label.includes(ORIGIN), `the option names the origin; got ${JSON.stringify(options[0].label)}`);
});

test("a visitor's timeline shows their dated events", async () => {
  const vid = env.fill.xssVisitor;
  await open(`#/visitor?range=90d&vid=${vid}`, "visitor");
  const r = await fetch(`${env.api}/api/v1/events?from=0&vid=${vid}`, { headers: { Authorization: "Bearer " + TOKEN } });
  assert.equal(r.status, 200);
  const api = (await r.text()).split("\n").filter(Boolean).map((l) => JSON.parse(l));
  assert.ok(api.length >= 3 && api.every((e) => e.vid === vid), "the export has the visitor's events and only theirs");
  const items = await page.$$eval(".timeline .tl", (lis) => lis.map((li) => ({ kind: li.dataset.kind, at: li.querySelector("time").getAttribute("datetime"), text: li.querySelector("span").textContent })));
  const pageviews = items.filter((i) => i.kind === "pageview");
  assert.ok(pageviews.some((i) => i.text.includes("/thanks") && i.text.includes("<b>Thanks</b>")), `a dated pageview with its path and title as text; got ${JSON.stringify(pageviews)}`);
  const prompts = items.filter((i) => i.kind === "prompt").map((i) => i.text);
  assert.ok(prompts.some((t) => /thanks_feedback shown/.test(t)), `the prompt shown; got ${JSON.stringify(prompts)}`);
  assert.ok(prompts.some((t) => /thanks_feedback answered/.test(t) && t.includes(XSS_ANSWER)), "the prompt answered, with the answer as text");
  for (const e of api.filter((e) => e.type === "pageview" || e.type === "prompt")) {
    assert.ok(items.some((i) => i.at === new Date(e.ts).toISOString()), `an entry dated ${new Date(e.ts).toISOString()} for event ${e.id}`);
  }
  assert.equal(await page.$$eval("main script, main img, main b", (n) => n.length), 0, "no element was made from visitor text");
  await shot("visitor-timeline");
  assert.deepEqual(errors, [], "console errors");
});

test("the live view updates without a reload", async () => {
  await open("#/live", "live");
  await page.evaluate(() => (window.__still = true));
  const n = await until("two polls", () => page.$eval("main#view", (m) => (Number(m.dataset.polls || 0) >= 2 ? m.dataset.polls : 0)), 8000);
  assert.ok(Number(n) >= 2);
  assert.equal(await page.evaluate(() => window.__still), true, "the page was not reloaded");
  const rows = await page.$$eval("#live-recent tbody tr", (r) => r.length);
  assert.ok(rows > 0, "recent events are listed");
  // The traffic was imported, and is history: only the hits sent as they happened are listed.
  const live = await env.admin("/api/v1/live");
  const sent = [env.fill.xssVisitor, ...env.fill.liveVids];
  assert.ok(live.recent.length > 0 && live.recent.every((e) => sent.includes(e.vid)), "the live view lists only hits of requests");
  assert.equal(rows, live.recent.length);
  assert.ok(await page.$("#live-imported"), "imports are counted apart");
});

test("dark theme and a phone screen", async () => {
  await open("#/overview?range=90d", "overview");
  await page.click("#theme"); // system → dark
  await until("the dark theme", () => page.evaluate(() => document.documentElement.dataset.theme === "dark"), 3000);
  await ready(page, "overview");
  await shot("overview-dark");
  await open("#/funnels?range=90d&funnel=purchase", "funnels");
  await shot("funnels-dark");
  await page.click("#theme"); // dark → light
  await page.click("#theme"); // light → system
  const phone = await env.browser.newPage();
  try {
    await phone.setViewportSize({ width: 390, height: 844 });
    const errs = watch(phone);
    await phone.goto(env.api + "/dashboard/#/overview?range=90d");
    await ready(phone, "overview");
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the page fits a phone's width (overflows by ${overflow}px)`);
    await shot("overview-phone", phone);
    await phone.goto(env.api + "/dashboard/#/funnels?range=90d&funnel=purchase");
    await ready(phone, "funnels");
    await shot("funnels-phone", phone);
    // The journey map runs top to bottom on a phone, so that its labels have room.
    await phone.goto(env.api + "/dashboard/#/journey?range=90d");
    await ready(phone, "journey");
    assert.ok(await phone.$("#chart-sankey.portrait"), "the Sankey is drawn top to bottom on a phone");
    await shot("journey-phone", phone);
    assert.deepEqual(errs, []);
  } finally {
    await phone.close();
  }
});

test("the heatmaps view lays the click map over the page, beside the scroll map, with the rage and dead clicks", async () => {
  // Where the pricing page's second plan button is, at the desktop band's 1280 px.
  const probe = await env.browser.newPage();
  await probe.setViewportSize({ width: 1280, height: 800 });
  await probe.goto(env.api + "/pricing");
  const at = await probe.$eval("a.btn.alt", (el) => {
    const r = el.getBoundingClientRect();
    return { x: r.left + r.width / 2 + scrollX, y: r.top + r.height / 2 + scrollY };
  });
  await probe.close();
  // Captured clicks on it, as the snippet's chunk sends them, and one pageview's scroll.
  const click = (extra = {}) => ({ s: "main>section>a.btn.alt", x: 0.5, y: 0.5, px: Math.round(at.x), py: Math.round(at.y), ...extra });
  const send = async (id, clicks, scroll) => {
    const body = { site: SITE, id, url: ORIGIN + "/pricing", w: 1280, clicks };
    if (scroll != null) body.scroll = scroll;
    const r = await fetch(env.api + "/v1/capture", { method: "POST", headers: { "Content-Type": "text/plain" }, body: JSON.stringify(body) });
    assert.equal(r.status, 204, await r.text());
  };
  await send("hm-1", [click(), click(), click({ r: true }), click()]);
  await send("hm-2", [{ s: "#hero>img", x: 0.2, y: 0.7, px: 200, py: 300, d: true }], 50);
  await send("hm-3", [], 100);

  const d = await open(`#/heatmaps?range=7d&site=${SITE}&page=/pricing&band=desktop&origin=${encodeURIComponent(env.api)}`, "heatmaps");
  assert.ok(d.ready);
  const frame = await page.$("#heat-stage iframe");
  assert.equal(await frame.getAttribute("src"), env.api + "/pricing");
  assert.equal(await frame.getAttribute("sandbox"), "", "the preview runs no script");
  // The busiest cell of the overlay covers the clicked button in the preview.
  const hot = await page.$eval(".heat-cell[data-count='4']", (c) => {
    const r = c.getBoundingClientRect();
    return { left: r.left, right: r.right, top: r.top, bottom: r.bottom };
  });
  const preview = page.frames().find((f) => f.url() === env.api + "/pricing");
  assert.ok(preview, "the preview frame is loaded");
  await preview.waitForSelector("a.btn.alt");
  const box = await frame.boundingBox();
  const scale = Number(await page.$eval("#heat-stage", (s) => s.dataset.scale));
  const el = await preview.$eval("a.btn.alt", (e) => {
    const r = e.getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
  });
  const cx = box.x + el.x * scale;
  const cy = box.y + el.y * scale;
  assert.ok(cx >= hot.left && cx <= hot.right && cy >= hot.top && cy <= hot.bottom, `the button's centre (${cx}, ${cy}) lies outside the busiest cell ${JSON.stringify(hot)}`);
  // The scroll map: both pageviews reach 50 %, one of two reaches 100 %.
  assert.equal(await page.$eval(".scroll-map li[data-depth='50']", (li) => li.dataset.share), "1");
  assert.equal(await page.$eval(".scroll-map li[data-depth='100']", (li) => li.dataset.share), "0.5");
  const rows = (sel) => page.$$eval(sel, (trs) => trs.map((tr) => [tr.dataset.key, tr.querySelector("[data-col]").dataset.value]));
  const cards = await page.$$("main .grid2 .card");
  assert.deepEqual(await cards[0].$$eval("tbody tr", (trs) => trs.map((tr) => [tr.dataset.key, tr.querySelector("[data-col]").dataset.value])), [["main>section>a.btn.alt", "1"]]);
  assert.deepEqual(await cards[1].$$eval("tbody tr", (trs) => trs.map((tr) => [tr.dataset.key, tr.querySelector("[data-col]").dataset.value])), [["#hero>img", "1"]]);
  assert.deepEqual((await rows("main > .card tbody tr")).slice(0, 2), [["main>section>a.btn.alt", "4"], ["#hero>img", "1"]]);
  assert.equal(await page.$eval(".kpi[data-kpi=clicks]", (k) => k.dataset.value), "5");
  await shot("heatmaps");

  // A visitor of the Paid Social channel: the "Visitors" picker keeps their clicks only.
  const hit = await fetch(env.api + "/v1/hit", {
    method: "POST",
    headers: { "Content-Type": "text/plain" },
    body: JSON.stringify({ site: SITE, events: [{ id: "hm-paid-pv", type: "pageview", url: ORIGIN + "/pricing?utm_source=facebook&utm_medium=paid_social" }] }),
  });
  const vid = (await hit.json()).vid;
  assert.ok(vid, "the hit's visitor id");
  const paid = { site: SITE, vid, id: "hm-paid", url: ORIGIN + "/pricing", w: 1280, clicks: [click(), click()] };
  assert.equal((await fetch(env.api + "/v1/capture", { method: "POST", headers: { "Content-Type": "text/plain" }, body: JSON.stringify(paid) })).status, 204);
  await page.reload(); // the same view, drawn again with the new batch
  await ready(page, "heatmaps");
  assert.equal(await page.$eval(".kpi[data-kpi=clicks]", (k) => k.dataset.value), "7");
  await Promise.all([page.waitForFunction(() => /who=channel/.test(location.hash)), page.selectOption("#hm-who", "channel:Paid Social")]);
  await ready(page, "heatmaps");
  assert.equal(await page.$eval(".kpi[data-kpi=clicks]", (k) => k.dataset.value), "2", "the Paid Social visitor's clicks only");
  assert.equal(await page.$eval("#hm-who", (s) => s.value), "channel:Paid Social");
  // The preview's own scripts are refused, as they should be (the sandbox), and Chromium says
  // so in the console; nothing else may be there.
  // The last preview has parsed its page (and been refused its scripts) once it has loaded.
  await until("the preview to load", () => page.frames().find((f) => f.url() === env.api + "/pricing"), 5000).then((f) => f.waitForLoadState("load"));
  const sandboxed = (e) => /frame is sandboxed and the 'allow-scripts' permission is not set/.test(e) || noSnapshot(e);
  assert.ok(errors.some(sandboxed), "the preview's scripts ran");
  errors.splice(0, errors.length, ...errors.filter((e) => !sandboxed(e)));
  assert.deepEqual(errors, [], "console errors");
});

// ---- Session replay: real recordings made by the snippet in another Chromium ----

// recordVisit drives the site's replay page (pages/replay.html, recorded for replay by
// rules/replay.yaml) as a new visitor: types in the text and password fields, adds to cart
// and, with buy, buys. It keeps a screenshot of the page at a moment (at, the page's clock)
// before the cart is used, then leaves the page, which sends the rest of the recording.
async function recordVisit({ buy = false, typed = "Grace Hopper", password = "hunter2-secret" } = {}) {
  const ctx = await env.visitor({ width: 1280, height: 800 });
  try {
    const p = await ctx.newPage();
    let vid = "";
    const sent = { chunk: 0, batches: 0 };
    p.on("request", (r) => {
      if (r.url().endsWith("/pl-rr.js")) sent.chunk++;
      if (r.url().endsWith("/v1/replay")) sent.batches++;
    });
    p.on("response", async (r) => {
      if (!r.url().endsWith("/v1/hit") || !r.ok()) return;
      const b = await r.json().catch(() => ({}));
      vid ||= b.vid || "";
    });
    await p.goto(env.pages + "/replay.html");
    await until("the visitor's id", () => vid, 10000);
    await until("the replay chunk to load", () => sent.chunk >= 1, 10000);
    await until("the recording to start", () => p.evaluate(() => !!(window.pathlight && window.pathlight.rr)), 10000);
    await p.waitForTimeout(300);
    await p.locator("#name").pressSequentially(typed, { delay: 15 });
    await p.locator("#pw").pressSequentially(password, { delay: 15 });
    await p.locator("#name").blur();
    await p.waitForTimeout(600);
    const at = await p.evaluate(() => Date.now());
    const picture = await p.screenshot();
    await p.waitForTimeout(400);
    await p.click("#add");
    await p.waitForTimeout(900);
    if (buy) {
      await p.click("#buy");
      await p.waitForTimeout(600);
    }
    await p.goto(env.pages + "/bye.html"); // page hide: the last batch goes
    const list = await until(`the recording of ${vid} to be stored`, async () => {
      const r = await env.admin(`/api/v1/visitors/${vid}/replays`);
      return r.replays.length && r.replays;
    }, 15000);
    return { vid, at, picture, typed, password, batches: sent.batches, replay: list[0] };
  } finally {
    await ctx.close();
  }
}

// compare scales two PNG pictures of the same aspect down to a grid of w×h cells and returns
// the mean absolute difference of their colours (0 = equal, 1 = black against white) and the
// colour of a point (fractions of width and height) in each.
async function compare(a, b, points = [], w = 64, h = 40) {
  const p = await env.browser.newPage();
  try {
    return await p.evaluate(
      async ([a, b, points, w, h]) => {
        const grid = async (b64) => {
          const img = new Image();
          img.src = "data:image/png;base64," + b64;
          await img.decode();
          const c = document.createElement("canvas");
          c.width = w;
          c.height = h;
          const g = c.getContext("2d");
          g.drawImage(img, 0, 0, w, h);
          const px = g.getImageData(0, 0, w, h).data;
          const full = document.createElement("canvas");
          full.width = img.naturalWidth;
          full.height = img.naturalHeight;
          full.getContext("2d").drawImage(img, 0, 0);
          const at = points.map(([x, y]) => Array.from(full.getContext("2d").getImageData(Math.floor(x * img.naturalWidth), Math.floor(y * img.naturalHeight), 1, 1).data.slice(0, 3)));
          return { px, at };
        };
        const [ga, gb] = [await grid(a), await grid(b)];
        let sum = 0;
        for (let i = 0; i < ga.px.length; i += 4) for (let k = 0; k < 3; k++) sum += Math.abs(ga.px[i + k] - gb.px[i + k]);
        return { diff: sum / ((ga.px.length / 4) * 3 * 255), a: ga.at, b: gb.at };
      },
      [a.toString("base64"), b.toString("base64"), points, w, h],
    );
  } finally {
    await p.close();
  }
}

const near = (rgb, want, tol = 24) => rgb.every((v, i) => Math.abs(v - want[i]) <= tol);
const MAGENTA = [0xe0, 0x21, 0x8a]; // #hero
const AMBER = [0xf5, 0x9e, 0x0b]; // #added, once the cart is used
const WHITE = [255, 255, 255];
// Points of the recorded 1280 × 800 viewport: the middle of #hero, and of #added.
const HERO = [(96 + 260) / 1280, (160 + 130) / 800];
const ADDED = [(96 + 200) / 1280, (620 + 50) / 800];

let stopper; // a visitor who added to cart and went no further
let buyer; // a visitor who went on to buy

test("the visitor view lists a recorded session and plays it back as it was, typed text masked", async () => {
  stopper = await recordVisit();
  buyer = await recordVisit({ buy: true, typed: "Ada Lovelace" });
  const { vid, replay } = stopper;
  await open(`#/visitor?range=7d&vid=${vid}`, "visitor");
  const rows = await page.$$eval("#replays tbody tr", (trs) => trs.map((tr) => tr.dataset.key));
  const api = await env.admin(`/api/v1/visitors/${vid}/replays`);
  assert.deepEqual(rows, api.replays.map((r) => r.id), "the visitor's recordings, as the API lists them");
  assert.ok(rows.includes(replay.id));
  assert.match(await page.$eval(`#replays tr[data-key="${replay.id}"]`, (tr) => tr.textContent), /\/replay\.html/, "the recording's page is listed");

  await page.click(`#replays [data-play="${replay.id}"]`);
  await until("the player", () => page.$('#replay-panel[data-state="playing"] .rr-box[data-state="paused"]'), 15000);
  assert.match(page.url(), new RegExp(`[?&]replay=${replay.id}`), "the URL names the recording");
  const box = await page.$eval("#replay-panel .rr-box", (b) => ({ ...b.dataset }));
  const start = Number(box.start);
  assert.ok(Number(box.total) > 2000, `the recording lasts ${box.total} ms`);

  // The player at the moment of the page's screenshot shows what the page showed.
  const seek = (ms) =>
    page.$eval(".rr-seek", (s, ms) => {
      s.value = String(ms);
      s.dispatchEvent(new Event("input"));
    }, ms);
  await seek(stopper.at - start);
  await page.waitForTimeout(300);
  const screen = await page.$(".rr-screen");
  const played = await screen.screenshot();
  const atShot = await compare(stopper.picture, played, [HERO, ADDED]);
  console.log(`# replay vs page at ${stopper.at - start} ms: mean colour difference ${(atShot.diff * 100).toFixed(2)} %`);
  assert.ok(near(atShot.a[0], MAGENTA) && near(atShot.b[0], MAGENTA), `the hero block is magenta in the page ${atShot.a[0]} and the player ${atShot.b[0]}`);
  assert.ok(near(atShot.a[1], WHITE) && near(atShot.b[1], WHITE), `no cart banner yet in the page ${atShot.a[1]} or the player ${atShot.b[1]}`);
  assert.ok(atShot.diff < 0.03, `the player's picture differs from the page's by ${(atShot.diff * 100).toFixed(2)} % (want under 3 %)`);
  await shot("replay-player");

  // Typed text shows masked: the replayed fields hold stars, and the recording nothing typed.
  const fields = await page.$eval(".rr-screen iframe", (f) => {
    const d = f.contentDocument;
    const pw = d.querySelector("#pw");
    return { name: d.querySelector("#name").value, pw: pw && pw.value, html: d.documentElement.outerHTML, values: [...d.querySelectorAll("input")].map((i) => i.value) };
  });
  assert.match(fields.name, /^\*+$/, `the name field shows ${JSON.stringify(fields.name)}`);
  assert.equal(fields.name.length, stopper.typed.length, "one star per typed character");
  assert.ok(fields.pw == null || /^\**$/.test(fields.pw), `the password field shows ${JSON.stringify(fields.pw)}`);
  for (const t of [stopper.typed, stopper.password]) {
    assert.ok(!fields.html.includes(t) && !fields.values.some((v) => v.includes(t)), `the replayed page shows the typed ${JSON.stringify(t)}`);
  }
  const rec = JSON.stringify(await env.admin(`/api/v1/replays/${replay.id}`));
  for (const t of [stopper.typed, stopper.password, "Grace", "hunter2"]) assert.ok(!rec.includes(t), `the stored recording holds the typed ${JSON.stringify(t)}`);

  // The journey's session the recording belongs to plays it too.
  await page.click(`.timeline [data-replay-session="${replay.id}"]`);
  await until("the player again", () => page.$(`#replay-panel[data-state="playing"][data-replay="${replay.id}"] .rr-box`), 15000);

  // Playing runs the clock on.
  await page.click(".rr-play");
  await until("playback to move on", () => page.$eval(".rr-box", (b) => b.dataset.state !== "playing" || Number(b.dataset.time) > 0), 5000);
  assert.deepEqual(errors, [], "console errors");
});

test("a journey marker on the player's timeline seeks to its moment", async () => {
  const start = Number(await page.$eval("#replay-panel .rr-box", (b) => b.dataset.start));
  await page.$eval(".rr-box", (b) => b.dataset.state === "playing" && b.closest(".rr-player").querySelector(".rr-play").click());
  const marks = await page.$$eval(".rr-mark", (ms) => ms.map((m) => ({ types: m.dataset.type, at: Number(m.dataset.at), count: Number(m.dataset.count), title: m.title })));
  const rec = await env.admin(`/api/v1/replays/${stopper.replay.id}`);
  const total = Number(await page.$eval(".rr-box", (b) => b.dataset.total));
  assert.equal(marks.reduce((n, m) => n + m.count, 0), rec.journey.length, `the markers stand for every journey event: ${JSON.stringify(marks)} for ${JSON.stringify(rec.journey)}`);
  assert.equal(await page.$$eval(".rr-journey li", (lis) => lis.length), rec.journey.length, "the list under the player names every journey event");
  assert.ok(rec.journey.some((j) => j.type === "step" && j.name === "added_to_cart"), `the journey has the step reached: ${JSON.stringify(rec.journey)}`);
  const cart = marks.find((m) => /added_to_cart/.test(m.title));
  assert.ok(cart, `a marker for the step: ${JSON.stringify(marks)}`);
  const j = rec.journey.find((x) => x.type === "step" && x.name === "added_to_cart");
  const want = Math.max(0, Math.min(total, j.ts - start));
  assert.ok(cart.at <= want && want - cart.at <= 0.008 * total + 1, `the marker at ${cart.at} ms stands for the step at ${want} ms`);
  // From the start of the recording, the marker jumps to the moment the cart was used.
  await page.$eval(".rr-seek", (s) => ((s.value = "0"), s.dispatchEvent(new Event("input"))));
  await page.waitForTimeout(300);
  assert.equal(await page.$eval(".rr-screen iframe", (f) => !!f.contentDocument.querySelector("#added")), false, "no cart banner at the start");
  await page.click(`.rr-mark[data-at="${cart.at}"]`);
  await until("the player to jump", () => page.$eval(".rr-box", (b, at) => b.dataset.time === String(at), cart.at), 5000);
  // The Replayer applies the recording up to the new moment in its virtual DOM and then
  // writes it to the page, a frame later.
  await until("the cart banner on the page at the marker", () => page.$eval(".rr-screen iframe", (f) => !!f.contentDocument.querySelector("#added")), 3000);
  const played = await (await page.$(".rr-screen")).screenshot();
  const c = await compare(stopper.picture, played, [ADDED]);
  assert.ok(near(c.b[0], AMBER), `the cart banner shows amber in the player: ${c.b[0]}`);
  // The comparison that found the player like the page before the cart was used tells them
  // apart once the banner is on.
  console.log(`# replay after the cart vs page before it: mean colour difference ${(c.diff * 100).toFixed(2)} %`);
  assert.ok(c.diff > 0.03, `the picture with the banner differs from the page without it by only ${(c.diff * 100).toFixed(2)} %`);
  // The journey list below jumps too.
  await page.click(".rr-journey li:first-child button");
  await until("the list to jump", () => page.$eval(".rr-box", (b, at) => Number(b.dataset.time) < at, cart.at), 5000);
  await shot("replay-marker");
  assert.deepEqual(errors, [], "console errors");
});

test("a funnel step links to the replays of the visitors who stopped there", async () => {
  const d = await open("#/funnels?range=7d&funnel=purchase", "funnels");
  const link = await page.$('a[data-replays="added_to_cart"]');
  assert.ok(link, "the added_to_cart step links to its replays");
  await link.click();
  const r = await ready(page, "replays");
  assert.match(page.url(), /#\/replays\?.*step=added_to_cart/);
  assert.match(page.url(), /stopped=true/);
  const shown = await page.$$eval("main tbody tr", (trs) => trs.map((tr) => tr.querySelector("a.mono").textContent));
  const api = await env.admin(`/api/v1/replays?from=${d.from}&to=${d.to}&step=added_to_cart&stopped=true&limit=200`);
  assert.deepEqual(shown, api.replays.map((x) => x.vid), "the visitors the API lists");
  assert.ok(shown.includes(stopper.vid), "the visitor who stopped at the cart is listed");
  assert.ok(!shown.includes(buyer.vid), "the visitor who went on to buy is not");
  assert.equal(r.from, d.from, "the same period");
  // Without "went no further", both.
  await Promise.all([page.waitForFunction(() => !/stopped=true/.test(location.hash)), page.uncheck("#rp-stopped")]);
  await ready(page, "replays");
  // The list is drawn again for the new filter while the view may still carry its ready mark.
  let reached = [];
  await until("both visitors listed", async () => {
    reached = await page.$$eval("main tbody tr", (trs) => trs.map((tr) => tr.querySelector("a.mono").textContent));
    return reached.includes(stopper.vid) && reached.includes(buyer.vid);
  }, 10000).catch(() => {});
  assert.ok(reached.includes(stopper.vid) && reached.includes(buyer.vid), `both visitors reached the cart: ${reached}`);
  // A recording plays in the list's panel, and the visitor's id leads to their view.
  await page.click(`main tbody tr[data-key="${buyer.replay.id}"] [data-play]`);
  await until("the player", () => page.$('#replay-panel[data-state="playing"]'), 15000);
  await shot("replays");
  // The journey map's step links to the same list.
  await open("#/journey?range=7d&step=added_to_cart", "journey");
  const href = await until("the step's replays link", () => page.$eval("#step-replays", (a) => a.getAttribute("href")).catch(() => null), 5000);
  assert.match(href, /^#\/replays\?.*step=added_to_cart.*stopped=true/);
  assert.deepEqual(errors, [], "console errors");
});

test("a recording that is gone or cannot be fetched says so", async () => {
  await open(`#/visitor?range=7d&vid=${stopper.vid}&replay=no-such-recording`, "visitor");
  await until("the notice", () => page.$('#replay-panel[data-state="missing"]'), 10000);
  assert.match(await page.$eval("#replay-panel .notice", (n) => n.textContent), /no longer stored/);
  const gone = (e) => /status of 404 .*\/api\/v1\/replays\/no-such-recording/.test(e);
  assert.ok(errors.some(gone), "the recording's 404");
  errors.splice(0, errors.length, ...errors.filter((e) => !gone(e)));
  // The network fails (the request is aborted in the browser): a notice with a retry.
  await page.route("**/api/v1/replays/**", (r) => r.abort("internetdisconnected"));
  try {
    await open(`#/visitor?range=7d&vid=${stopper.vid}&replay=${stopper.replay.id}`, "visitor");
    await until("the notice", () => page.$('#replay-panel[data-state="error"]'), 10000);
    assert.match(await page.$eval("#replay-panel .notice", (n) => n.textContent), /network error/);
  } finally {
    await page.unroute("**/api/v1/replays/**");
  }
  await page.click("#replay-panel button");
  await until("the player after the retry", () => page.$('#replay-panel[data-state="playing"]'), 15000);
  errors.splice(0, errors.length, ...errors.filter((e) => !/ERR_INTERNET_DISCONNECTED.*\/api\/v1\/replays\//.test(e)));
  assert.deepEqual(errors, [], "console errors");
});

test("the heatmaps view draws the page from its DOM snapshot when there is one", async () => {
  const q = `site=${SITE}&page=${encodeURIComponent("/replay.html")}&band=desktop`;
  const snap = await env.admin(`/api/v1/reports/heatmap/snapshot?${q}`);
  assert.equal(snap.type, 2, "the route answers an rrweb full snapshot");
  await open(`#/heatmaps?range=7d&${q}&origin=${encodeURIComponent(env.pages)}`, "heatmaps");
  await until("the snapshot", () => page.$('#heat-stage[data-source="snapshot"]'), 15000);
  const hero = await page.$eval("#heat-stage iframe", (f) => {
    const e = f.contentDocument.querySelector("#hero");
    return e && getComputedStyle(e).backgroundColor;
  });
  assert.equal(hero, "rgb(224, 33, 138)", "the page's hero block is rebuilt from the snapshot");
  assert.equal(await page.$eval("#heat-stage iframe", (f) => f.getAttribute("sandbox")), "allow-same-origin", "no script runs in the rebuilt page");
  assert.ok(await page.$("#heat-stage .heat-overlay"), "the click overlay stays");
  assert.equal(await page.$eval("#hm-origin", (i) => i.closest("label").hidden), true, "the live preview's origin is not asked for");
  await shot("heatmaps-snapshot");
  // A page without a snapshot falls back to the live page (checked above for /pricing).
  // The view re-renders its stage after the click while the view stays ready: wait for the
  // live stage itself, not for the view's ready mark, which the snapshot's render left set.
  await page.click("#heat-live");
  const live = await until("the live stage", () => page.$('#heat-stage[data-source="live"] iframe'), 15000);
  // The live page's blocked scripts are reported while it loads: wait for it, so that none of
  // those reports reaches the next test.
  await (await live.contentFrame()).waitForLoadState("load");
  const sandboxed = (e) => /frame is sandboxed and the 'allow-scripts' permission is not set/.test(e) || noSnapshot(e);
  errors.splice(0, errors.length, ...errors.filter((e) => !sandboxed(e)));
  assert.deepEqual(errors, [], "console errors");
});

test("signing out ends the session", async () => {
  const cookie = (await env.browser.cookies(env.api)).find((c) => c.name === "pl_dash");
  await Promise.all([page.waitForURL(/\/dashboard\/login$/, { timeout: 10000 }), page.click("text=Sign out")]);
  const r = await fetch(env.api + "/api/v1/rules", { headers: { Cookie: "pl_dash=" + cookie.value } });
  assert.equal(r.status, 401, "the old session cookie no longer authorises the API");
  await page.goto(env.api + "/dashboard/#/overview");
  assert.match(page.url(), /\/dashboard\/login/);
  assert.deepEqual(errors.filter((e) => !/401/.test(e)), [], "console errors");
});
