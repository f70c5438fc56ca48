package main

import (
	"bytes"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pathlight/pathlight/internal/store"
)

// TestServeMakesNoTokenWhenItCannotStart: a server that cannot open its database (another
// holds it), its GeoIP file, its rules or its address neither announces nor stores an admin
// token.
func TestServeMakesNoTokenWhenItCannotStart(t *testing.T) {
	held := t.TempDir()
	db, err := store.Open(filepath.Join(held, "badger"), store.Options{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rulesDir := filepath.Join("..", "..", "rules")
	badRules := t.TempDir()
	if err := os.WriteFile(filepath.Join(badRules, "x.yaml"), []byte("slots: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, c := range []struct {
		data  string
		extra []string
	}{
		{held, nil},
		{filepath.Join(t.TempDir(), "data"), []string{"--geoip", filepath.Join(t.TempDir(), "missing.mmdb")}},
		{filepath.Join(t.TempDir(), "data"), []string{"--rules", badRules}},
		{filepath.Join(t.TempDir(), "data"), []string{"--addr", taken.Addr().String()}},
	} {
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", c.data, "--rules", rulesDir}, c.extra...)
		var out, errOut bytes.Buffer
		err := run(args, &out, &errOut, func(string) string { return "" })
		if err == nil {
			t.Fatalf("%v started; want an error", args)
		}
		if strings.Contains(out.String(), "admin token") {
			t.Errorf("%v announced a token though it did not start: %q", args, out.String())
		}
		if _, err := os.Stat(filepath.Join(c.data, adminTokenFile)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%v stored a token though it did not start (stat: %v)", args, err)
		}
	}
}
