package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/cambmock/cambmock/examples/client"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
)

var errGaveUp = errors.New("gave up: 10 minutes of polling")

// outcome words how Generate ended.
func outcome(res *client.Result, err error) string {
	switch {
	case err == nil && res.Status == "SUCCESS" && strings.HasPrefix(string(res.Audio), "RIFF"):
		return "SUCCESS with audio"
	case errors.Is(err, errGaveUp):
		return "gave up"
	case errors.Is(err, client.ErrFailed):
		return "failed: " + res.Status
	case errors.Is(err, client.ErrUnknownStatus):
		return "stopped: unknown status " + res.Status
	case err != nil && strings.Contains(err.Error(), "without an integer run_id"):
		return "stopped: no run id"
	case err != nil && strings.Contains(err.Error(), ": HTTP 4"):
		i := strings.Index(err.Error(), ": HTTP 4")
		return "stopped: " + err.Error()[i+2:i+10]
	case err != nil:
		return "error: " + err.Error()
	}
	return "ended " + res.Status
}

// TestResilienceMatrix runs the example client against every built-in
// scenario of the mock and prints how it fared. It must survive them all:
// end on its own, with the outcome the scenario calls for.
func TestResilienceMatrix(t *testing.T) {
	want := map[string]string{
		"error":                        "failed: ERROR",
		"harmful-content":              "failed: ERROR",
		"unknown-reason":               "failed: ERROR",
		"timeout":                      "failed: TIMEOUT",
		"payment-required":             "failed: PAYMENT_REQUIRED",
		"stuck":                        "gave up",
		"drift-failed-status":          "stopped: unknown status FAILED",
		"drift-run-id-string":          "stopped: no run id",
		"drift-success-without-run-id": "stopped: no run id",
		"drift-undeclared-status":      "stopped: HTTP 409",
	}
	ts := mockservertest.NewTestServer(t)
	type row struct {
		scenario, got string
		polls         int
		ok            bool
		wall          time.Duration
	}
	rows := make(chan row, 64)
	t.Run("matrix", func(t *testing.T) {
		for _, sc := range ts.Server().Scenarios() {
			t.Run(sc.Name, func(t *testing.T) {
				t.Parallel()
				mock := mockservertest.NewTestServer(t, mockserver.WithDefaultScenario(sc.Name), mockserver.WithHangLimit(5*time.Second))
				var virtual time.Duration
				c := &client.Client{
					BaseURL: mock.BaseURL(),
					APIKey:  "any",
					HTTP:    &http.Client{Timeout: time.Second},
					Sleep: func(ctx context.Context, d time.Duration) error {
						if virtual += d; virtual > 10*time.Minute {
							return errGaveUp
						}
						mock.Advance(d)
						return nil
					},
				}
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				start := time.Now()
				res, err := c.Generate(ctx, "rain on a tin roof", 2)
				wall := time.Since(start)
				exp := want[sc.Name]
				if exp == "" {
					exp = "SUCCESS with audio"
				}
				got := outcome(res, err)
				rows <- row{sc.Name, got, res.Polls, got == exp, wall}
				if got != exp {
					t.Errorf("Generate() against %s = %q, want %q", sc.Name, got, exp)
				}
			})
		}
	})
	close(rows)
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tOUTCOME\tPOLLS\tSURVIVED\tWALL")
	for r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%v\t%v\n", r.scenario, r.got, r.polls, r.ok, r.wall.Round(time.Millisecond))
	}
	tw.Flush()
	t.Logf("resilience matrix of the example client:\n%s", b.String())
}
