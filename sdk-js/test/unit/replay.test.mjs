import { test } from "node:test";
import assert from "node:assert/strict";
import { keep, session, snapped, maskAttributes, maskTree, MAX_BATCHES, MAX_QUEUED } from "../../src/replayparts.js";
import { MAX_AGE } from "../../src/queue.js";

const now = 1_700_000_000_000;
const b = (id, age = 0, pad = 0) => ({ id, ts: now - age, events: [{ t: "x".repeat(pad) }] });
const ids = (q) => q.map((x) => x.id).join(",");

test("keep bounds the replay queue by age, count and bytes, oldest dropped first", () => {
  assert.equal(ids(keep([b("a"), b("b")], b("c"), now)), "a,b,c");
  assert.equal(ids(keep([b("old", MAX_AGE + 1), b("a")], b("c"), now)), "a,c");
  const many = Array.from({ length: MAX_BATCHES + 5 }, (_, i) => b("q" + i));
  const kept = keep(many, b("new"), now);
  assert.equal(kept.length, MAX_BATCHES);
  assert.equal(kept.at(-1).id, "new");
  assert.equal(kept[0].id, "q6");
  const big = keep([b("big1", 0, MAX_QUEUED / 2), b("big2", 0, MAX_QUEUED / 2)], b("c"), now);
  assert.equal(ids(big), "big2,c", "the oldest goes when the bytes are over");
  assert.equal(ids(keep([null, b("a")], b("c"), now)), "a,c");
});

test("session: the stored one within 30 minutes, else a new one numbered from 0", () => {
  const mint = () => "new-id";
  const s = { id: "s1", seq: 4, at: now - 60e3 };
  assert.equal(session(s, now, mint), s);
  assert.deepEqual(session({ ...s, at: now - 31 * 60e3 }, now, mint), { id: "new-id", seq: 0 });
  assert.deepEqual(session(null, now, mint), { id: "new-id", seq: 0 });
  assert.deepEqual(session({ seq: 3, at: now }, now, mint), { id: "new-id", seq: 0 });
});

test("snapped keeps only today's pages", () => {
  assert.deepEqual(snapped({ "/a": 10, "/b": 9 }, "/c", 10), { "/a": 10, "/c": 10 });
  assert.deepEqual(snapped({}, "/", 3), { "/": 3 });
});

test("maskAttributes masks what shows text and drops handlers, unless unmasked", () => {
  const a = { id: "buy", class: "btn", title: "Hello Jane", alt: "Jane's photo", placeholder: "jane@x.io", "aria-label": "Pay Jane", value: "Go on", onclick: "alert('Jane')", onMouseOver: "x()", href: "/cart", style: "color:red" };
  maskAttributes(a, false);
  assert.deepEqual(a, { id: "buy", class: "btn", title: "***** ****", alt: "****** *****", placeholder: "*********", "aria-label": "*** ****", value: "** **", href: "/cart", style: "color:red" });
  const u = { title: "Shown", onclick: "x()" };
  maskAttributes(u, true);
  assert.deepEqual(u, { title: "Shown" }, "handlers go even where text is opted in");
});

test("maskTree masks a snapshot's attributes below the elements that do not opt in", () => {
  const tree = {
    type: 0,
    childNodes: [
      { type: 2, tagName: "img", attributes: { alt: "secret" }, childNodes: [] },
      { type: 2, tagName: "nav", attributes: { class: "top pl-unmask" }, childNodes: [{ type: 2, tagName: "a", attributes: { title: "Home" }, childNodes: [] }] },
      { type: 2, tagName: "div", attributes: { "data-pl-unmask": "" }, childNodes: [{ type: 2, tagName: "img", attributes: { alt: "Logo" } }] },
      { type: 2, tagName: "div", attributes: { class: "pl-unmasked-not" }, childNodes: [{ type: 2, tagName: "img", attributes: { alt: "hidden" } }] },
    ],
  };
  maskTree(tree);
  const alts = JSON.stringify(tree);
  assert.ok(alts.includes('"alt":"******"') && alts.includes('"title":"Home"') && alts.includes('"alt":"Logo"') && alts.includes('"alt":"******"'), alts);
  assert.ok(!alts.includes("secret") && !alts.includes("hidden"), alts);
});
