package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/pathlight/pathlight"

// layers is the allowed order of the domain packages: a package may import only packages of
// earlier layers (and siblings that sit beside the chain, listed in beside).
var layers = []string{"internal/event", "internal/journey", "internal/rules", "internal/automate", "internal/track", "internal/deliver", "internal/inbound", "internal/analytics", "internal/cluster", "internal/server", "cmd/pathlight"}

// TestImportGraph enforces the import rules of the architecture with `go list -deps`:
// the layering event ← journey ← rules ← track ← server ← cmd; only server imports fasthttp;
// only store imports Badger; store imports no internal package; domain packages use neither
// fasthttp, Badger nor net/http, even indirectly; only cluster imports NATS, only the command
// imports cluster, and nothing but those two depends on NATS, so that a server without
// --cluster runs no NATS code.
func TestImportGraph(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH: cannot list the import graph")
	}
	cmd := exec.Command("go", "list", "-deps", "-json", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	type pkg struct {
		ImportPath string
		Imports    []string
		Deps       []string
		Standard   bool
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(p.ImportPath, module) {
			pkgs[strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")] = p
		}
	}
	if len(pkgs) < 8 {
		t.Fatalf("go list found %d Pathlight packages; want the whole module", len(pkgs))
	}
	layerOf := func(rel string) int {
		for i, l := range layers {
			if rel == l || strings.HasPrefix(rel, l+"/") {
				return i
			}
		}
		return -1
	}
	const (
		fasthttp = "github.com/valyala/fasthttp"
		badger   = "github.com/dgraph-io/badger/v4"
		nats     = "github.com/nats-io/"
	)
	domain := []string{"internal/event", "internal/journey", "internal/rules", "internal/automate", "internal/track", "internal/inbound", "internal/analytics", "internal/enrich", "internal/report", "internal/config", "internal/replay"}
	for rel, p := range pkgs {
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, fasthttp) && rel != "internal/server" {
				t.Errorf("%s imports fasthttp; only internal/server may", rel)
			}
			if strings.HasPrefix(imp, badger) && rel != "internal/store" {
				t.Errorf("%s imports Badger; only internal/store may", rel)
			}
			if strings.HasPrefix(imp, nats) && rel != "internal/cluster" {
				t.Errorf("%s imports %s; only internal/cluster may talk to NATS", rel, imp)
			}
			if imp == module+"/internal/cluster" && rel != "cmd/pathlight" {
				t.Errorf("%s imports internal/cluster; only the command wires cluster mode", rel)
			}
			if !strings.HasPrefix(imp, module) {
				continue
			}
			dep := strings.TrimPrefix(imp, module+"/")
			if rel == "internal/store" {
				t.Errorf("internal/store imports %s; it must import no internal package", dep)
			}
			if rel == "internal/event" {
				t.Errorf("internal/event imports %s; it must use only the standard library", dep)
			}
			lp, ld := layerOf(rel), layerOf(dep)
			if lp >= 0 && ld >= 0 && ld > lp && !strings.HasPrefix(dep, rel+"/") {
				t.Errorf("%s imports %s, a later layer (order: %s)", rel, dep, strings.Join(layers, " ← "))
			}
			if (strings.HasPrefix(rel, "internal/enrich") || strings.HasPrefix(rel, "internal/report")) &&
				(strings.HasPrefix(dep, "internal/server") || strings.HasPrefix(dep, "cmd/") || strings.HasPrefix(dep, "internal/track")) {
				t.Errorf("%s imports %s; enrich and report sit beside the chain and never import track, server or cmd", rel, dep)
			}
		}
		if rel != "internal/cluster" && rel != "cmd/pathlight" && !strings.HasSuffix(rel, "test") {
			for _, d := range p.Deps {
				if strings.HasPrefix(d, nats) {
					t.Errorf("%s depends on %s; only internal/cluster (and the command) may, even indirectly", rel, d)
					break
				}
			}
		}
		for _, d := range domain {
			if rel != d && !strings.HasPrefix(rel, d+"/") {
				continue
			}
			if strings.HasSuffix(rel, "test") { // test-support packages (geotest) may build fixtures
				continue
			}
			for _, bad := range []string{fasthttp, badger, "net/http"} {
				if slices.Contains(p.Deps, bad) {
					t.Errorf("%s depends on %s; domain packages must not, even indirectly", rel, bad)
				}
			}
		}
	}
}
