package track

// Watcher hears what the tracker commits, so that a reader of the journeys (the analytics
// index) can keep itself up to date from the commits instead of reading the whole store
// again. Calls come after the commit succeeded, on the committing goroutine and while the
// visitor's lock is held: a Watcher must be quick, must not call back into the Tracker, and
// must be safe for concurrent use.
type Watcher interface {
	// StateChanged reports that a commit wrote the journey state of vid (deleted false) or
	// deleted it (deleted true: an erase, or an anonymous journey merged into a known
	// user's). vid is valid only during the call.
	StateChanged(vid []byte, deleted bool)
	// EventLogged reports an event-log record a commit added: its key, the record, and
	// whether an import (Tracker.Import) added it rather than a request as it happened. key
	// and rec are valid only during the call; decode rec with event.DecodeRecord.
	EventLogged(key, rec []byte, imported bool)
	// EventDeleted reports the key of an event-log record a commit deleted (an erase). key
	// is valid only during the call.
	EventDeleted(key []byte)
}

// Watch returns st with every successful Write reported to w; writes that fail report
// nothing. Give the result to New in place of st.
func Watch(st Store, w Watcher) Store { return watched{Store: st, w: w} }

// watched is a Store that reports its commits to a Watcher.
type watched struct {
	Store
	w Watcher
}

// Write commits ops, then reports the visitor states and event-log records among them.
func (s watched) Write(ops []Op) error { return s.write(ops, false) }

// write is Write for the tracker, which says whether the records come from an import.
func (s watched) write(ops []Op, imported bool) error {
	if err := s.Store.Write(ops); err != nil {
		return err
	}
	s.notify(ops, imported)
	return nil
}

// notify reports the visitor states and event-log records among ops, once committed.
func (s watched) notify(ops []Op, imported bool) {
	for i := range ops {
		op := &ops[i]
		if len(op.Key) == 0 {
			continue
		}
		switch op.Key[0] {
		case pVisitor:
			s.w.StateChanged(op.Key[1:], op.Delete)
		case pEvent:
			switch {
			case len(op.Key) != eventKeyLen:
			case op.Delete:
				s.w.EventDeleted(op.Key)
			default:
				s.w.EventLogged(op.Key, op.Value, imported)
			}
		}
	}
}

// write commits the ops of one request; imported says whether it is an import line. It
// returns whether the commit is only queued locally (cluster mode, stream out of reach).
func (t *Tracker) write(ops []Op, c Commit) (bool, error) {
	return WriteCommit(t.st, ops, c)
}
