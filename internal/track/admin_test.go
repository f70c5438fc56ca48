package track_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/pathlight/pathlight/internal/track"
)

// TestMalformedVisitorID: Visitor and Erase tell a string that cannot be a visitor id from an
// unknown one, and repeat only the start of it.
func TestMalformedVisitorID(t *testing.T) {
	tr := newTracker(t, track.Config{})
	long := strings.Repeat("a", 5000)
	_, verr := tr.Visitor(long)
	_, eerr := tr.Erase("not-a-vid")
	for _, err := range []error{verr, eerr, track.CheckVID(long)} {
		if !errors.Is(err, track.ErrInvalidVisitorID) || !errors.Is(err, track.ErrUnknownVisitor) || len(err.Error()) > 120 {
			t.Errorf("error %q; want ErrInvalidVisitorID (and ErrUnknownVisitor) with a short echo", err)
		}
	}
	_, err := tr.Visitor("0123456789abcdef0123456789abcdef")
	if !errors.Is(err, track.ErrUnknownVisitor) || errors.Is(err, track.ErrInvalidVisitorID) {
		t.Errorf("unknown well-formed id: %v; want ErrUnknownVisitor only", err)
	}
	if err := track.CheckVID("0123456789abcdef0123456789abcdef"); err != nil {
		t.Errorf("CheckVID of a well-formed id = %v", err)
	}
}
