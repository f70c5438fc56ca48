// The committed dist/ is what the Go binary embeds and serves: it must be a fresh build of
// src/, and the app must stay within its size budget.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { bundles, dist } from "../build.mjs";

const KB = 1024;
const APP_BUDGET = 240 * KB; // app.js gzipped: the app and the charts it draws
const PLAYER_BUDGET = 110 * KB; // the replay player chunk gzipped: rrweb's Replayer and its controls

const built = bundles();

test("dist/ is a fresh build of src/ (run npm run build)", async () => {
  const fresh = await built;
  assert.deepEqual((await readdir(dist)).sort(), Object.keys(fresh).sort(), "the files in dist/");
  for (const [name, text] of Object.entries(fresh)) {
    const committed = await readFile(path.join(dist, name), "utf8");
    assert.ok(committed === text, `dist/${name} differs from a fresh build (${committed.length} vs ${text.length} bytes): run npm run build`);
  }
});

test("the build is deterministic", async () => {
  const a = await built;
  const b = await bundles();
  for (const name of Object.keys(a)) assert.ok(a[name] === b[name], `two builds of ${name} differ`);
});

test("size budget", async () => {
  const fresh = await built;
  const gz = (s) => gzipSync(Buffer.from(s), { level: 9 }).length;
  const app = gz(fresh["app.js"]);
  console.log(`# size: app.js ${app} B gzipped (${fresh["app.js"].length} B raw), app.css ${gz(fresh["app.css"])} B gzipped`);
  assert.ok(app <= APP_BUDGET, `app.js is ${app} B gzipped; the budget is ${APP_BUDGET} B`);
});

test("the replay player is a chunk of its own, loaded only when asked for", async () => {
  const fresh = await built;
  const players = Object.keys(fresh).filter((n) => /^player-[A-Z0-9]+\.js$/.test(n));
  assert.equal(players.length, 1, `one player chunk; got ${Object.keys(fresh)}`);
  const player = fresh[players[0]];
  // rrweb's Replayer names its iframe wrapper; app.js must not carry it, only import it lazily.
  assert.match(player, /replayer-wrapper/, "the chunk holds rrweb's Replayer");
  assert.doesNotMatch(fresh["app.js"], /replayer-wrapper/, "app.js does not bundle the Replayer");
  assert.ok(fresh["app.js"].includes(`import("./${players[0]}")`), "app.js imports the player chunk with import()");
  assert.doesNotMatch(fresh["app.js"], new RegExp(`^import[^(]*["']\\./${players[0]}`, "m"), "app.js does not import the player statically");
  const gz = (s) => gzipSync(Buffer.from(s), { level: 9 }).length;
  const size = gz(player);
  console.log(`# size: ${players[0]} ${size} B gzipped (${player.length} B raw)`);
  assert.ok(size <= PLAYER_BUDGET, `the player is ${size} B gzipped; the budget is ${PLAYER_BUDGET} B`);
  assert.match(fresh["licenses.txt"], /==== rrweb[^\n]*====\s+MIT License/, "rrweb's licence is listed");
});

test("no markup is built from strings", async () => {
  // Visitor-supplied text must never be parsed as HTML: the sources build the DOM with
  // textContent and createElement only.
  const src = path.resolve(dist, "../web/src");
  const files = [];
  const walk = async (d) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(path.join(d, e.name));
      else if (e.name.endsWith(".js")) files.push(path.join(d, e.name));
    }
  };
  await walk(src);
  for (const f of files) {
    const text = await readFile(f, "utf8");
    assert.doesNotMatch(text, /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write/, `${path.basename(f)} builds markup from a string`);
  }
});
