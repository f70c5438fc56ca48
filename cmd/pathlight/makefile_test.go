package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// make run listens where ADDR=… on the command line says, else where PATHLIGHT_ADDR says (the
// variable `pathlight serve` itself reads), else on 127.0.0.1:8080.
func TestMakeRunAddress(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed, so the Makefile cannot be asked what it would run")
	}
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"default", nil, nil, "127.0.0.1:8080"},
		{"PATHLIGHT_ADDR", []string{"PATHLIGHT_ADDR=127.0.0.1:18080"}, nil, "127.0.0.1:18080"},
		{"ADDR beats PATHLIGHT_ADDR", []string{"PATHLIGHT_ADDR=127.0.0.1:18080"}, []string{"ADDR=0.0.0.0:9090"}, "0.0.0.0:9090"},
		{"ADDR alone", nil, []string{"ADDR=127.0.0.1:9091"}, "127.0.0.1:9091"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("make", append([]string{"-s", "-n", "-C", filepath.Join("..", ".."), "run"}, tt.args...)...)
			cmd.Env = append(cleanEnv(), tt.env...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("make -n run: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), " serve --demo --addr "+tt.want+" --data ./data --rules ./rules") {
				t.Errorf("make -n run printed %q; want --addr %s", out, tt.want)
			}
		})
	}
}

// make run keeps its data and reads its rules where DATA=/RULES= on the command line say,
// else where PATHLIGHT_DATA/PATHLIGHT_RULES say, else in ./data and ./rules.
func TestMakeRunDataAndRules(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed, so the Makefile cannot be asked what it would run")
	}
	tests := []struct {
		name       string
		env, args  []string
		data, rule string
	}{
		{"default", nil, nil, "./data", "./rules"},
		{"environment", []string{"PATHLIGHT_DATA=/srv/pl", "PATHLIGHT_RULES=/etc/pl"}, nil, "/srv/pl", "/etc/pl"},
		{"command line beats environment", []string{"PATHLIGHT_DATA=/srv/pl"}, []string{"DATA=/tmp/d", "RULES=/tmp/r"}, "/tmp/d", "/tmp/r"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("make", append([]string{"-s", "-n", "-C", filepath.Join("..", ".."), "run"}, tt.args...)...)
			cmd.Env = append(cleanEnv(), tt.env...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("make -n run: %v\n%s", err, out)
			}
			if want := " --data " + tt.data + " --rules " + tt.rule; !strings.Contains(string(out), want) {
				t.Errorf("make -n run printed %q; want %q", out, want)
			}
		})
	}
}

// cleanEnv is the process environment without the variables that would steer make run.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "ADDR", "PATHLIGHT_ADDR", "DATA", "PATHLIGHT_DATA", "RULES", "PATHLIGHT_RULES",
			"MAKEFLAGS", "MAKELEVEL", "MFLAGS":
			continue
		}
		env = append(env, kv)
	}
	return env
}
