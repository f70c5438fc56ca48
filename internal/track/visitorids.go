package track

// VisitorIDs returns the ids that name visitor vid: the id of its journey (vid, or the known
// user's id it was merged into) first, then every anonymous id merged into that journey. Data
// kept outside the journey under a visitor id (session replays) is found, and erased, under
// all of them. A malformed vid is ErrInvalidVisitorID.
func (t *Tracker) VisitorIDs(vid string) ([]string, error) {
	if err := CheckVID(vid); err != nil {
		return nil, err
	}
	w := t.pool.Get().(*work)
	canon, ok, err := t.alias(w, vid)
	t.putWork(w)
	if err != nil {
		return nil, err
	}
	if ok {
		vid = canon
	}
	ids := []string{vid}
	err = t.scanOwned(vid, func(_, owned, _ []byte) error {
		if len(owned) > 1 && owned[0] == pAlias {
			ids = append(ids, string(owned[1:]))
		}
		return nil
	})
	return ids, err
}

// JourneyID returns the id of the journey visitor vid belongs to: vid, or the known user's id
// it was merged into. One read; a malformed vid is ErrInvalidVisitorID.
func (t *Tracker) JourneyID(vid string) (string, error) {
	if err := CheckVID(vid); err != nil {
		return "", err
	}
	w := t.pool.Get().(*work)
	defer t.putWork(w)
	canon, ok, err := t.alias(w, vid)
	if err != nil || !ok {
		return vid, err
	}
	return canon, nil
}
