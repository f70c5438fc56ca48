import { test } from "node:test";
import assert from "node:assert/strict";
import { arm, UP_PX, UP_MS } from "../../src/triggers.js";

const p = (id, trigger) => ({ id, kind: "survey", trigger });
const T0 = 1_000_000;

// run arms prompts at T0 and feeds steps [kind, v, dt], returning the ids that fired, "-" for none.
function run(prompts, steps, mobile = false) {
  const tr = arm(T0, mobile);
  tr.add(prompts);
  return steps.map(([kind, v, dt]) => {
    const got = tr.feed(kind, v && typeof v == "object" ? { ...v } : v, T0 + dt);
    return got ? got.id : "-";
  });
}

test("triggers", async (t) => {
  const cases = [
    {
      name: "exit intent on desktop: the pointer leaving through the top",
      prompts: [p("exit", { type: "exit_intent" })],
      steps: [["input", 0, 100], ["hidden", 0, 200], ["exit", 0, 300]],
      want: ["-", "-", "exit"],
    },
    {
      name: "exit intent on mobile: the page hidden",
      mobile: true,
      prompts: [p("exit", { type: "exit_intent" })],
      steps: [["input", 0, 100], ["hidden", 0, 200]],
      want: ["-", "exit"],
    },
    {
      name: "exit intent on mobile: a fast scroll up",
      mobile: true,
      prompts: [p("exit", { type: "exit_intent" })],
      steps: [
        ["scroll", { depth: 50, y: 2000 }, 100],
        ["scroll", { depth: 50, y: 1950 }, 5000], // a slow start: the run begins here
        ["scroll", { depth: 50, y: 1950 - UP_PX }, 5000 + UP_MS - 50],
      ],
      want: ["-", "-", "exit"],
    },
    {
      name: "exit intent on mobile: a slow scroll up is no exit",
      mobile: true,
      prompts: [p("exit", { type: "exit_intent" })],
      steps: [
        ["scroll", { depth: 50, y: 2000 }, 100],
        ["scroll", { depth: 50, y: 1990 }, 200],
        ["scroll", { depth: 50, y: 1700 }, 200 + UP_MS + 100],
      ],
      want: ["-", "-", "-"],
    },
    {
      name: "exit intent on mobile: scrolling down breaks the run",
      mobile: true,
      prompts: [p("exit", { type: "exit_intent" })],
      steps: [
        ["scroll", { depth: 50, y: 2000 }, 100],
        ["scroll", { depth: 50, y: 1900 }, 150],
        ["scroll", { depth: 50, y: 1950 }, 200],
        ["scroll", { depth: 50, y: 1860 }, 250],
      ],
      want: ["-", "-", "-", "-"],
    },
    {
      name: "a fast scroll up on desktop is no exit",
      prompts: [p("exit", { type: "exit_intent" })],
      steps: [["scroll", { depth: 50, y: 2000 }, 100], ["scroll", { depth: 50, y: 1000 }, 150]],
      want: ["-", "-"],
    },
    {
      name: "idle: input resets the clock",
      prompts: [p("idle", { type: "idle", seconds: 30 })],
      steps: [["tick", 0, 20000], ["input", 0, 25000], ["tick", 0, 50000], ["tick", 0, 55000]],
      want: ["-", "-", "-", "idle"],
    },
    {
      name: "after: time on the page, whatever the input",
      prompts: [p("after", { type: "after", seconds: 10 })],
      steps: [["input", 0, 9000], ["tick", 0, 9999], ["tick", 0, 10000]],
      want: ["-", "-", "after"],
    },
    {
      name: "scroll depth",
      prompts: [p("deep", { type: "scroll", percent: 50 })],
      steps: [["scroll", { depth: 30, y: 300 }, 100], ["scroll", { depth: 50, y: 900 }, 200]],
      want: ["-", "deep"],
    },
    {
      name: "a named event",
      prompts: [p("cart", { type: "event", event: "add_to_cart" })],
      steps: [["event", "signup", 100], ["event", "add_to_cart", 200]],
      want: ["-", "cart"],
    },
    {
      name: "one prompt per page view",
      prompts: [p("a", { type: "after", seconds: 1 }), p("b", { type: "exit_intent" })],
      steps: [["tick", 0, 1000], ["exit", 0, 2000], ["tick", 0, 3000]],
      want: ["a", "-", "-"],
    },
    {
      name: "a prompt without a known trigger never fires",
      prompts: [p("odd", { type: "teleport" }), p("odd2", { type: "teleport", seconds: 1 })],
      steps: [["tick", 0, 1e9], ["exit", 0, 1e9]],
      want: ["-", "-"],
    },
    {
      // The server leaves seconds out when it is 0: the default trigger is {after: 0s}.
      name: "after without seconds: at once",
      prompts: [p("now", { type: "after" })],
      steps: [["tick", 0, 0]],
      want: ["now"],
    },
    {
      name: "idle without seconds: at once",
      prompts: [p("idle0", { type: "idle" })],
      steps: [["input", 0, 500], ["tick", 0, 500]],
      want: ["idle0", "-"],
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const got = run(c.prompts, c.steps, c.mobile);
      assert.deepEqual(got, c.want, `fired ${JSON.stringify(got)}; want ${JSON.stringify(c.want)}`);
    });
  }
});

test("add ignores prompts already armed and prompts without a trigger", () => {
  const tr = arm(T0, false);
  tr.add([p("a", { type: "exit_intent" }), { id: "b" }]);
  tr.add([{ id: "a", trigger: { type: "after", seconds: 0 } }]);
  const got = tr.feed("tick", 0, T0 + 5000);
  assert.equal(got, undefined, `feed(tick) = ${got && got.id}; want nothing (a keeps its first trigger)`);
  assert.equal(tr.feed("exit", 0, T0 + 6000).id, "a");
});
