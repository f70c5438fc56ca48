// Package replay keeps the session recordings that the snippet's replay chunk (pl-rr.js,
// rrweb's recorder) sends to POST /v1/replay: chunks of rrweb events per recorded session,
// in the order of their sequence numbers, with their own retention and caps, and reads them
// back for the dashboard's player.
//
// Everything is stored through track.Store (bytes in, bytes out), so only internal/store
// knows Badger. Keys (docs/architecture.md lists them with the others):
//
//	y session 0 seq(4, BE)          a chunk: the batch as received, gzip-compressed
//	s session                       the session: visitor, site, first and last event time,
//	                                pages, chunks, bytes (JSON)
//	p vid 0 session                 empty: the visitor's sessions, for its list and its erase
//	z site 0 started(8, BE) session the visitor id: sessions by start time, for a period's list
//	Y day(4, BE)                    bytes stored on that UTC day, for the daily cap
//
// Every key but the daily counter expires the replay retention after its last write. A
// session's bytes are capped (SessionCap) and so are all sessions' bytes of a UTC day
// (DailyCap); a chunk beyond either is refused and nothing of it is stored.
package replay
