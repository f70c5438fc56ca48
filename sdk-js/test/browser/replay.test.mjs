// Session replay in a real browser against the real server: a pageview the rules sample for
// replay loads pl-rr.js (through pl-hm.js) and sends compressed chunks that the server stores
// and plays back; what the visitor types is masked, a password field's value and a pl-block
// element's content never leave the page, text is masked unless opted in; without consent or
// with GPC nothing is loaded or sent; a page sampled for heatmaps only loads the chunk once,
// for the snapshot the server asks for, and makes no recorded session.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { setup, until, TOKEN } from "./harness.mjs";

let env;
before(async () => (env = await setup()));
after(async () => await env?.stop());

// requests records what the page asks of the server: how often each chunk loads, every
// request body as text (replay chunks decompressed), and the replay chunks parsed. Chromium
// does not hand a Blob body to playwright's request events, so the page's fetch is watched
// from inside too: what it is given is what goes on the wire. Beacons at page hide reach
// neither (playwright does not report them): what they carried is read back from the server.
async function requests(ctx, page) {
  const got = { hm: 0, rr: 0, capture: 0, bodies: [], chunks: [] };
  const body = (u, buf) => {
    const text = (buf[0] == 0x1f && buf[1] == 0x8b ? gunzipSync(buf) : buf).toString("utf8");
    got.bodies.push(text);
    if (u.endsWith("/v1/replay")) got.chunks.push({ gzip: buf[0] == 0x1f, ...JSON.parse(text) });
  };
  page.on("request", (r) => {
    const u = r.url();
    if (u.endsWith("/pl-hm.js")) got.hm++;
    if (u.endsWith("/pl-rr.js")) got.rr++;
    if (u.endsWith("/v1/capture")) got.capture++;
    const buf = r.postDataBuffer();
    if (buf) body(u, buf);
  });
  await page.exposeBinding("__plSent", (_, u, b64) => body(u, Buffer.from(b64, "base64")));
  await page.addInitScript(() => {
    const f = window.fetch;
    window.fetch = function (u, o) {
      if (o?.body instanceof Blob)
        o.body.arrayBuffer().then((b) => {
          const a = new Uint8Array(b);
          let s = "";
          for (let i = 0; i < a.length; i += 8192) s += String.fromCharCode(...a.subarray(i, i + 8192));
          return window.__plSent(String(u), btoa(s));
        }).catch((e) => console.log("__plSent: " + e));
      return f.apply(this, arguments);
    };
  });
  return got;
}

const admin = async (p) => {
  const r = await fetch(env.api + p, { headers: { Authorization: "Bearer " + TOKEN } });
  assert.equal(r.status, 200, `${p}: ${r.status} ${await r.clone().text()}`);
  return r.json();
};

// The secrets of the test page: none may reach the server in any form.
const SECRETS = ["Janet", "Secretname", "hunter2-swordfish", "4111 1111", "DE89370400440532013000", "Jane Typed Name", "a private note"];

test("a sampled pageview records the session: chunks stored in order, typed text masked, passwords and pl-block never sent", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  const got = await requests(ctx, page);
  await page.goto(env.base + "/t/replay.html");
  await until("the replay chunk to load", () => got.rr == 1);
  assert.equal(got.hm, 1, "pl-rr.js loads through pl-hm.js");
  await until("the recording to start", () => page.evaluate(() => !!window.pathlight.rr));
  await page.click("#name");
  await page.keyboard.type("Jane Typed Name", { delay: 20 });
  await page.click("#password");
  await page.keyboard.type("hunter2-swordfish", { delay: 20 });
  await until("the first chunk", () => got.chunks.length >= 1, 15000);
  await page.click("#note");
  await page.keyboard.type("a private note", { delay: 20 });
  await page.click("#save");
  await until("the second chunk", () => got.chunks.length >= 2, 15000);
  const vid = await env.vid(ctx);
  // Page hide sends the rest, by beacon.
  const fetched = got.chunks.length;
  await page.click("#save");
  await page.goto(env.base + "/t/blank.html");
  assert.ok(vid, "no visitor id");
  for (const c of got.chunks) {
    assert.equal(c.site, "test");
    assert.equal(c.vid, vid);
    assert.ok(c.session && c.session == got.chunks[0].session, "chunks of one tab share a session");
  }
  assert.deepEqual(got.chunks.map((c) => c.seq), got.chunks.map((_, i) => i), "chunks numbered in order");
  assert.ok(got.chunks.every((c) => c.gzip), "a chunk was fetched uncompressed");
  assert.equal(got.capture, 0, "heatmap batches sent from a page sampled for replay only");

  // Nothing secret in any request the page made, compressed or not.
  for (const body of got.bodies) for (const s of SECRETS) assert.ok(!body.includes(s), `a request carried ${JSON.stringify(s)}: …${body.slice(Math.max(0, body.indexOf(s) - 300), body.indexOf(s) + 100)}`);

  // The server plays back what was sent, in order, masked.
  const list = await until("the visitor's replay list", async () => {
    const l = (await admin(`/api/v1/visitors/${vid}/replays`)).replays;
    return l.length == 1 && l[0].chunks == fetched + 1 && l;
  }, 10000);
  assert.equal(list[0].id, got.chunks[0].session);
  assert.deepEqual(list[0].pages, ["/t/replay.html"]);
  const rp = await admin(`/api/v1/replays/${list[0].id}`);
  const sent = got.chunks.flatMap((c) => c.events);
  assert.ok(rp.events.length > sent.length, "the page-hide chunk's events are missing");
  assert.deepEqual(rp.events.slice(0, sent.length), sent, "the server's events are not the events sent, in order");
  assert.ok(rp.events.some((e) => e.type == 3 && e.data.source == 0 && JSON.stringify(e).includes("*****")), "the status text set at the end was not recorded, masked");
  assert.equal(rp.events[0].type, 4, "a recording starts with rrweb's meta event");
  assert.equal(rp.events[1].type, 2, "then the full snapshot");
  const all = JSON.stringify(rp.events);
  for (const s of SECRETS) assert.ok(!all.includes(s), `the recording holds ${JSON.stringify(s)}`);
  // Typed text arrives masked, one * per character; the password's value not at all.
  const inputs = rp.events.filter((e) => e.type == 3 && e.data.source == 5).map((e) => e.data.text);
  assert.ok(inputs.includes("*".repeat("Jane Typed Name".length)), `input events ${JSON.stringify(inputs)}: want the name masked`);
  assert.ok(inputs.includes("*".repeat("a private note".length)), `input events ${JSON.stringify(inputs)}: want the note masked`);
  assert.ok(!inputs.some((t) => t.length == "hunter2-swordfish".length), `input events ${JSON.stringify(inputs)}: the password's length leaked`);
  // Opted-in text is recorded as it is; other text masked.
  assert.ok(all.includes("Free shipping on every order"), "the pl-unmask text is missing");
  assert.ok(all.includes("Opted in by an ancestor"), "the text under data-pl-unmask is missing");
  assert.ok(all.includes("******* ***** ***** **********"), "the greeting is not masked character by character");
  // The page's first full snapshot of the day is its snapshot for the heatmap view, masked.
  assert.equal(got.chunks.filter((c) => c.snapshot).length, 1, "one chunk carries the page's snapshot");
  const sr = await fetch(`${env.api}/api/v1/reports/heatmap/snapshot?site=test&page=/t/replay.html&band=desktop`, { headers: { Authorization: "Bearer " + TOKEN } });
  assert.equal(sr.status, 200);
  const snap = await sr.text();
  assert.ok(snap.startsWith('{"type":2,') && snap.includes("Free shipping on every order"), `snapshot ${snap.slice(0, 200)}`);
  for (const s of SECRETS) assert.ok(!snap.includes(s), `the snapshot holds ${JSON.stringify(s)}`);
  // The journey's pageview is on the timeline.
  assert.ok(rp.journey.some((m) => m.type == "pageview"), `journey ${JSON.stringify(rp.journey)}`);
});

test("a page sampled for heatmaps only loads the recorder once, for the snapshot the server asks for, and records no session", async () => {
  // hitReplies watches the hit replies' capture decisions of a page.
  const hitReplies = (page) => {
    const out = [];
    page.on("requestfinished", async (r) => {
      if (/\/v1\/hit$/.test(r.url())) out.push(JSON.parse((await (await r.response()).text()) || "{}").decisions?.capture);
    });
    return out;
  };
  const snapshotOf = () => fetch(`${env.api}/api/v1/reports/heatmap/snapshot?site=test&page=/t/heat.html&band=desktop`, { headers: { Authorization: "Bearer " + TOKEN } });
  assert.equal((await snapshotOf()).status, 404, "a snapshot of heat.html before any visitor");

  // The first visitor of heat.html (sampled for heatmaps, not replay) is asked for the snapshot.
  let ctx = await env.context();
  let page = await ctx.newPage();
  let got = await requests(ctx, page);
  let caps = hitReplies(page);
  await page.goto(env.base + "/t/heat.html");
  await until("the first hit reply", () => caps.length >= 1);
  assert.deepEqual(caps[0].snapshot, ["phone", "tablet", "desktop"], `capture decision ${JSON.stringify(caps[0])}`);
  assert.equal(caps[0].replay, false);
  await until("the replay chunk to load", () => got.rr == 1);
  await until("the snapshot chunk", () => got.chunks.length >= 1, 15000);
  const [c] = got.chunks;
  assert.equal(c.snapshot, true);
  assert.equal(c.session, undefined, "a snapshot-only chunk names a session");
  assert.equal(c.seq, undefined, "a snapshot-only chunk is numbered");
  assert.deepEqual(c.events.map((e) => e.type), [4, 2], "the chunk holds the meta event and the full snapshot alone");
  // The recorder stopped: clicks and DOM changes after it send nothing more.
  await page.click("#grow");
  await page.click("#rage");
  await page.waitForTimeout(6000); // longer than a replay batch
  assert.equal(got.rr, 1, "pl-rr.js loaded more than once");
  assert.equal(got.chunks.length, 1, `replay chunks after the snapshot: ${JSON.stringify(got.chunks.slice(1)).slice(0, 300)}`);
  const vid = await env.vid(ctx);
  await page.goto(env.base + "/t/blank.html");

  // The server holds the page's snapshot, its text masked.
  const sr = await until("the stored snapshot", async () => {
    const r = await snapshotOf();
    return r.status == 200 && r.text();
  });
  assert.ok(sr.startsWith('{"type":2,'), `snapshot ${sr.slice(0, 200)}`);
  for (const text of ["Buy now (does nothing)", "A picture that is not a link", "A real link"]) assert.ok(!sr.includes(text), `the snapshot holds ${JSON.stringify(text)} unmasked`);
  assert.ok(sr.includes("*** *** ***** ********"), "the button's text is not masked character by character");
  // And no recorded session: not the visitor's, not the period's.
  assert.ok(vid, "no visitor id");
  assert.deepEqual((await admin(`/api/v1/visitors/${vid}/replays`)).replays, [], "the snapshot made a recorded session of the visitor");
  assert.deepEqual((await admin(`/api/v1/replays?site=test&from=0`)).replays.filter((r) => r.pages.includes("/t/heat.html")), [], "heat.html is in a recorded session");

  // A second visitor of the same page is not asked, and loads no recorder.
  ctx = await env.context();
  page = await ctx.newPage();
  got = await requests(ctx, page);
  caps = hitReplies(page);
  await page.goto(env.base + "/t/heat.html");
  await until("the second visitor's hit reply", () => caps.length >= 1);
  assert.ok(caps[0].heatmap, `capture decision ${JSON.stringify(caps[0])}`);
  assert.equal(caps[0].snapshot, undefined, `the second visitor was asked: ${JSON.stringify(caps[0])}`);
  await until("the heatmap chunk", () => got.hm == 1);
  await page.click("#rage");
  await page.waitForTimeout(3000);
  assert.equal(got.rr, 0, "pl-rr.js loaded for the second visitor");
  assert.equal(got.chunks.length, 0, "replay chunks from the second visitor");
});

test("without consent nothing is recorded: GPC, a required consent not given, a denial", async () => {
  // Global Privacy Control: no capture decision, no chunk, no recording.
  let ctx = await env.context();
  await ctx.addInitScript(() => Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true }));
  let page = await ctx.newPage();
  let got = await requests(ctx, page);
  let hit = 0;
  page.on("requestfinished", (r) => /\/v1\/hit$/.test(r.url()) && hit++);
  await page.goto(env.base + "/t/replay.html");
  await until("the pageview hit", () => hit >= 1);
  await page.click("#name");
  await page.keyboard.type("Jane Typed Name");
  await page.waitForTimeout(6000);
  assert.equal(got.hm + got.rr, 0, "a capture chunk loaded under GPC");
  assert.equal(got.chunks.length, 0, "replay chunks sent under GPC");

  // Consent required and not given: nothing at all.
  ctx = await env.context();
  page = await ctx.newPage();
  got = await requests(ctx, page);
  await page.goto(env.base + "/t/replay.html?__consent=required");
  await page.click("#name");
  await page.keyboard.type("Jane Typed Name");
  await page.waitForTimeout(6000);
  assert.equal(got.hm + got.rr + got.chunks.length, 0, "a chunk loaded or sent before consent");

  // Recording, then the visitor denies: the recording stops, nothing more is sent, and
  // nothing waits in storage.
  ctx = await env.context();
  page = await ctx.newPage();
  got = await requests(ctx, page);
  await page.goto(env.base + "/t/replay.html");
  await until("the recording to start", () => page.evaluate(() => !!window.pathlight.rr));
  await page.evaluate(() => window.pathlight("consent", "denied"));
  const before = got.chunks.length;
  await page.click("#name");
  await page.keyboard.type("Jane Typed Name");
  await page.goto(env.base + "/t/blank.html");
  await page.waitForTimeout(1500);
  assert.equal(got.chunks.length, before, "chunks sent after the denial");
  assert.equal(await page.evaluate(() => localStorage.pl_rq), undefined, "replay batches kept after the denial");
});

test("an SPA route the rules do not sample is not recorded; a sampled one after it starts with a full snapshot", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  const got = await requests(ctx, page);
  const replies = [];
  page.on("requestfinished", async (r) => {
    if (/\/v1\/hit$/.test(r.url())) replies.push(JSON.parse((await (await r.response()).text()) || "{}"));
  });
  await page.goto(env.base + "/spa/rec-one");
  await until("the recording to start", () => page.evaluate(() => !!window.pathlight.rr));
  await until("the first chunk", () => got.chunks.length >= 1, 15000);
  // A route outside the rule's pages: once its reply is in, what happens there is not kept.
  const n = replies.length;
  await page.evaluate(() => go("/spa/elsewhere", "Elsewhere"));
  await until("the unsampled route's reply", () => replies.length > n && !replies.at(-1).decisions?.capture);
  const outFrom = Date.now();
  await page.evaluate(() => (document.getElementById("app").textContent = "typed on an unsampled route"));
  await page.waitForTimeout(300);
  const outTo = Date.now();
  // Back on a sampled route: the recording starts again with a full snapshot.
  const m = replies.length;
  await page.evaluate(() => go("/spa/rec-two", "Two"));
  await until("the sampled route's reply", () => replies.length > m && replies.at(-1).decisions?.capture?.replay);
  await page.evaluate(() => (document.getElementById("app").textContent = "back on a sampled route"));
  const before = got.chunks.length;
  await until("a chunk after the return", () => got.chunks.length > before, 15000);
  const evs = got.chunks.flatMap((c) => c.events);
  const unsampled = evs.filter((e) => e.timestamp >= outFrom && e.timestamp <= outTo);
  assert.deepEqual(unsampled, [], "events of the unsampled route were sent");
  const after = got.chunks.slice(before).flatMap((c) => c.events);
  assert.ok(after.some((e) => e.type == 2), `no full snapshot after the return: types ${after.map((e) => e.type)}`);
});
