package proxy_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock/contract"
	"github.com/cambmock/cambmock/contract/proxy"
)

// offSpecUpstream answers every status poll with 200 {"status":"FAILED"},
// a status openapi.yaml does not list.
func offSpecUpstream(t *testing.T) string {
	t.Helper()
	up := upstreamFunc(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"FAILED","run_id":null,"exception_reason":null,"message":"Sound generation failed."}`)
	})
	return up.URL + "/apis"
}

// TestViolationLoggedOnce polls an off-spec upstream 12 times through the
// proxy: each kind of violation is logged once, when first seen, and the
// summary logged at the end gives each with its count.
func TestViolationLoggedOnce(t *testing.T) {
	logger, logs := newLogger()
	p, ps := startProxy(t, offSpecUpstream(t), proxy.WithLogger(logger))
	for range 12 {
		if resp, body, err := get(t, ps.Client(), ps.URL+"/apis/text-to-sound/task-1"); err != nil || resp.StatusCode != 200 {
			t.Fatalf("poll: %d %s %v", resp.StatusCode, body, err)
		}
	}

	type line struct{ Check, Problem string }
	var logged []line
	for _, l := range withMsg(logs.lines(t), "violation") {
		if l["level"] != "WARN" {
			t.Errorf("violation logged at %v, not WARN: %v", l["level"], l)
		}
		logged = append(logged, line{fmt.Sprint(l["check"]), fmt.Sprint(l["problem"])})
	}
	var want []line
	for _, f := range p.Summary().Findings {
		want = append(want, line{f.Check, f.Problem})
		if f.Count != 12 {
			t.Errorf("finding %s: %s counted %d times; the upstream answered it 12 times", f.Check, f.Problem, f.Count)
		}
	}
	if len(want) == 0 || want[0].Check != contract.CheckStatusConforms {
		t.Fatalf("findings = %v; want a %s finding first", want, contract.CheckStatusConforms)
	}
	if diff := cmp.Diff(want, logged); diff != "" {
		t.Errorf("violation lines after 12 polls mismatch (-one per finding +logged):\n%s", diff)
	}

	p.LogSummary()
	type summaryLine struct {
		Check, Problem string
		Count          float64
	}
	var got, wantSummary []summaryLine
	for _, l := range withMsg(logs.lines(t), "violation summary") {
		got = append(got, summaryLine{fmt.Sprint(l["check"]), fmt.Sprint(l["problem"]), l["count"].(float64)})
	}
	for _, w := range want {
		wantSummary = append(wantSummary, summaryLine{w.Check, w.Problem, 12})
	}
	if diff := cmp.Diff(wantSummary, got); diff != "" {
		t.Errorf("LogSummary lines mismatch (-want +got):\n%s", diff)
	}
}
