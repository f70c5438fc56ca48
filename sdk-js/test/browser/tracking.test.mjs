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

// settled sends a marker event from the page and waits until the server has it: the snippet
// sends in order, one request at a time, so everything tracked before has arrived too.
async function settled(page, vid, marker = "settled") {
  await page.evaluate((m) => window.pathlight("event", m), marker);
  return until(`the ${marker} event`, async () => {
    const v = await env.visitor(vid);
    return v && v.events[marker] >= 1 && v;
  });
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
      const v = await until("the visitor's first session", async () => {
        const v = await env.visitor(vid);
        return v && v.sessions.length && v;
      });
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
  const v = await until("the retried event", async () => {
    const v = await env.visitor(vid);
    return v && v.events.while_offline && v;
  }, 15000);
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
