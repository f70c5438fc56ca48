// Builds the snippet bundles into dist/: pl.js (every page), pl-ui.js (the prompt UI and
// the console diagnostics, loaded lazily), pl-hm.js (the heatmap capture, loaded lazily
// for sampled pageviews) and pl-rr.js (session replay: rrweb's recorder, loaded by pl-hm.js
// for pageviews sampled for replay). esbuild bundles and minifies; terser then squeezes
// out a few percent more, which the size budget needs. unsafe_arrows lets terser write the
// function expressions that use neither this nor arguments as arrows: no source calls one with
// new or reads its prototype, and terser leaves the ones that use this as they are. The build is deterministic: the same
// sources give the same bytes, which a test checks against the committed dist/.
//
//   node build.mjs          write dist/
//   import { bundles }      the bundles in memory, for tests

import * as esbuild from "esbuild";
import { minify } from "terser";
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));

/** The bundles: output file name → entry point under src/. */
export const entries = { "pl.js": "src/pl.js", "pl-ui.js": "src/ui.js", "pl-hm.js": "src/heatmap.js", "pl-rr.js": "src/replay.js" };

// CSS imported from JS arrives as a minified string.
const cssText = {
  name: "css-text",
  setup(build) {
    build.onLoad({ filter: /\.css$/ }, async (args) => {
      const { code } = await esbuild.transform(await readFile(args.path, "utf8"), { loader: "css", minify: true });
      return { contents: "export default " + JSON.stringify(code.trim()), loader: "js" };
    });
  },
};

/** Returns a map of output file name → bundled source text. */
export async function bundles() {
  const out = {};
  for (const [name, entry] of Object.entries(entries)) {
    const r = await esbuild.build({
      absWorkingDir: here,
      entryPoints: [entry],
      bundle: true,
      write: false,
      format: "iife",
      target: "es2020",
      minify: true,
      legalComments: "none",
      charset: "utf8",
      plugins: [cssText],
    });
    const t = await minify(r.outputFiles[0].text, { ecma: 2020, compress: { passes: 2, unsafe_arrows: true }, mangle: { toplevel: true }, toplevel: true });
    out[name] = t.code;
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await mkdir(path.join(here, "dist"), { recursive: true });
  for (const [name, text] of Object.entries(await bundles())) {
    await writeFile(path.join(here, "dist", name), text);
    console.log(`dist/${name}: ${Buffer.byteLength(text)} bytes`);
  }
}
