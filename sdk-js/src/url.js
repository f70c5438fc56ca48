// Page URL handling: which URL a hit reports. Pure functions over strings.

/**
 * Returns the URL a hit reports for the page at href: without the fragment (the server keys
 * pages by path), but with UTM parameters found in the fragment ("#utm_source=x" or
 * "#/route?utm_source=x", where some email tools and hash routers put them) appended to the
 * query, so that the landing page's channel is still recognised. Click ids are left where ad
 * platforms put them: in the query, which the server reads.
 */
export function pageUrl(href) {
  const [u, h = ""] = href.split("#");
  const c = h
    .slice(h.indexOf("?") + 1)
    .split("&")
    .filter((p) => p.startsWith("utm_"));
  return c.length ? u + (u.includes("?") ? "&" : "?") + c.join("&") : u;
}
