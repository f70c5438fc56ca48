package main

import (
	"testing"

	"github.com/pathlight/pathlight/internal/config"
	"github.com/pathlight/pathlight/internal/store"
)

// TestMinDiskReserveAgrees: the configuration refuses the reserves the store would refuse,
// and no other (config cannot import the store, which would pull Badger into every package).
func TestMinDiskReserveAgrees(t *testing.T) {
	if config.MinDiskReserve != store.MinDiskReserve {
		t.Fatalf("config.MinDiskReserve = %d, store.MinDiskReserve = %d; want them equal", config.MinDiskReserve, store.MinDiskReserve)
	}
}
