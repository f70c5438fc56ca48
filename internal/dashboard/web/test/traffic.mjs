// Traffic for the dashboard tests. `pathlight simulate --seed 42` fills the server when the
// binary has that command; otherwise the same kind of traffic is generated here from a seeded
// generator and sent to POST /api/v1/import (backdated over weeks), or, without that
// endpoint, as live hits to /v1/hit (within the last two days). Either way one visitor
// answers the open survey with markup, which the dashboard must show as text.

import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);
const DAY = 86400000;

/** The answer the tests look for: markup that would run if it were ever parsed as HTML. */
export const XSS_ANSWER = `<script>window.__plxss=1</script><img src=x onerror="window.__plxss=2"> too slow`;

const UAS = {
  desktop: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
  mac: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
  iphone: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
  android: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
};

// Where visits come from: [weight, query string, referrer].
const SOURCES = [
  [20, "", ""],
  [18, "", "https://www.google.com/"],
  [14, "utm_source=google&utm_medium=cpc&utm_campaign=brand", ""],
  [16, "utm_source=facebook&utm_medium=paid_social&utm_campaign=spring", ""],
  [10, "utm_source=newsletter&utm_medium=email&utm_campaign=weekly", ""],
  [8, "", "https://blog.example.org/best-jackets"],
  [6, "", "https://www.instagram.com/"],
];

// mulberry32 is a small seeded generator: the same seed gives the same traffic.
function mulberry32(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * generate returns import lines for n visitors spread over days days before now, each line
 * {ts, ua, ip, batch}, in time order.
 */
export function generate({ seed = 42, visitors = 400, days = 56, now = Date.now(), site, origin }) {
  const rnd = mulberry32(seed);
  const pick = (list) => {
    const total = list.reduce((s, x) => s + x[0], 0);
    let r = rnd() * total;
    for (const x of list) if ((r -= x[0]) < 0) return x;
    return list[list.length - 1];
  };
  const hex = (n) => Array.from({ length: n }, () => Math.floor(rnd() * 16).toString(16)).join("");
  let seq = 0;
  const lines = [];
  for (let v = 0; v < visitors; v++) {
    const vid = hex(32);
    const ua = [UAS.desktop, UAS.desktop, UAS.mac, UAS.iphone, UAS.android][Math.floor(rnd() * 5)];
    const ip = `203.0.113.${1 + Math.floor(rnd() * 250)}`;
    let t = now - Math.floor(rnd() * (days * DAY - DAY)) - DAY / 2;
    const sessions = 1 + (rnd() < 0.35 ? 1 : 0) + (rnd() < 0.15 ? 1 : 0);
    let bought = false;
    for (let s = 0; s < sessions && t < now - 60000; s++) {
      const [, query, ref] = pick(SOURCES);
      const hit = (events, slots) => {
        t += 5000 + Math.floor(rnd() * 60000);
        if (t > now - 1000) return false;
        lines.push({ ts: t, ua, ip, batch: { site, vid, events: events.map((e) => ({ id: `e${seed}-${++seq}`, ts: t, ...e })), ...(slots ? { slots } : {}) } });
        return true;
      };
      const page = (p, title, extra = {}) => ({ type: "pageview", url: origin + p, title, ...extra });
      const landing = rnd() < 0.5 ? "/" : rnd() < 0.6 ? "/products/jacket" : "/pricing";
      hit([page(landing + (query ? "?" + query : ""), "Trail shop", ref ? { ref } : {})], ["hero"]);
      if (landing !== "/products/jacket" && rnd() < 0.6) hit([page("/products/jacket", "Trail Jacket")]);
      if (rnd() < 0.25) {
        const n = 1 + Math.floor(rnd() * 4);
        for (let i = 0; i < n; i++) hit([page("/pricing", "Pricing")], ["pricing_offer"]);
        if (n >= 3) {
          hit([{ type: "prompt", prompt: "pricing_exit", action: "shown" }]);
          const r = rnd();
          if (r < 0.6) hit([{ type: "prompt", prompt: "pricing_exit", action: "answered", answer: ["Price", "A missing feature", "I need to ask my team", "Just looking"][Math.floor(rnd() * 4)] }]);
          else hit([{ type: "prompt", prompt: "pricing_exit", action: "dismissed" }]);
        }
        if (rnd() < 0.3) hit([page("/signup", "Sign up"), { type: "event", name: "signup" }]);
      }
      if (rnd() < 0.45) {
        hit([{ type: "event", name: "add_to_cart", url: origin + "/products/jacket", props: { sku: "jacket" } }]);
        if (rnd() < 0.6) {
          hit([page("/cart", "Cart")], ["cart_message"]);
          hit([page("/checkout", "Checkout")], ["checkout_banner"]);
          if (rnd() < 0.55) {
            const value = 49 + Math.floor(rnd() * 150);
            hit([page("/checkout/pay", "Pay"), { type: "event", name: "purchase", props: { value } }]);
            hit([page("/thanks", "Thank you")]);
            bought = true;
            if (rnd() < 0.7) {
              hit([{ type: "prompt", prompt: "post_purchase_nps", action: "shown" }]);
              if (rnd() < 0.7) hit([{ type: "prompt", prompt: "post_purchase_nps", action: "answered", answer: String(Math.min(10, Math.floor(rnd() * 11 + (rnd() < 0.5 ? 3 : 0)))) }]);
            }
            if (rnd() < 0.4) {
              hit([{ type: "prompt", prompt: "thanks_feedback", action: "shown" }]);
              const texts = ["Faster delivery please", "Great jacket, sizes run small", "More colours!", "Checkout was smooth", "Shipping cost was a surprise"];
              if (rnd() < 0.6) hit([{ type: "prompt", prompt: "thanks_feedback", action: "answered", answer: texts[Math.floor(rnd() * texts.length)] }]);
            }
          }
        }
      }
      t += Math.floor((bought ? 3 : 1) * DAY * rnd());
    }
  }
  lines.sort((a, b) => a.ts - b.ts);
  return lines;
}

async function hasSimulate(bin) {
  try {
    const { stdout, stderr } = await run(bin, ["simulate", "--help"], { timeout: 20000 });
    return stdout + stderr;
  } catch (e) {
    // --help may exit non-zero with the usage on stderr; an unknown command says so.
    const out = (e.stdout || "") + (e.stderr || "");
    return /unknown command/.test(out) || !/-seed/.test(out) ? "" : out;
  }
}

/**
 * traffic fills the server and returns {how, lines, xssVisitor}: how the data was made and
 * the visitor who answered the open survey with markup.
 */
export async function traffic({ bin, api, token, site, origin, visitors = 400 }) {
  let how = "";
  let lines = 0;
  // DASHBOARD_TRAFFIC=builtin uses this file's generator even where simulate exists.
  const help = process.env.DASHBOARD_TRAFFIC === "builtin" ? "" : await hasSimulate(bin);
  if (help) {
    const args = ["simulate", "--server", api, "--token", token, "--seed", "42"];
    if (/-site\b/.test(help)) args.push("--site", site);
    if (/-visitors\b/.test(help)) args.push("--visitors", "2000");
    if (/-days\b/.test(help)) args.push("--days", "60");
    await run(bin, args, { timeout: 240000, maxBuffer: 16 << 20 });
    how = "simulate";
  } else {
    const data = generate({ site, origin, visitors });
    lines = data.length;
    const r = await importLines(api, token, data);
    if (r.ok) how = "import";
    else if (r.status === 404) {
      // No import: live hits, squeezed into the last two days the public endpoint accepts.
      const now = Date.now();
      const from = data.length ? data[0].ts : now;
      const squeeze = (ts) => now - 47 * 3600000 + Math.floor(((ts - from) / Math.max(1, now - from)) * 47 * 3600000);
      for (const l of data) {
        const ts = squeeze(l.ts);
        const body = { ...l.batch, events: l.batch.events.map((e) => ({ ...e, ts })) };
        const hr = await fetch(api + "/v1/hit", { method: "POST", headers: { "Content-Type": "text/plain", Origin: origin, "User-Agent": l.ua }, body: JSON.stringify(body) });
        if (!hr.ok) throw new Error(`POST /v1/hit: ${hr.status} ${await hr.text()}`);
      }
      how = "hits";
    } else throw new Error(`POST /api/v1/import: ${r.status} ${await r.text()}`);
  }
  const xssVisitor = await xssAnswer(api, site, origin);
  return { how, lines, xssVisitor };
}

// importLines posts the lines to /api/v1/import in requests under the server's body limit,
// and returns the first answer that is not a success (or the last one).
async function importLines(api, token, data) {
  const LIMIT = 60000;
  let chunk = [], size = 0, r;
  const send = async () => {
    r = await fetch(api + "/api/v1/import", { method: "POST", headers: { Authorization: "Bearer " + token, "Content-Type": "application/x-ndjson" }, body: chunk.join("\n") + "\n" });
    if (r.ok) {
      const j = await r.json();
      if (j.rejected || (j.errors && j.errors.length)) throw new Error("import rejected lines: " + JSON.stringify(j).slice(0, 500));
    }
    chunk = [];
    size = 0;
    return r.ok;
  };
  for (const l of data) {
    const s = JSON.stringify(l);
    if (size + s.length + 1 > LIMIT && chunk.length && !(await send())) return r;
    chunk.push(s);
    size += s.length + 1;
  }
  if (chunk.length) await send();
  return r;
}

// xssAnswer records a buyer who answers the open survey with markup, now.
async function xssAnswer(api, site, origin) {
  const vid = "0123456789abcdef0123456789abcdef";
  const ts = Date.now() - 60000;
  const ev = (i, e) => ({ id: "xss-" + i, ts: ts + i * 1000, ...e });
  const body = {
    site,
    vid,
    events: [
      ev(0, { type: "pageview", url: origin + "/thanks?utm_source=newsletter&utm_medium=email", title: "<b>Thanks</b>" }),
      ev(1, { type: "prompt", prompt: "thanks_feedback", action: "shown" }),
      ev(2, { type: "prompt", prompt: "thanks_feedback", action: "answered", answer: XSS_ANSWER }),
    ],
  };
  const r = await fetch(api + "/v1/hit", { method: "POST", headers: { "Content-Type": "text/plain", Origin: origin, "User-Agent": UAS.desktop }, body: JSON.stringify(body) });
  const j = await r.json();
  if (!r.ok || j.accepted.length !== 3) throw new Error(`the markup answer was not accepted: ${r.status} ${JSON.stringify(j)}`);
  return j.vid;
}
