package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// runHTTP serves h on ln until ctx ends, then drains in-flight requests
// for at most 5 seconds. beforeDrain, if set, runs as the drain begins.
func runHTTP(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger, writeTimeout time.Duration, beforeDrain func()) error {
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20, // beyond mockserver.MaxHeaderSize, so the mock answers 431 in JSON
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	logger.Info("cambmock shutting down; draining in-flight requests")
	if beforeDrain != nil {
		beforeDrain()
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		hs.Close()
		logger.Warn("cambmock closed connections still busy after 5s", "err", err)
	}
	logger.Info("cambmock stopped")
	return nil
}
