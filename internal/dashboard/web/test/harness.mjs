// The dashboard tests' world: the real pathlight server built from this repository, serving
// the example rules plus this directory's rules/ (an open-answer survey, replay capture),
// filled with simulated traffic, a site's pages (pages/) served on an origin of their own
// with the real snippet, and Debian's Chromium driven by playwright-core.
//
// Every wait here is bounded: a test fails rather than hangs.

import { spawn, execFile } from "node:child_process";
import { createServer } from "node:http";
import { mkdtemp, readdir, readFile, rm, mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { chromium } from "playwright-core";
import { traffic } from "./traffic.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const web = path.resolve(here, "..");
const repo = path.resolve(web, "../../..");

/** Where the tests keep screenshots (git-ignored). */
export const artifacts = path.join(here, "artifacts");

/** The admin token of the test server. */
export const TOKEN = "dashboard-test-token-0123456789";

/** The site the traffic is recorded for, and its origin. */
export const SITE = "shop";
export const ORIGIN = "https://shop.example";

/** Chromium's user agent without "Headless", which the server would rightly class as a bot. */
export const USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const run = promisify(execFile);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * until polls fn until it returns a truthy value and returns it, or throws after timeout ms
 * naming what it waited for; fn may throw meanwhile (the last error is reported).
 */
export async function until(what, fn, timeout = 10000, every = 100) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}` + (last ? `: ${last.message}` : ""));
    await sleep(every);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// spend returns a spend file: the daily ad spend of the paid channels over the last 120 days.
function spend(now) {
  const day = 86400000;
  const rows = ["date,channel,campaign,amount,currency"];
  for (let t = Math.floor(now / day) * day - 120 * day; t <= now; t += day) {
    const d = new Date(t).toISOString().slice(0, 10);
    rows.push(`${d},Paid Search,brand,40,USD`, `${d},Paid Social,spring,55,USD`, `${d},Email,weekly,5,USD`);
  }
  return rows.join("\n") + "\n";
}

// rulesDir joins the example rules and this directory's test rules in dir. The example
// rules serve the demo shop only; here they serve the test's site.
async function rulesDir(dir) {
  const out = path.join(dir, "rules");
  await mkdir(out, { recursive: true });
  for (const src of [path.join(repo, "rules"), path.join(here, "rules")]) {
    for (const f of await readdir(src)) {
      if (!f.endsWith(".yaml")) continue;
      const text = await readFile(path.join(src, f), "utf8");
      await writeFile(path.join(out, f), text.replace(/^sites: \[demo\]$/m, `sites: [${SITE}]`));
    }
  }
  return out;
}

/**
 * receivers starts the webhook receivers of the automations on 127.0.0.1: /crm acknowledges
 * every delivery, /broken answers 503 to all. It counts what each got.
 */
async function receivers() {
  const got = { crm: 0, broken: 0 };
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (req.url === "/crm") {
        got.crm++;
        res.writeHead(204).end();
      } else {
        got.broken++;
        res.writeHead(503, { "Content-Type": "text/plain" }).end("<b>maintenance window</b>");
      }
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { server, got, url: `http://127.0.0.1:${server.address().port}` };
}

/**
 * pageServer serves pages/ as pages of the site on an origin of their own (a second origin
 * of the site), with {{API}} in them replaced by the server's origin: the snippet tag loads
 * pl.js from the server as on a real site.
 */
async function pageServer(apiOrigin) {
  const dir = path.join(here, "pages");
  const server = createServer(async (req, res) => {
    try {
      const name = path.basename(new URL(req.url, "http://x").pathname);
      const body = (await readFile(path.join(dir, name), "utf8")).replaceAll("{{API}}", apiOrigin());
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" }).end(body);
    } catch {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

// cartHits sends live add-to-cart hits of a few visitors, which fire the automation
// (imported history fires none), notes their ids in vids and returns how many.
async function cartHits(api, vids) {
  const n = 12;
  const ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
  for (let i = 0; i < n; i++) {
    const vid = (0xca7000 + i).toString(16).padStart(32, "0");
    const url = ORIGIN + "/products/jacket";
    const body = { site: SITE, vid, events: [{ id: `live-pv-${i}`, type: "pageview", url }, { id: `live-cart-${i}`, type: "event", name: "add_to_cart", url }] };
    const r = await fetch(api + "/v1/hit", { method: "POST", headers: { "Content-Type": "text/plain", Origin: ORIGIN, "User-Agent": ua }, body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`live hit: ${r.status} ${await r.text()}`);
    vids.push(vid);
  }
  return n;
}

// automationRules sends every visitor's first add to cart to both receivers.
function automationRules(url) {
  return `destinations:
  crm: {url: "${url}/crm"}
  broken: {url: "${url}/broken"}
automations:
  cart_started:
    on: {reaches: added_to_cart}
    cap: once
    to: [crm, broken]
`;
}

/**
 * setup builds and starts the server, fills it with traffic and starts Chromium. Call stop()
 * when done. The world:
 *   api               the server's origin
 *   admin(path)       a GET of the admin API with the bearer token, decoded from JSON
 *   browser           the browser context (English, UTC, a fresh profile)
 *   fill              what the traffic filler did: {how, visitors, xssVisitor, fired, liveVids}
 *                     (liveVids: the visitors of live hits besides the xss visitor's)
 *   hooks             the automations' webhook receivers: {url, got: {crm, broken}}
 *   pages             the origin that serves pages/ as the site's pages, with the snippet
 *   visitor()         a fresh browser context for a visitor of those pages
 */
export async function setup() {
  const dir = await mkdtemp(path.join(tmpdir(), "pathlight-dash-"));
  await mkdir(artifacts, { recursive: true });
  // PATHLIGHT_BIN runs a binary built beforehand instead of building this repository.
  let bin = process.env.PATHLIGHT_BIN;
  if (!bin) {
    bin = path.join(dir, "pathlight");
    await run("go", ["build", "-o", bin, "./cmd/pathlight"], { cwd: repo, timeout: 300000 });
  }
  const rules = await rulesDir(dir);
  await writeFile(path.join(rules, "spend.csv"), spend(Date.now()));
  const hooks = await receivers();
  await writeFile(path.join(rules, "automations.yaml"), automationRules(hooks.url));
  // The pages' server reads the API's origin when it serves a page: it starts first, and the
  // server on a port that was free a moment ago (another, when a process of a test file
  // running beside took it meanwhile).
  let api = "";
  const pages = await pageServer(() => api);
  let proc;
  let log = "";
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    const args = ["serve", "--addr", `127.0.0.1:${port}`, "--data", path.join(dir, "data"), "--rules", rules, "--admin-token", TOKEN, "--sites", `${SITE}=${ORIGIN},${pages.origin}`, "--demo", "--log-level", "warn", "--rate-ip", "100000", "--burst-ip", "100000", "--rate-visitor", "100000", "--burst-visitor", "100000"];
    proc = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
    log = "";
    proc.stderr.on("data", (b) => (log = (log + b).slice(-8000)));
    let exited = false;
    proc.once("close", () => (exited = true)); // after its stderr is read to the end
    const up = await until("pathlight serve to answer /healthz", async () => {
      if (exited) return "exited";
      return (await fetch(api + "/healthz")).ok;
    }, 30000);
    if (up !== "exited") break;
    if (attempt >= 3 || !/address already in use/.test(log)) throw new Error("pathlight exited: " + log);
  }

  const admin = async (p) => {
    const r = await fetch(api + p, { headers: { Authorization: "Bearer " + TOKEN } });
    if (!r.ok) throw new Error(`GET ${p}: ${r.status} ${await r.text()}`);
    return r.json();
  };
  const fill = await traffic({ bin, api, token: TOKEN, site: SITE, origin: ORIGIN });
  fill.liveVids = [];
  fill.fired = await cartHits(api, fill.liveVids);

  // One Chromium with a fresh profile directory: the tests sign in and out in it.
  const browser = await chromium.launchPersistentContext(path.join(dir, "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    timeout: 30000,
    locale: "en-US",
    timezoneId: "UTC",
    viewport: { width: 1280, height: 860 },
  });
  browser.setDefaultTimeout(10000);
  let visitors = null;
  return {
    api,
    admin,
    fill,
    browser,
    pages: pages.origin,
    serverLog: () => log,
    hooks,
    /**
     * visitor opens a browser context of a new visitor of the site's pages: another Chromium
     * than the dashboard's, with a user agent the server does not class as a bot.
     */
    async visitor(viewport = { width: 1280, height: 800 }) {
      visitors ??= await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 30000 });
      const ctx = await visitors.newContext({ userAgent: USER_AGENT, viewport, locale: "en-US", timezoneId: "UTC" });
      ctx.setDefaultTimeout(10000);
      return ctx;
    },
    async stop() {
      await browser.close().catch(() => {});
      await visitors?.close().catch(() => {});
      pages.server.close();
      hooks.server.close();
      proc.kill("SIGTERM");
      await Promise.race([new Promise((r) => proc.once("exit", r)), sleep(5000)]);
      if (proc.exitCode === null) proc.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * watch collects a page's console errors and uncaught exceptions. A failed load names its
 * address ("Failed to load resource: … (url)"), so that a test can tell an answer the
 * dashboard expects (a 404 that means "none") from any other.
 */
export function watch(page) {
  const errors = [];
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const url = m.location()?.url || "";
    errors.push(/^Failed to load resource/.test(m.text()) && url ? `${m.text()} (${url})` : m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  return errors;
}

/** signIn opens the dashboard in page and signs in with the token. */
export async function signIn(page, api, hash = "") {
  await page.goto(api + "/dashboard/" + hash);
  await page.waitForURL(/\/dashboard\/login/, { timeout: 10000 });
  await page.fill('input[name="token"]', TOKEN);
  await Promise.all([page.waitForURL((u) => !u.pathname.endsWith("/login"), { timeout: 10000 }), page.click('button[type="submit"]')]);
}

/** ready waits until the view on screen has rendered and returns its main element's data. */
export async function ready(page, view, timeout = 15000) {
  await page.waitForSelector(`main#view[data-view="${view}"][data-ready="1"]`, { timeout });
  // Charts draw a moment after the data is on screen; the screenshot should show them whole.
  await page.waitForFunction(() => !document.querySelector('main [data-chart="drawing"]'), null, { timeout: 5000 });
  return page.$eval("main#view", (m) => ({ ...m.dataset }));
}
