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
	// EventLogged reports an event-log record a commit added. rec is valid only during the
	// call; decode it with event.DecodeRecord.
	EventLogged(rec []byte)
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
func (s watched) Write(ops []Op) error {
	if err := s.Store.Write(ops); err != nil {
		return err
	}
	for i := range ops {
		op := &ops[i]
		if len(op.Key) == 0 {
			continue
		}
		switch op.Key[0] {
		case pVisitor:
			s.w.StateChanged(op.Key[1:], op.Delete)
		case pEvent:
			if !op.Delete && len(op.Key) == eventKeyLen {
				s.w.EventLogged(op.Value)
			}
		}
	}
	return nil
}
