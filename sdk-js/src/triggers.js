// Trigger logic for survey and chat prompts, free of the DOM: the snippet feeds it what the
// visitor does and the time, and it answers which prompt to show. The triggers:
//   exit_intent  desktop: the pointer leaves through the top of the viewport; mobile (touch):
//                a fast scroll up, or the page being hidden
//   idle         {seconds}: that long without input
//   after        {seconds}: that long on the page (since the pageview)
//                (seconds left out, as the server does for 0: at once)
//   scroll       {percent}: the maximum scroll depth reaches it
//   event        {event}: the named event is tracked on the page
// At most one prompt fires per page view: once one has fired, nothing more does, so a visitor is
// never interrupted twice on one page.

/**
 * A scroll up by UP_PX pixels or more within UP_MS of its first move reads as exit intent on
 * mobile: the visitor flicks back towards the address bar.
 */
export const UP_PX = 150;
export const UP_MS = 300;

/**
 * Returns the triggers of one page view that began at time start (ms), on a mobile (touch) or
 * desktop device. Timed triggers (idle, after) fire on the first feed at or after their time:
 * the snippet feeds "tick" every second while prompts are armed. Its methods:
 *   add(prompts)         arms prompts; a prompt without a trigger or already armed is ignored
 *   feed(kind, v, now)   reports what happened at time now and returns the prompt that fires,
 *                        if any. kind: "exit" (the pointer left through the top), "hidden" (the
 *                        page was hidden), "input" (any input: resets idle), "scroll" (v =
 *                        {depth, y}: the maximum depth in percent and the scroll offset),
 *                        "event" (v = the event name), "tick" (time passed)
 */
export function arm(start, mobile) {
  const list = [];
  let idle = start;
  let done;
  let py = 0; // the last scroll offset, and where and when the current scroll up began
  let uy = -1;
  let ut = 0;
  return {
    add(prompts) {
      prompts.forEach((p) => p.trigger && !list.some((q) => q.id == p.id) && list.push(p));
    },
    feed(kind, v, now) {
      if (kind == "input") idle = now;
      if (kind == "scroll") {
        if (v.y >= py) uy = -1;
        else if (uy < 0) (uy = py), (ut = now);
        v.fast = uy - v.y >= UP_PX && now - ut <= UP_MS;
        py = v.y;
      }
      const p =
        !done &&
        list.find(({ trigger: t }) =>
          t.type == "exit_intent"
            ? kind == "exit" || (mobile && (kind == "hidden" || (kind == "scroll" && v.fast)))
            : t.type == "scroll"
              ? kind == "scroll" && v.depth >= t.percent
              : t.type == "event"
                ? kind == "event" && v == t.event
                : // A timed trigger without seconds (the server leaves out a 0) fires at once.
                  (t.type == "after" ? start : t.type == "idle" ? idle : 1 / 0) + (t.seconds || 0) * 1e3 <= now,
        );
      if (p) done = 1;
      return p || undefined;
    },
  };
}
