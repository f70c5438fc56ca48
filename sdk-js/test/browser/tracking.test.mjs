// Tracking in a real browser against the real server: pageviews with their channel, the stub
// queue, declarative events and identify, SPA routes, engagement at page hide, and retries.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setup, until } from "./harness.mjs";

let env;
before(async () => (env = await setup()));
after(async () => await env?.stop());

// vidOf waits for the context's pl_vid cookie and returns the id.
const vidOf = (ctx) => until("the pl_vid cookie", () => env.vid(ctx));

// visitorWhen waits until the server's journey of vid satisfies ok, and returns it.
const visitorWhen = (vid, what, ok, ms) =>
  until(
    what,
    async () => {
      const v = await env.visitor(vid);
      return v && ok(v) && v;
    },
    ms,
  );

// settled sends a marker event from the page and waits until the server has it: the snippet
// sends in order, one request at a time, so everything tracked before has arrived too.
async function settled(page, vid, marker = "settled") {
  await page.evaluate((m) => window.pathlight("event", m), marker);
  return visitorWhen(vid, `the ${marker} event`, (v) => v.events[marker] >= 1);
}

test("a pageview with UTM parameters lands with the right channel", async (t) => {
  const cases = [
    { url: "/?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring", channel: "Paid Social", source: "facebook" },
    { url: "/#utm_source=newsletter&utm_medium=email", channel: "Email", source: "newsletter" },
    { url: "/pricing", channel: "Direct", source: "(direct)" },
  ];
  for (const c of cases) {
    await t.test(c.url, async () => {
      const ctx = await env.context();
      const page = await ctx.newPage();
      await page.goto(env.base + c.url);
      const vid = await vidOf(ctx);
      const v = await visitorWhen(vid, "the visitor's first session", (v) => v.sessions.length);
      const s = v.sessions[0];
      assert.equal(s.channel, c.channel, `channel of ${c.url} = ${s.channel}; want ${c.channel}`);
      assert.equal(s.source, c.source, `source of ${c.url} = ${s.source}; want ${c.source}`);
      assert.equal(v.pageviews, 1, `pageviews = ${v.pageviews}; want 1`);
    });
  }
});

test("declarative events, identify and calls queued before the snippet loaded", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  const user = "user-" + Math.random().toString(36).slice(2);
  await page.goto(env.base + "/t/early.html?user=" + user);
  const vid = await vidOf(ctx);
  // A click on data-pl-event (a link that navigates) and a form's submit.
  await page.goto(env.base + "/products/jacket");
  await Promise.all([page.waitForURL("**/cart"), page.click("text=Add to cart")]);
  await Promise.all([page.waitForURL("**/checkout"), page.click("text=Check out")]);
  await Promise.all([page.waitForURL("**/checkout/pay**"), page.click("text=Continue to payment")]);
  await Promise.all([page.waitForURL("**/thanks"), page.click("text=Pay $129")]);
  const v = await settled(page, vid);
  const want = { early: 1, add_to_cart: 1, begin_checkout: 1, add_shipping_info: 1, purchase: 1 };
  for (const [name, n] of Object.entries(want)) assert.equal(v.events[name], n, `events.${name} = ${v.events[name]}; want ${n}`);
  assert.equal(v.user_id, user, `user_id = ${v.user_id}; want ${user}`);
  assert.equal(v.traits.plan, "pro", `traits.plan = ${v.traits.plan}; want pro`);
  assert.equal(v.conversions, 1, `conversions = ${v.conversions}; want 1`);
  assert.equal(v.value, 129, `value = ${v.value}; want 129 (the purchase's data-pl-props)`);
});

test("SPA navigations count once each", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  await page.goto(env.base + "/spa");
  const vid = await vidOf(ctx);
  await page.evaluate(() => go("/spa/a", "A"));
  await page.evaluate(() => history.replaceState({}, "", "/spa/a")); // the same route again
  await page.evaluate(() => go("/spa/a#details", "A")); // only the fragment changes
  await page.evaluate(() => go("/spa/b", "B"));
  await page.evaluate(() => history.back()); // popstate: /spa/a#details
  await page.waitForURL("**/spa/a#details");
  await page.evaluate(() => new Promise((r) => setTimeout(r, 50)));
  const v = await settled(page, vid);
  const want = { "/spa": 1, "/spa/a": 2, "/spa/b": 1 };
  assert.deepEqual(v.paths, want, `paths = ${JSON.stringify(v.paths)}; want ${JSON.stringify(want)}`);
  assert.equal(v.pageviews, 4, `pageviews = ${v.pageviews}; want 4`);
  // history.back() restores the URL but not the title, which this little router leaves as is.
  const titles = (await env.events()).filter((e) => e.vid == vid && e.type == "pageview").map((e) => e.title);
  assert.deepEqual(titles, ["SPA home", "A", "B", "B"], `pageview titles = ${JSON.stringify(titles)}`);
});

test("engagement arrives at page hide", async () => {
  const ctx = await env.context({ viewport: { width: 1000, height: 400 } });
  const page = await ctx.newPage();
  await page.goto(env.base + "/");
  const vid = await vidOf(ctx);
  await page.mouse.wheel(0, 300);
  await page.evaluate(() => new Promise((r) => setTimeout(r, 1200)));
  await page.goto(env.base + "/pricing"); // the landing page is hidden: its engagement goes by beacon
  const e = await until("the landing page's engagement event", async () =>
    (await env.events()).find((e) => e.vid == vid && e.type == "engagement"),
  );
  assert.ok(e.engaged_ms >= 1000, `engaged_ms = ${e.engaged_ms}; want at least 1000`);
  assert.ok(e.scroll > 0 && e.scroll <= 100, `scroll = ${e.scroll}; want a depth in (0, 100]`);
  assert.equal(new URL(e.url).pathname, "/", `engagement url = ${e.url}; want the landing page`);
});

test("an offline send is kept, retried when the network is back, and counted once", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  await page.goto(env.base + "/products/jacket");
  const vid = await vidOf(ctx);
  await settled(page, vid, "online_first");
  await ctx.setOffline(true);
  await page.evaluate(() => window.pathlight("event", "while_offline", { n: 1 }));
  const stored = await until("the event in the retry queue", () =>
    page.evaluate(() => JSON.parse(localStorage.getItem("pl_q") || "[]").find((e) => e.name == "while_offline")),
  );
  await ctx.setOffline(false);
  const v = await visitorWhen(vid, "the retried event", (v) => v.events.while_offline, 15000);
  assert.equal(v.events.while_offline, 1);
  await until("an empty retry queue", () => page.evaluate(() => !localStorage.getItem("pl_q")));
  const copies = (await env.events()).filter((e) => e.id == stored.id);
  assert.equal(copies.length, 1, `event ${stored.id} stored ${copies.length} times; want once`);
});

test("a send whose reply is lost is retried and the server's dedup counts it once", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  await page.goto(env.base + "/products/jacket");
  const vid = await vidOf(ctx);
  await settled(page, vid, "before_loss");
  // The next hit reaches the server, but the browser never sees the reply.
  let lost = 0;
  await page.route("**/v1/hit", async (route) => {
    if (lost++ == 0) {
      await route.fetch();
      return route.abort("connectionreset");
    }
    return route.continue();
  });
  await page.evaluate(() => window.pathlight("event", "reply_lost"));
  await until("the event to be retried and acknowledged", () =>
    page.evaluate(() => !(localStorage.getItem("pl_q") || "").includes("reply_lost")),
  15000);
  assert.ok(lost >= 2, `the hit was sent ${lost} times; want a retry`);
  const v = await settled(page, vid, "after_loss");
  assert.equal(v.events.reply_lost, 1, `events.reply_lost = ${v.events.reply_lost}; want 1`);
});

// bodies records the size in bytes of every request body the context sends to /v1/hit and
// /v1/beacon.
function bodies(ctx) {
  const sizes = [];
  ctx.on("request", (r) => /\/v1\/(hit|beacon)$/.test(r.url()) && sizes.push(Buffer.byteLength(r.postData() || "")));
  return sizes;
}

test("an event no request could carry is dropped and does not block the queue", async () => {
  const ctx = await env.context();
  const sizes = bodies(ctx);
  const page = await ctx.newPage();
  await page.goto(env.base + "/products/jacket");
  const vid = await vidOf(ctx);
  // Browsers refuse a keepalive fetch or a beacon over 64 KiB: such an event is dropped when
  // queued, the events after it go.
  await page.evaluate(() => window.pathlight("event", "cart_snapshot", { json: "x".repeat(70000) }));
  await settled(page, vid, "after_big");
  // One an older snippet left in the queue is dropped too, by the next page's snippet. It is
  // put there from a page of the site without the snippet (a 404), as an older snippet's page
  // would leave it: this page's own page-hide flush must not see it appear under its feet.
  await page.goto(env.base + "/no-snippet-here");
  await page.evaluate(() => {
    const q = JSON.parse(localStorage.getItem("pl_q") || "[]");
    q.push({ id: crypto.randomUUID(), type: "event", name: "stuck", ts: Date.now(), url: location.href, props: { json: "x".repeat(70000) } });
    localStorage.setItem("pl_q", JSON.stringify(q));
  });
  await page.goto(env.base + "/pricing");
  const v = await settled(page, vid, "after_stuck");
  assert.equal(v.paths["/pricing"], 1, `paths = ${JSON.stringify(v.paths)}; want /pricing's pageview`);
  assert.ok(!v.events.cart_snapshot && !v.events.stuck, `events = ${JSON.stringify(v.events)}; want neither oversized event`);
  assert.ok(sizes.every((n) => n < 64 * 1024), `request bodies of ${Math.max(...sizes)} bytes; want each under 64 KiB`);
});

test("a queue too large for one request goes through in smaller ones", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  await page.goto(env.base + "/products/jacket");
  const vid = await vidOf(ctx);
  await settled(page, vid, "online_first");
  await ctx.setOffline(true);
  // 40 events of over 2 kB each: about 90 kB in all, more than the browser sends in one.
  await page.evaluate(() => {
    for (let i = 0; i < 40; i++) window.pathlight("event", "bulky", { i, a: "a".repeat(1000), b: "b".repeat(1000) });
  });
  await until("the events in the retry queue", () =>
    page.evaluate(() => JSON.parse(localStorage.getItem("pl_q") || "[]").filter((e) => e.name == "bulky").length == 40),
  );
  await ctx.setOffline(false);
  await visitorWhen(vid, "the 40 events", (v) => v.events.bulky == 40, 30000);
});

test("a queued pageview from an earlier page keeps its place: the new page is the one decided for", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  const batches = [];
  ctx.on("request", (r) => r.url().endsWith("/v1/hit") && batches.push(JSON.parse(r.postData())));
  // The landing page's hits fail; the next page's go through.
  let down = true;
  await ctx.route("**/v1/{hit,beacon}", (r) => (down ? r.abort("connectionrefused") : r.continue()));
  await page.goto(env.base + "/pricing?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring");
  await until("a failed hit", () => batches.length >= 1);
  down = false;
  await page.goto(env.base + "/");
  await page.waitForSelector("#variant", { state: "visible" }); // the paid-social hero: decided for /
  const vid = await vidOf(ctx);
  const asked = batches.filter((b) => b.slots).at(-1); // the home page's
  const views = asked.events.filter((e) => e.type == "pageview").map((e) => new URL(e.url).pathname);
  assert.deepEqual(views, ["/pricing", "/"], `pageviews of the request that asked for slots = ${JSON.stringify(views)}; want the earlier page first`);
  const v = await visitorWhen(vid, "the visitor's session", (v) => v.pageviews == 2);
  assert.equal(v.sessions.length, 1, `sessions = ${JSON.stringify(v.sessions)}; want one`);
  assert.equal(v.sessions[0].channel, "Paid Social", `the session's channel = ${v.sessions[0].channel}; want Paid Social (its landing page)`);
});

test("a page with more slots than the server answers, or a long slot name, keeps its pageview", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  await page.goto(env.base + "/t/slots.html");
  const vid = await vidOf(ctx); // set by the reply that accepted the pageview
  const v = await visitorWhen(vid, "the pageview", (v) => v.pageviews == 1);
  assert.equal(v.paths["/t/slots.html"], 1, `paths = ${JSON.stringify(v.paths)}`);
  // Every slot is revealed once the reply is in: the ones not answered show their default.
  await page.waitForFunction(() => [...document.querySelectorAll("[data-pl-slot]")].every((el) => getComputedStyle(el).visibility == "visible"));
});

test("a long title and referrer are cut by the server, not refused", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  await page.goto(env.base + "/t/long.html");
  const vid = await vidOf(ctx);
  // A URL over 2048 bytes is refused (its pageview is lost); the next page's referrer, that URL,
  // is cut.
  const path = "/t/long.html?q=" + "a".repeat(2100);
  await page.goto(env.base + path);
  await Promise.all([page.waitForURL("**/pricing"), page.evaluate(() => (location.href = "/pricing"))]);
  await visitorWhen(vid, "the two accepted pageviews", (v) => v.pageviews == 2);
  const [first, next] = (await env.events()).filter((e) => e.vid == vid && e.type == "pageview");
  const bytes = (s) => Buffer.byteLength(s);
  assert.equal(first.title, "長".repeat(170), `title of ${bytes(first.title)} bytes; want cut to 510 (170 characters)`);
  assert.equal(next.ref, (env.base + path).slice(0, 2048), `ref of ${bytes(next.ref)} bytes; want cut to 2048`);
});

test("a batch the server finds too large is sent again in smaller requests", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  await page.goto(env.base + "/products/jacket");
  const vid = await vidOf(ctx);
  await settled(page, vid, "first");
  // A server with a lowered --body-limit refuses any request of more than one event here.
  let refused = 0;
  await ctx.route("**/v1/hit", (r) => {
    if (JSON.parse(r.request().postData()).events.length < 2) return r.continue();
    refused++;
    return r.fulfill({
      status: 413,
      headers: { "Access-Control-Allow-Origin": env.base, "Access-Control-Allow-Credentials": "true" },
      contentType: "application/json",
      body: '{"error":"request body larger than 1024 bytes","reason":"body_too_large"}',
    });
  });
  await page.evaluate(() => {
    for (let i = 0; i < 4; i++) window.pathlight("event", "part", { i });
  });
  await visitorWhen(vid, "the 4 events", (v) => v.events.part == 4, 20000);
  assert.ok(refused >= 1, "no request was refused: the test did not exercise the split");
});
