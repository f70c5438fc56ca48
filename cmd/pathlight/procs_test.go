package main

import "testing"

func TestServeProcs(t *testing.T) {
	for _, c := range []struct{ cores, want int }{
		{0, 4}, {1, 4}, {2, 8}, {4, 16}, {5, 20}, {6, 22}, {32, 48},
	} {
		if got := serveProcs(c.cores); got != c.want {
			t.Errorf("serveProcs(%d) = %d; want %d", c.cores, got, c.want)
		}
	}
}
