import { test } from "node:test";
import assert from "node:assert/strict";
import { enqueue, remove, backoff, MAX_QUEUE, MAX_AGE, MAX_EVENT } from "../../src/queue.js";

const now = 1_700_000_000_000;
const ev = (id, age = 0) => ({ id, ts: now - age });
const ids = (q) => q.map((e) => e && e.id).join(",");

test("enqueue", async (t) => {
  const cases = [
    { name: "appends in order", queue: [ev("a")], add: [ev("b"), ev("c")], want: "a,b,c" },
    { name: "keeps one entry per id, the latest", queue: [ev("a"), ev("b")], add: [ev("a")], want: "b,a" },
    { name: "drops events older than MAX_AGE", queue: [ev("old", MAX_AGE + 1), ev("a")], add: [ev("b")], want: "a,b" },
    { name: "drops entries without an id", queue: [null, {}, ev("a")], add: [], want: "a" },
    { name: "keeps the newest max", queue: [ev("a"), ev("b"), ev("c")], add: [ev("d")], max: 2, want: "c,d" },
    { name: "keeps time order", queue: [ev("a", 50), ev("b", 10)], add: [ev("c", 30), ev("d")], want: "a,c,b,d" },
    { name: "events of the same time keep their order", queue: [ev("a"), ev("b")], add: [ev("c"), ev("d")], want: "a,b,c,d" },
    { name: "keeps the newest max by time", queue: [ev("a", 5), ev("b", 50)], add: [ev("c", 10)], max: 2, want: "c,a" },
    { name: "drops an event no request can carry", queue: [ev("a")], add: [{ ...ev("big"), s: "x".repeat(MAX_EVENT) }, ev("b")], want: "a,b" },
    { name: "measures in UTF-8 bytes", queue: [], add: [{ ...ev("cjk"), s: "長".repeat(MAX_EVENT / 3) }, { ...ev("fits"), s: "長".repeat(MAX_EVENT / 3 - 20) }], want: "fits" },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const got = ids(enqueue(c.queue, c.add, now, c.max));
      assert.equal(got, c.want, `enqueue(${ids(c.queue)}, ${ids(c.add)}) = ${got}; want ${c.want}`);
    });
  }
});

test("enqueue bounds the queue to MAX_QUEUE by default", () => {
  const many = Array.from({ length: MAX_QUEUE + 10 }, (_, i) => ev("e" + i));
  const got = enqueue([], many, now);
  assert.equal(got.length, MAX_QUEUE, `len(enqueue(${MAX_QUEUE + 10} events)) = ${got.length}; want ${MAX_QUEUE}`);
  assert.equal(got[0].id, "e10", `enqueue kept ${got[0].id} first; want e10 (oldest dropped)`);
});

test("enqueue does not modify its inputs", () => {
  const q = [ev("a")];
  enqueue(q, [ev("b")], now);
  assert.equal(ids(q), "a", `queue after enqueue = ${ids(q)}; want a`);
});

test("remove drops the sent events only", () => {
  const got = ids(remove([ev("a"), ev("b"), ev("c")], [ev("b"), ev("x")]));
  assert.equal(got, "a,c", `remove(a,b,c; b,x) = ${got}; want a,c`);
});

test("backoff doubles from 2 s, caps at 5 minutes and jitters between half and all of it", () => {
  const cases = [
    { n: 0, lo: 1000, hi: 2000 },
    { n: 1, lo: 2000, hi: 4000 },
    { n: 3, lo: 8000, hi: 16000 },
    { n: 20, lo: 150000, hi: 300000 },
  ];
  for (const c of cases) {
    const lo = backoff(c.n, () => 0);
    const hi = backoff(c.n, () => 0.999999);
    assert.equal(lo, c.lo, `backoff(${c.n}, rnd=0) = ${lo}; want ${c.lo}`);
    assert.ok(Math.abs(hi - c.hi) < 1, `backoff(${c.n}, rnd≈1) = ${hi}; want ≈${c.hi}`);
  }
});
