package cluster

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/track"
)

// Spend sent to one node's admin API is written on every node; so is its deletion.
func TestSpendReachesEveryNode(t *testing.T) {
	ns := startNATS(t)
	a := startNode(t, t.TempDir(), nodeOptions("a", ns.url()))
	b := startNode(t, t.TempDir(), nodeOptions("b", ns.url()))
	dirA, dirB := t.TempDir(), t.TempDir()
	spendA, spendB := analytics.NewSpendSources(dirA, nil), analytics.NewSpendSources(dirB, nil)
	spendA.SetReplicate(a.node.ReplicateSpend)
	b.node.SetSpendApplier(spendB.ApplyReplicated)
	if _, err := spendA.Put("ads", []byte("date,channel,campaign,amount,currency\n2026-12-01,Paid Search,boots,120.50,EUR\n"), false); err != nil {
		t.Fatal(err)
	}
	fileB := filepath.Join(dirB, "spend.d", "ads.csv")
	waitFor(t, 10*time.Second, "b writes a's spend", func() bool {
		data, err := os.ReadFile(fileB)
		return err == nil && strings.Contains(string(data), "120.5")
	})
	if err := spendA.Delete("ads"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "b deletes the source", func() bool {
		_, err := os.Stat(fileB)
		return os.IsNotExist(err)
	})
}

// A write larger than the NATS servers take is refused at once, stored nowhere, and not left
// in the outbox (where it would block the drain for good).
func TestCommitLargerThanNATSTakesIsRefused(t *testing.T) {
	ns := startNATS(t)
	a := startNode(t, t.TempDir(), nodeOptions("a", ns.url()))
	big := make([]byte, 2<<20)
	err := a.node.Store().Write([]track.Op{{Key: []byte("Zs-big"), Value: big}})
	if !errors.Is(err, track.ErrCommitTooLarge) {
		t.Fatalf("write of 2 MiB: %v; want ErrCommitTooLarge", err)
	}
	if _, err := a.node.Store().Get([]byte("Zs-big"), nil); !errors.Is(err, track.ErrNotFound) {
		t.Fatalf("the refused write was stored: %v", err)
	}
	if st := a.node.Status(); st.OutboxBytes != 0 {
		t.Fatalf("outbox holds %d bytes; want none", st.OutboxBytes)
	}
}
