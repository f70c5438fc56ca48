import { test } from "node:test";
import assert from "node:assert/strict";
import { uuid, flat, body } from "../../src/payload.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

test("uuid", async (t) => {
  const sources = {
    "crypto.randomUUID": crypto,
    "blob URL fallback (no randomUUID)": { getRandomValues: (a) => crypto.getRandomValues(a) },
  };
  for (const [name, c] of Object.entries(sources)) {
    await t.test(name, () => {
      const seen = new Set();
      for (let i = 0; i < 200; i++) {
        const id = uuid(c);
        assert.match(id, UUID, `uuid() = ${id}; want a version 4 uuid`);
        assert.ok(!seen.has(id), `uuid() repeated ${id}`);
        seen.add(id);
      }
    });
  }
});

test("flat keeps scalars and drops the rest", () => {
  const fn = () => 1;
  const got = flat({ s: "x", n: 30, f: 1.5, b: false, o: { a: 1 }, a: [1], z: null, u: undefined, fn });
  const want = { s: "x", n: 30, f: 1.5, b: false };
  assert.deepEqual(got, want, `flat(…) = ${JSON.stringify(got)}; want ${JSON.stringify(want)}`);
  assert.deepEqual(flat(undefined), {}, "flat(undefined) should be {}");
});

test("body", () => {
  const ev = [{ id: "1", type: "pageview" }];
  const cases = [
    { args: ["shop", "", ev, ["hero"]], want: { site: "shop", events: ev, slots: ["hero"] } },
    { args: ["shop", "granted", ev, 0], want: { site: "shop", consent: "granted", events: ev } },
    { args: ["shop", "denied", ev, []], want: { site: "shop", consent: "denied", events: ev } },
    { args: ["shop", "", ev, 0, "0123456789abcdef0123456789abcdef"], want: { site: "shop", vid: "0123456789abcdef0123456789abcdef", events: ev } },
    { args: ["shop", "granted", ev, ["hero"], undefined], want: { site: "shop", consent: "granted", events: ev, slots: ["hero"] } },
    { args: ["shop", "", ev, 0, false], want: { site: "shop", events: ev } },
  ];
  for (const c of cases) {
    const got = JSON.parse(body(...c.args));
    assert.deepEqual(got, c.want, `body(${JSON.stringify(c.args)}) = ${JSON.stringify(got)}; want ${JSON.stringify(c.want)}`);
  }
});
