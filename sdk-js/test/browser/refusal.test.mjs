// A snippet the server refuses says so, once, in the browser's console: a site id the server
// does not know (the reply says why), and a page origin the server does not allow (the browser
// keeps the reply from the page: CORS).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { setup, until } from "./harness.mjs";

let env;
before(async () => (env = await setup()));
after(async () => await env?.stop());

// warnings records the page's console warnings from Pathlight, and counts its finished (or
// failed) hits.
function watch(page) {
  const w = { warnings: [], hits: 0 };
  page.on("console", async (m) => {
    if (m.type() != "warning" || !m.text().startsWith("Pathlight")) return;
    const args = await Promise.all(m.args().map((a) => a.jsonValue()));
    w.warnings.push(args.map((a) => (typeof a == "string" ? a : JSON.stringify(a))).join(" "));
  });
  const done = (r) => /\/v1\/hit$/.test(r.url()) && w.hits++;
  page.on("requestfinished", done);
  page.on("requestfailed", done);
  return w;
}

// refusedThrice loads url and sends two more events, each a request the server refuses, and
// waits for the three requests and the warning.
async function refusedThrice(page, w, url) {
  await page.goto(url);
  await until("the pageview's hit", () => w.hits >= 1);
  await page.evaluate(() => window.pathlight("event", "one"));
  await until("the second hit", () => w.hits >= 2);
  await page.evaluate(() => window.pathlight("event", "two"));
  await until("the third hit", () => w.hits >= 3);
  await until("the console warning", () => w.warnings.length);
  // Time for a second warning to show, were there one.
  await page.waitForTimeout(500);
}

test("an unknown site id: one console warning with the server's reason", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  const w = watch(page);
  await refusedThrice(page, w, env.base + "/pricing?__site=nosuch");
  assert.equal(w.warnings.length, 1, `warnings: ${JSON.stringify(w.warnings)}; want one`);
  assert.match(w.warnings[0], /unknown_site/, "the warning does not give the reason code");
  assert.match(w.warnings[0], /nosuch/, "the warning does not give the server's message");
});

test("a page origin the server does not allow: one console warning that points at --sites", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  const w = watch(page);
  // localhost is not among the allowed origins of this server. Whether the server lets the
  // page read this refusal or not, the warning says where to look.
  await refusedThrice(page, w, env.crossBase + "/pricing");
  assert.equal(w.warnings.length, 1, `warnings: ${JSON.stringify(w.warnings)}; want one`);
  assert.match(w.warnings[0], /--sites/);
});

test("a refusal the page may not read (no CORS headers): one console warning that points at CORS", async () => {
  // The hits go through a proxy that passes the server's replies on without their CORS
  // headers, as from a server that does not allow the page's origin: the page cannot read them.
  const proxy = await stripCORS(env.api);
  try {
    const ctx = await env.context();
    const page = await ctx.newPage();
    const w = watch(page);
    // The snippet's check that the server is up asks for something the server serves: a
    // "404 Not Found" of its own beside the refused hits would send the developer the wrong way.
    const notFound = [];
    page.on("response", (r) => r.url().startsWith(proxy.origin) && r.status() == 404 && notFound.push(r.url()));
    await refusedThrice(page, w, env.base + "/pricing?__site=nosuch&__api=" + encodeURIComponent(proxy.origin));
    assert.equal(w.warnings.length, 1, `warnings: ${JSON.stringify(w.warnings)}; want one`);
    assert.deepEqual(notFound, [], "the snippet asked the server for something it does not serve");
    assert.match(w.warnings[0], /CORS/);
    assert.match(w.warnings[0], /--sites/);
    assert.ok(proxy.forwarded >= 3, `${proxy.forwarded} requests reached the server; want the three hits`);
  } finally {
    await new Promise((r) => proxy.server.close(r));
  }
});

// stripCORS starts a proxy on 127.0.0.1 that forwards every request to api and answers with
// the server's status and body, but none of its Access-Control-* headers.
function stripCORS(api) {
  const p = { forwarded: 0 };
  p.server = createServer(async (req, res) => {
    try {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const headers = { ...req.headers };
      delete headers.host;
      delete headers.connection;
      const r = await fetch(api + req.url, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
      p.forwarded++;
      const out = {};
      r.headers.forEach((v, k) => !k.startsWith("access-control-") && k != "content-encoding" && k != "content-length" && (out[k] = v));
      res.writeHead(r.status, out).end(Buffer.from(await r.arrayBuffer()));
    } catch (e) {
      res.writeHead(502).end(String(e));
    }
  });
  return new Promise((resolve) => p.server.listen(0, "127.0.0.1", () => resolve(Object.assign(p, { origin: `http://127.0.0.1:${p.server.address().port}` }))));
}

test("a server that is down: no warning (nothing was refused)", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  const w = watch(page);
  // pl.js from the live server, hits to a port nobody listens on.
  const dead = "http://127.0.0.1:9";
  await page.goto(env.base + "/pricing?__api=" + encodeURIComponent(dead));
  await until("the failed hit", () => w.hits >= 1);
  await page.waitForTimeout(1000);
  assert.deepEqual(w.warnings, []);
});
