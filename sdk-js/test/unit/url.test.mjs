import { test } from "node:test";
import assert from "node:assert/strict";
import { pageUrl } from "../../src/url.js";

test("pageUrl", () => {
  const cases = [
    ["https://shop.example/", "https://shop.example/"],
    ["https://shop.example/p?a=1#top", "https://shop.example/p?a=1"],
    [
      "https://shop.example/?utm_source=facebook&utm_medium=paid_social&fbclid=X1",
      "https://shop.example/?utm_source=facebook&utm_medium=paid_social&fbclid=X1",
    ],
    ["https://shop.example/#utm_source=news&utm_medium=email", "https://shop.example/?utm_source=news&utm_medium=email"],
    ["https://shop.example/?a=1#utm_campaign=spring", "https://shop.example/?a=1&utm_campaign=spring"],
    ["https://shop.example/#/cart?utm_source=x&step=2", "https://shop.example/?utm_source=x"],
    ["https://shop.example/#/cart?step=2", "https://shop.example/"],
    ["https://shop.example/#gclid=abc", "https://shop.example/"],
    ["https://shop.example/a%20b?q=%C3%A9", "https://shop.example/a%20b?q=%C3%A9"],
  ];
  for (const [in_, want] of cases) {
    const got = pageUrl(in_);
    assert.equal(got, want, `pageUrl(${JSON.stringify(in_)}) = ${JSON.stringify(got)}; want ${JSON.stringify(want)}`);
  }
});
