package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

const healthHelp = `Usage: cambmock health [flags]

Asks a running cambmock for its health and exits 0 if it answers ok, 1 if
not: for container health checks, where there is no curl.

Example:
  cambmock health --url http://127.0.0.1:8080/__admin/health
`

func health(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	fs := newFlags("health", healthHelp, stdout, getenv)
	url := fs.String("url", "CAMBMOCK_HEALTH_URL", "http://127.0.0.1:8080/__admin/health", "the health `URL` to ask")
	timeout := fs.Duration("timeout", "", 2*time.Second, "how long to wait for the answer")
	if err := fs.parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return usageError("health: --url %q: %v", *url, err)
	}
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&body) != nil || body.Status != "ok" {
		return fmt.Errorf("health: %s answered %d, not ok", *url, resp.StatusCode)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
