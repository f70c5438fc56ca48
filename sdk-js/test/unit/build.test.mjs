// The committed bundles in dist/ are what the Go binary embeds and serves: they must be a
// fresh build of src/, and they must stay within the size budget.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { bundles } from "../../build.mjs";

const dist = (name) => fileURLToPath(new URL("../../dist/" + name, import.meta.url));
const gz = (s) => gzipSync(Buffer.from(s), { level: 9 }).length;

// The budget, gzipped: the part on every page, and the part with the prompt UI (every page
// with a prompt).
const KB = 1024;
const PAGE_BUDGET = 3 * KB;
const TOTAL_BUDGET = 5 * KB;
// The heatmap capture chunk, loaded only on sampled pageviews.
const HEATMAP_BUDGET = 2 * KB;
// The replay chunk (rrweb's recorder), loaded only on pageviews sampled for replay.
const REPLAY_BUDGET = 24 * KB;

const built = bundles();

test("dist/ is a fresh build of src/ (run npm run build)", async () => {
  const fresh = await built;
  for (const [name, text] of Object.entries(fresh)) {
    const committed = await readFile(dist(name), "utf8");
    assert.ok(committed === text, `dist/${name} differs from a fresh build (${committed.length} vs ${text.length} bytes): run npm run build`);
  }
});

test("the build is deterministic", async () => {
  const a = await built;
  const b = await bundles();
  assert.deepEqual(Object.keys(b), Object.keys(a));
  for (const name of Object.keys(a)) assert.ok(a[name] === b[name], `two builds of ${name} differ`);
});

test("size budget", async (t) => {
  const fresh = await built;
  const page = gz(fresh["pl.js"]);
  const ui = gz(fresh["pl-ui.js"]);
  const hm = gz(fresh["pl-hm.js"]);
  const rr = gz(fresh["pl-rr.js"]);
  t.diagnostic(`size: pl.js ${page} B gzipped (${fresh["pl.js"].length} B raw), pl-ui.js ${ui} B gzipped (${fresh["pl-ui.js"].length} B raw), total ${page + ui} B gzipped`);
  t.diagnostic(`size: pl-hm.js ${hm} B gzipped (${fresh["pl-hm.js"].length} B raw)`);
  t.diagnostic(`size: pl-rr.js ${rr} B gzipped (${fresh["pl-rr.js"].length} B raw)`);
  t.diagnostic(`budget: pl.js ${PAGE_BUDGET} B, total ${TOTAL_BUDGET} B, pl-hm.js ${HEATMAP_BUDGET} B, pl-rr.js ${REPLAY_BUDGET} B`);
  assert.ok(rr <= REPLAY_BUDGET, `pl-rr.js is ${rr} B gzipped; the budget is ${REPLAY_BUDGET} B`);
  assert.ok(hm <= HEATMAP_BUDGET, `pl-hm.js is ${hm} B gzipped; the budget is ${HEATMAP_BUDGET} B`);
  assert.ok(page <= PAGE_BUDGET, `pl.js is ${page} B gzipped; the budget is ${PAGE_BUDGET} B`);
  assert.ok(page + ui <= TOTAL_BUDGET, `pl.js + pl-ui.js are ${page + ui} B gzipped; the budget is ${TOTAL_BUDGET} B`);
});
