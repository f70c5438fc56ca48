package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// startPprof serves Go's profiles on addr (--pprof-addr), on a listener and mux of their own,
// so that nothing of them reaches the public listener. The command line is left out
// (/debug/pprof/cmdline): it would show --admin-token and --cluster-password when they are
// given as flags. It returns the address it listens on and a function that stops it.
func startPprof(addr string, log *slog.Logger) (string, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("--pprof-addr: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/debug/pprof/cmdline" {
			http.Error(w, "the command line is not served: it may hold secrets", http.StatusNotFound)
			return
		}
		pprof.Index(w, r) // the index, and heap, goroutine, allocs, block, mutex, threadcreate
	})
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof listener", "err", err)
		}
	}()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx) // a CPU profile or trace in progress is cut short
		_ = srv.Close()
	}
	return ln.Addr().String(), stop, nil
}
