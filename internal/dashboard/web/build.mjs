// Builds the dashboard into ../dist/, which the Go server embeds and serves under /dashboard/:
//   app.js       the app (src/main.js), with the parts of ECharts it uses
//   player-*.js  the session replay player (src/lib/player.js with rrweb's Replayer), split
//                out of app.js and loaded only when a replay or a page snapshot is shown;
//                chunk-*.js holds code it shares with app.js (names carry a content hash)
//   app.css      the styles of the app and of the sign-in page
//   login.js     the sign-in page's script
//   index.html, login.html, favicon.svg   copied from src/
//   licenses.txt the licences of the bundled libraries
// The build is deterministic: the same sources and packages give the same bytes, which a test
// checks against the committed dist/.
//
//   node build.mjs          write ../dist/
//   import { bundles }      the files in memory, for tests

import * as esbuild from "esbuild";
import { readFile, writeFile, mkdir, readdir, rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
export const dist = path.resolve(here, "../dist");

const copies = ["index.html", "login.html", "favicon.svg"];
const licences = [
  ["Apache ECharts", "node_modules/echarts/LICENSE", "node_modules/echarts/NOTICE"],
  ["ZRender", "node_modules/zrender/LICENSE"],
  ["tslib", "node_modules/tslib/LICENSE.txt"],
  // rrweb's packages ship without their licence file; licenses/rrweb.txt is the MIT licence
  // of the rrweb repository, which rrweb, rrweb-snapshot, rrdom and @rrweb/* come from.
  ["rrweb, rrweb-snapshot, rrdom, @rrweb/types, @rrweb/utils", "licenses/rrweb.txt"],
  ["@xstate/fsm", "node_modules/@xstate/fsm/LICENSE"],
  ["mitt", "node_modules/mitt/LICENSE"],
  ["base64-arraybuffer", "node_modules/base64-arraybuffer/LICENSE"],
];

const options = {
  absWorkingDir: here,
  bundle: true,
  write: false,
  format: "esm",
  target: "es2020",
  minify: true,
  treeShaking: true,
  legalComments: "none",
  charset: "utf8",
  define: { "process.env.NODE_ENV": '"production"', __DEV__: "false" },
};

/**
 * app builds src/main.js into app.js and the chunks it imports lazily (import()), and returns
 * a map of file name → text.
 */
async function app() {
  const r = await esbuild.build({
    ...options,
    entryPoints: { app: "src/main.js" },
    splitting: true,
    outdir: "out",
    entryNames: "[name]",
    chunkNames: "[name]-[hash]",
  });
  const out = {};
  for (const f of r.outputFiles) out[path.basename(f.path)] = f.text;
  return out;
}

async function js(entry) {
  const r = await esbuild.build({ ...options, entryPoints: [entry] });
  return r.outputFiles[0].text;
}

/** Returns a map of file name under dist/ → its text. */
export async function bundles() {
  const out = {};
  Object.assign(out, await app());
  out["login.js"] = await js("src/login.js");
  const css = await esbuild.transform(await readFile(path.join(here, "src/style.css"), "utf8"), { loader: "css", minify: true, target: ["chrome100", "firefox100", "safari15"] });
  out["app.css"] = css.code;
  for (const f of copies) out[f] = await readFile(path.join(here, "src", f), "utf8");
  let lic = "Libraries bundled into app.js and the player, and their licences.\n";
  for (const [name, ...files] of licences) {
    lic += `\n==== ${name} ====\n\n`;
    for (const f of files) lic += (await readFile(path.join(here, f), "utf8")).trim() + "\n\n";
  }
  out["licenses.txt"] = lic;
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = await bundles();
  await mkdir(dist, { recursive: true });
  for (const old of await readdir(dist)) if (!(old in files)) await rm(path.join(dist, old), { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    await writeFile(path.join(dist, name), text);
    console.log(`dist/${name}: ${Buffer.byteLength(text)} bytes`);
  }
}
