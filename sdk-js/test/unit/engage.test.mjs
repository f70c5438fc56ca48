import { test } from "node:test";
import assert from "node:assert/strict";
import { depth, meter } from "../../src/engage.js";

test("depth", () => {
  const cases = [
    [0, 800, 800, 100], // the page fits the viewport
    [0, 800, 600, 100],
    [0, 800, 3200, 25],
    [1200, 800, 3200, 63],
    [2400, 800, 3200, 100],
    [5000, 800, 3200, 100], // overscroll
  ];
  for (const [top, view, full, want] of cases) {
    const got = depth(top, view, full);
    assert.equal(got, want, `depth(${top}, ${view}, ${full}) = ${got}; want ${want}`);
  }
});

test("meter counts engaged time only and reports deltas", () => {
  const m = meter();
  m(true, 1000); // engaged from 1 s
  m(false, 4000); // 3 s engaged, then hidden
  m(false, 9000); // still hidden
  m(true, 10000); // back
  let got = m(true, 12000, true); // 3 + 2 s
  assert.equal(got, 5000, `first take = ${got}; want 5000`);
  got = m(false, 12500, true);
  assert.equal(got, 500, `second take = ${got}; want 500 (the time since the first take)`);
  got = m(false, 20000, true);
  assert.equal(got, 0, `take while not engaged = ${got}; want 0`);
});
