//go:build pgoprofile

package main

// Built with -tags pgoprofile (bench/pgo.sh does), cambmock serves
// net/http/pprof on CAMBMOCK_PPROF_ADDR (127.0.0.1:6061 by default), so
// that a CPU profile of serve under load can be taken for default.pgo.
// The binary built without the tag has none of it.

import (
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	addr := os.Getenv("CAMBMOCK_PPROF_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6061"
	}
	go func() {
		err := http.ListenAndServe(addr, nil)
		slog.Error("pprof server stopped", "addr", addr, "err", err)
	}()
}
