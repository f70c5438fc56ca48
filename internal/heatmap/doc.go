// Package heatmap aggregates the clicks and scroll depths that the snippet's capture chunk
// sends for sampled pageviews into bounded tables, one per site, page, UTC day and viewport
// band for every visitor, and one more per dimension of the visitor's journey (channel,
// segment, experiment arm, step reached: DimsOf), and answers the heatmap report from them.
//
// A table holds the most clicked elements (by their selector, with a 4×4 grid of where in
// the element they were clicked), the most rage-clicked and dead-clicked elements, a coarse
// grid of click positions on the page, and a histogram of the deepest scroll of each
// pageview. Every part is bounded (top lists are space-saving summaries), and two tables
// merge into one of the same bounds, so a period's map is the merge of its days, and
// tables of two servers merge the same way. Tables hold no visitor id: an erasure has
// nothing to remove from them.
//
// Tables are stored through track.Store (bytes in, bytes out) under keys of kind 'h'; each
// batch is applied with a read, a merge and a write under a lock of its key, together with
// a dedup mark of its batch id (kind 'c', 48 hours), so a retried batch counts once.
package heatmap
