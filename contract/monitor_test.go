package contract_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/cambmock/cambmock/contract"
	"github.com/cambmock/cambmock/contract/proxy"
)

// echoKey is an API key with characters that URL-encoding and JSON
// escape, so that each form of it can be looked for.
const echoKey = "sk-live/Echo+Key&<9f3e>"

// keyForms returns the ways a key can appear in text.
func keyForms(key string) []string {
	js, _ := json.Marshal(key)
	return []string{key, url.QueryEscape(key), url.PathEscape(key), strings.Trim(string(js), `"`), strings.ToLower(url.QueryEscape(key))}
}

// TestMonitorScrubsKey puts cambmock proxy in front of an upstream that
// echoes the request's key everywhere it can (a status, a field name, a
// message, a Retry-After, a Location), over real HTTP: the findings name
// the right checks, and neither the summary nor the answers to the client's
// findings hold any copy of the key, nor of a key given in a query
// parameter spelt x%2Dapi%2Dkey.
func TestMonitorScrubsKey(t *testing.T) {
	t.Parallel()
	const queryKey = "sk-query-secret-5521"
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("X-Api-Key") + r.URL.Query().Get("x-api-key")
		rel := strings.TrimPrefix(r.URL.Path, "/apis")
		w.Header().Set("Content-Type", "application/json")
		switch {
		case rel == "/text-to-sound/limited":
			w.Header().Set("Retry-After", "soon "+key)
			w.WriteHeader(http.StatusTooManyRequests)
			json.NewEncoder(w).Encode(map[string]any{"detail": "slow down, " + key})
		case rel == "/text-to-sound/moved":
			w.Header().Set("Location", "http://elsewhere.example/"+url.PathEscape(key)+"?k="+url.QueryEscape(key))
			w.WriteHeader(http.StatusFound)
		case strings.HasPrefix(rel, "/text-to-sound/"):
			json.NewEncoder(w).Encode(map[string]any{"status": key, "run_id": nil, key: 1, "message": "your key is " + key})
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"detail": "no route; key %s"}`, key)
		}
	}))
	t.Cleanup(upstream.Close)
	p, err := proxy.New(upstream.URL + "/apis")
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(p)
	t.Cleanup(front.Close)

	get := func(path, key string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, front.URL+path, nil)
		if key != "" {
			req.Header.Set("X-Api-Key", key)
		}
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get("/apis/text-to-sound/task-1", echoKey)
	get("/apis/text-to-sound/limited", echoKey)
	get("/apis/text-to-sound/moved", echoKey)
	get("/apis/"+url.PathEscape(echoKey)+"/odd", echoKey)
	get("/apis/text-to-sound/task-2?x%2Dapi%2Dkey="+queryKey, "")
	get("/apis/odd-3?X%2DAPI%2DKey="+queryKey+"&t="+queryKey, echoKey)

	resp, err := http.Get(front.URL + "/__admin/violations")
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	kept, _ := json.Marshal(p.Summary())
	for _, text := range []string{string(served), string(kept)} {
		for _, form := range append(keyForms(echoKey), keyForms(queryKey)...) {
			if strings.Contains(text, form) {
				t.Errorf("the summary holds the key as %q:\n%s", form, text)
			}
		}
	}

	var checks []string
	for _, f := range p.Summary().Findings {
		if !slices.Contains(checks, f.Check) {
			checks = append(checks, f.Check)
		}
	}
	slices.Sort(checks)
	for _, want := range []string{contract.CheckRequestConforms, contract.CheckRetryAfter, contract.CheckStatusConforms} {
		if !slices.Contains(checks, want) {
			t.Errorf("the summary's findings name checks %v; want %s among them", checks, want)
		}
	}
	for _, want := range []string{"x-api-key=[redacted]", "X-API-Key=[redacted]"} {
		if !strings.Contains(string(served), want) {
			t.Errorf("the summary does not show a query parameter as %s:\n%s", want, served)
		}
	}
}

// TestMonitorBounded feeds a Monitor 100,000 distinct odd paths, and
// status answers with 10,000 distinct statuses and field names: what it
// keeps stays bounded (its Summary's JSON under 256 KB) and says how much
// it dropped.
func TestMonitorBounded(t *testing.T) {
	t.Parallel()
	m, err := contract.NewMonitor(nil)
	if err != nil {
		t.Fatal(err)
	}
	const key = "sk-bounded-test-71c3"
	for i := range 100_000 {
		rel := fmt.Sprintf("/odd/path-%d", i)
		m.Request(apiRequest(rel, key), rel, nil)
	}
	header := http.Header{"Content-Type": {"application/json"}}
	const n = 10_000
	for i := range n {
		rel := fmt.Sprintf("/text-to-sound/task-%d", i)
		req := apiRequest(rel, key)
		body, _ := json.Marshal(map[string]any{"status": fmt.Sprintf("ODD_%d", i), "run_id": nil, fmt.Sprintf("field_%d", i): true})
		m.Response(req, rel, http.StatusOK, header, body)
	}
	s := m.Summary()
	data, _ := json.Marshal(s)
	if len(data) >= 256<<10 {
		t.Errorf("the summary's JSON is %d bytes; want under 256 KB", len(data))
	}
	if s.Requests != 100_000 || s.Responses != n {
		t.Errorf("the summary counts %d requests, %d responses; want 100000, %d", s.Requests, s.Responses, n)
	}
	// 50 odd paths are kept, which leaves room for the upstream's violation.
	var kept []string
	for _, f := range s.Findings {
		kept = append(kept, f.Check)
	}
	kept = slices.Compact(kept)
	if len(s.Findings) != 51 || s.DroppedFindings != 100_000-50 || !slices.Equal(kept, []string{contract.CheckRequestConforms, contract.CheckStatusConforms}) {
		t.Errorf("the summary keeps %d findings of checks %v and drops %d; want 50 of request-conforms and 1 of status-conforms, %d dropped",
			len(s.Findings), kept, s.DroppedFindings, 100_000-50)
	}
	// Of the fields, status and run_id are among the 100 kept.
	wantDropped := map[string]int{"statuses": n - 100, "fields": n - 98, "warnings": 2*n - 200}
	for what, n := range wantDropped {
		if s.Drift.Dropped[what] != n {
			t.Errorf("Drift.Dropped[%q] = %d; want %d (all of %v)", what, s.Drift.Dropped[what], n, s.Drift.Dropped)
		}
	}
	if len(s.Drift.Statuses) != 100 || len(s.Drift.Warnings) != 200 {
		t.Errorf("the drift keeps %d statuses and %d warnings; want 100 and 200", len(s.Drift.Statuses), len(s.Drift.Warnings))
	}
}

// TestMonitorBoundedLongValues feeds a Monitor odd values of 2 KB each
// (paths, statuses, field names, content types): each is kept cut short,
// and the Summary's JSON stays under 1 MB.
func TestMonitorBoundedLongValues(t *testing.T) {
	t.Parallel()
	m, err := contract.NewMonitor(nil)
	if err != nil {
		t.Fatal(err)
	}
	long := func(i int) string { return fmt.Sprintf("%d-%s", i, strings.Repeat("x", 2_000)) }
	for i := range 150 {
		rel := "/" + long(i)
		m.Request(apiRequest(rel, ""), rel, nil)
		rel = fmt.Sprintf("/text-to-sound/%s", long(i))
		req := apiRequest(rel, "")
		body, _ := json.Marshal(map[string]any{"status": long(i), "run_id": nil, long(i): true, "message": long(i)})
		m.Response(req, rel, http.StatusOK, http.Header{"Content-Type": {"application/json; x=" + long(i)}}, body)
		m.Response(req, rel, http.StatusTooManyRequests, http.Header{"Retry-After": {long(i)}, "Content-Type": {"application/json"}}, body)
	}
	data, _ := json.Marshal(m.Summary())
	if len(data) >= 1<<20 {
		t.Errorf("the summary's JSON is %d bytes; want under 1 MB", len(data))
	}
}

// apiRequest is a GET of rel under /apis, as a proxy hands it to a
// Monitor, with key in x-api-key unless it is "".
func apiRequest(rel, key string) *http.Request {
	req := &http.Request{Method: http.MethodGet, URL: &url.URL{Scheme: "http", Host: "127.0.0.1:8081", Path: "/apis" + rel}, Header: http.Header{}}
	if key != "" {
		req.Header.Set("X-Api-Key", key)
	}
	return req
}
