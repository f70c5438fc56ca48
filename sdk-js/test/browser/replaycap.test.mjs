// Session replay against a server with a small session cap: the chunk past the cap is refused
// (429 replay_session_cap), and the snippet stops recording the session, here and on its next
// pages, rather than retry a chunk the server will never take.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setup, until } from "./harness.mjs";

let env;
before(async () => (env = await setup({ flags: ["--replay-session-cap", "64KiB"] })));
after(async () => await env?.stop());

test("a session past its cap stops recording instead of retrying", async () => {
  const ctx = await env.context();
  const page = await ctx.newPage();
  const replies = [];
  page.on("response", async (r) => {
    if (r.url().endsWith("/v1/replay")) replies.push({ status: r.status(), reason: r.headers()["x-pathlight-reason"] || "" });
  });
  let rr = 0;
  page.on("request", (r) => r.url().endsWith("/pl-rr.js") && rr++);
  await page.goto(env.base + "/t/replay-big.html");
  await until("the refusal of the first chunk", () => replies.length >= 1, 15000);
  assert.equal(replies[0].status, 429, JSON.stringify(replies));
  await page.click("#name");
  await page.keyboard.type("more typing after the cap");
  await page.waitForTimeout(7000); // past the next batch and a retry's first backoff
  assert.equal(replies.length, 1, `chunks sent after the cap: ${JSON.stringify(replies)}`);
  const state = await page.evaluate(() => ({ s: JSON.parse(sessionStorage.pl_rs || "{}"), q: localStorage.pl_rq }));
  assert.equal(state.s.full, 1, `session ${JSON.stringify(state.s)}: want it marked full`);
  assert.equal(state.q, undefined, "the refused chunk is still queued");
  // The session's next page loads the chunk and records nothing.
  await page.reload();
  await until("the replay chunk on the next page", () => rr >= 2);
  await page.waitForTimeout(6000);
  assert.equal(replies.length, 1, `chunks sent on the next page of a full session: ${JSON.stringify(replies)}`);
});
