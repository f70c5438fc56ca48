// The browser tests' world: the real pathlight server (built from this repository) with the
// test rules, a static server for the pages on another origin (so every hit is cross-origin
// and exercises CORS and the cookie), and Debian's Chromium driven by playwright-core.
//
// Every wait here is bounded: a test fails rather than hangs.

import { spawn, execFile } from "node:child_process";
import { createServer } from "node:http";
import { mkdtemp, readFile, rm, mkdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const sdk = path.resolve(here, "../..");
const repo = path.resolve(sdk, "..");
const demo = path.join(sdk, "demo");
const pages = path.join(here, "pages");

/** Where the tests keep screenshots (git-ignored). */
export const artifacts = path.join(sdk, "test/artifacts");

/** The bearer token of the test server's admin API. */
export const TOKEN = "test-admin-token-0123456789";

/** Chromium's user agent without "Headless", which the server would rightly class as a bot. */
export const USER_AGENT =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

const CHROMIUM = "/usr/bin/chromium";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls fn until it returns a truthy value and returns it, or throws after timeout ms with
 * what; fn may throw meanwhile (the last error is reported).
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

// freePort returns a port that was free a moment ago on 127.0.0.1.
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

// listen starts an http server on a free 127.0.0.1 port and returns it with its origin.
function listen(handler) {
  return new Promise((resolve, reject) => {
    const s = createServer(handler);
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => resolve({ server: s, origin: `http://127.0.0.1:${s.address().port}` }));
  });
}

const types = { ".html": "text/html; charset=utf-8", ".css": "text/css", ".js": "application/javascript", ".png": "image/png" };

/**
 * pageServer serves the demo shop and the test pages as a site on its own origin. The demo's
 * snippet tag is pointed at the test server (site "test"); query parameters of the page tune
 * it for one test: __site (data-site, "test" without it), __src (the origin pl.js loads from),
 * __api (data-api), __timeout
 * (data-timeout: "default" for none; without it 5000, so that a slow first hit on a busy
 * machine cannot make a test miss its decisions), __consent (data-consent), __spa (data-spa),
 * __nohide (leave out the inline anti-flicker style).
 */
async function pageServer(apiOrigin) {
  return listen(async (req, res) => {
    try {
      const u = new URL(req.url, "http://x");
      let file;
      if (u.pathname.startsWith("/spa")) file = path.join(pages, "spa.html");
      else if (u.pathname.startsWith("/t/")) file = path.join(pages, u.pathname.slice(3));
      else {
        const p = path.normalize(u.pathname).replace(/^\/+/, "");
        file = [path.join(demo, p, "index.html"), path.join(demo, p)].find((f) => f.startsWith(demo) && existsSync(f) && !f.endsWith("/"));
      }
      if (!file || !existsSync(file)) {
        res.writeHead(404).end("not found");
        return;
      }
      let body = await readFile(file);
      const type = types[path.extname(file)] || "application/octet-stream";
      if (type.startsWith("text/html")) {
        const q = u.searchParams;
        let attrs = `data-site="${q.get("__site") || "test"}"`;
        if (q.get("__api")) attrs += ` data-api="${q.get("__api")}"`;
        const timeout = q.get("__timeout") || "5000";
        if (timeout != "default") attrs += ` data-timeout="${timeout}"`;
        if (q.get("__consent")) attrs += ` data-consent="${q.get("__consent")}"`;
        if (q.get("__spa")) attrs += ` data-spa="${q.get("__spa")}"`;
        let html = body.toString("utf8").replace(/src="\/pl\.js" data-site="demo"/, `src="${q.get("__src") || apiOrigin()}/pl.js" ${attrs}`);
        if (q.has("__nohide")) html = html.replace(/<style id="pl-hide">.*?<\/style>/, "");
        body = Buffer.from(html);
      }
      res.writeHead(200, { "Content-Type": type, "Cache-Control": "no-store" }).end(body);
    } catch (e) {
      res.writeHead(500).end(String(e));
    }
  });
}

/**
 * buildServer builds the pathlight binary from this repository into dir, or returns the one
 * named by PATHLIGHT_BIN (a binary built from this tree, to save the build).
 */
async function buildServer(dir) {
  if (process.env.PATHLIGHT_BIN) return path.resolve(process.env.PATHLIGHT_BIN);
  const bin = path.join(dir, "pathlight");
  await promisify(execFile)("go", ["build", "-o", bin, "./cmd/pathlight"], { cwd: repo, timeout: 300000 });
  return bin;
}

/**
 * setup starts the world for one test file and returns it. Call stop() when done. With
 * opts.crossSite, the server also allows the pages from crossBase; opts.flags are more flags
 * of pathlight serve.
 *   api, base         the server's origin and the pages' origin
 *   crossBase         the pages' origin on another site than the server's (localhost, where the
 *                     server is on 127.0.0.1): allowed only with opts.crossSite
 *   browser           the Chromium instance
 *   context(opts)     a fresh browser context (a new visitor) with a normal user agent
 *   visitor(vid)      the admin API's journey state of a visitor, or null when there is none
 *   events()          every stored event, from the admin NDJSON export
 *   vid(ctx)          the pl_vid cookie the server set in a context, or ""
 */
export async function setup(opts = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), "pathlight-sdk-"));
  await mkdir(artifacts, { recursive: true });
  const bin = await buildServer(dir);
  // The pages' server needs the API's origin and the API needs the pages' origin: the pages'
  // server starts first and reads the API's origin when it serves a page.
  let api = "";
  const pagesSrv = await pageServer(() => api);
  const crossBase = pagesSrv.origin.replace("127.0.0.1", "localhost");
  const srv = await startServerOnFreePort(bin, dir, opts.crossSite ? `${pagesSrv.origin},${crossBase}` : pagesSrv.origin, opts.flags);
  api = srv.api;
  // The server must serve the snippet under test: the committed bundles.
  for (const name of ["pl.js", "pl-ui.js", "pl-hm.js", "pl-rr.js"]) {
    const served = await (await fetch(`${srv.api}/${name}`)).text();
    if (served !== (await readFile(path.join(sdk, "dist", name), "utf8"))) {
      srv.proc.kill("SIGKILL");
      throw new Error(`the server's /${name} differs from dist/${name}: build the binary from this tree`);
    }
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // The user agent goes on the command line too: requests that outlive their page (keepalive
    // fetches and beacons at page hide) do not get playwright's per-page override.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-agent=" + USER_AGENT],
    timeout: 30000,
  });
  const contexts = [];
  const admin = (p) => fetch(srv.api + p, { headers: { Authorization: "Bearer " + TOKEN } });
  const env = {
    api: srv.api,
    base: pagesSrv.origin,
    crossBase,
    browser,
    serverLog: srv.log,
    async context(opts = {}) {
      const ctx = await browser.newContext({ userAgent: USER_AGENT, viewport: { width: 1280, height: 800 }, ...opts });
      ctx.setDefaultTimeout(10000);
      contexts.push(ctx);
      return ctx;
    },
    async visitor(vid) {
      const r = await admin("/api/v1/visitors/" + encodeURIComponent(vid));
      if (r.status == 404) return null;
      if (!r.ok) throw new Error(`GET visitor ${vid}: ${r.status} ${await r.text()}`);
      return r.json();
    },
    async events() {
      const r = await admin(`/api/v1/events?from=0&to=${Date.now() + 86400000}`);
      if (!r.ok) throw new Error(`GET events: ${r.status} ${await r.text()}`);
      return (await r.text()).split("\n").filter(Boolean).map((l) => JSON.parse(l));
    },
    async vid(ctx) {
      const c = (await ctx.cookies(srv.api)).find((c) => c.name == "pl_vid");
      return c ? c.value : "";
    },
    async stop() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close().catch(() => {});
      srv.proc.kill("SIGTERM");
      await Promise.race([new Promise((r) => srv.proc.once("exit", r)), sleep(5000)]);
      if (srv.proc.exitCode === null) srv.proc.kill("SIGKILL");
      await new Promise((r) => pagesSrv.server.close(r));
      await rm(dir, { recursive: true, force: true });
    },
  };
  return env;
}

/**
 * startServerOnFreePort runs startServer on a port that was free a moment ago, and on another
 * when a process of a test file running beside took that port meanwhile.
 */
async function startServerOnFreePort(bin, dir, pagesOrigins, flags) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServer(bin, dir, pagesOrigins, await freePort(), flags);
    } catch (e) {
      if (attempt >= 3 || !/address already in use/.test(e.message)) throw e;
    }
  }
}

/**
 * startServer runs `pathlight serve` on port with the test rules, allowing site "test" from
 * the pages' origins (comma-separated), and waits until it answers /healthz.
 */
async function startServer(bin, dir, pagesOrigins, port, flags = []) {
  const api = `http://127.0.0.1:${port}`;
  const args = ["serve", "--addr", `127.0.0.1:${port}`, "--data", path.join(dir, "data"), "--rules", path.join(sdk, "test/rules"), "--admin-token", TOKEN, "--sites", `test=${pagesOrigins}`, "--log-level", "warn", ...flags];
  const proc = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  proc.stderr.on("data", (b) => (log = (log + b).slice(-4000)));
  let exited = false;
  proc.once("close", () => (exited = true)); // after its stderr is read to the end
  const up = await until("pathlight serve to answer /healthz", async () => {
    if (exited) return "exited";
    return (await fetch(api + "/healthz")).ok;
  }, 20000);
  if (up === "exited") throw new Error("pathlight exited: " + log);
  return { api, proc, log: () => log };
}

/**
 * deadServers starts two dead API origins for the anti-flicker tests: one refuses connections
 * (a port nobody listens on) and one accepts them and never answers.
 */
export async function deadServers() {
  const refused = `http://127.0.0.1:${await freePort()}`;
  const sockets = new Set();
  const hang = await listen(() => {});
  hang.server.on("connection", (s) => sockets.add(s));
  return {
    refused,
    hanging: hang.origin,
    close: () => {
      sockets.forEach((s) => s.destroy());
      return new Promise((r) => hang.server.close(r));
    },
  };
}
