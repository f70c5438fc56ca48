// Builds the dashboard into ../dist/, which the Go server embeds and serves under /dashboard/:
//   app.js       the app (src/main.js), with the parts of ECharts it uses
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
];

async function js(entry) {
  const r = await esbuild.build({
    absWorkingDir: here,
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: "esm",
    target: "es2020",
    minify: true,
    treeShaking: true,
    legalComments: "none",
    charset: "utf8",
    define: { "process.env.NODE_ENV": '"production"', __DEV__: "false" },
  });
  return r.outputFiles[0].text;
}

/** Returns a map of file name under dist/ → its text. */
export async function bundles() {
  const out = {};
  out["app.js"] = await js("src/main.js");
  out["login.js"] = await js("src/login.js");
  const css = await esbuild.transform(await readFile(path.join(here, "src/style.css"), "utf8"), { loader: "css", minify: true, target: ["chrome100", "firefox100", "safari15"] });
  out["app.css"] = css.code;
  for (const f of copies) out[f] = await readFile(path.join(here, "src", f), "utf8");
  let lic = "Libraries bundled into app.js, and their licences.\n";
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
