package mockserver_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
	"github.com/cambmock/cambmock/scenarios"
)

// strictMark starts the body of the 500 a strict server answers in place
// of a response that violates openapi.yaml.
const strictMark = `{"detail":"cambmock --strict:`

// withoutLatency returns a copy of sc that answers at once.
func withoutLatency(sc *scenarios.Scenario) *scenarios.Scenario {
	c := *sc
	for _, s := range []*scenarios.Script{&c.Create, &c.Poll, &c.Result} {
		*s = slices.Clone(*s)
		for i := range *s {
			(*s)[i].Latency = scenarios.Latency{}
		}
	}
	return &c
}

// TestStrictOnSpecScenarios follows every on-spec built-in scenario through
// on a strict server (as NewTestServer starts one): creates, polls while
// the clock moves, results, file URLs and the bulk endpoint, and the
// errors around them. None may be answered with a strict 500, and the
// server must log no violation.
func TestStrictOnSpecScenarios(t *testing.T) {
	var onSpec []*scenarios.Scenario
	for _, sc := range mockservertest.NewTestServer(t).Server().Scenarios() {
		if !sc.OffSpec {
			onSpec = append(onSpec, withoutLatency(sc))
		}
	}
	if len(onSpec) < 15 {
		t.Fatalf("only %d on-spec built-in scenarios; the test would prove little", len(onSpec))
	}
	var logged lockedBuffer
	ts := mockservertest.NewTestServer(t, mockserver.WithoutBuiltins(), mockserver.WithScenarios(onSpec...),
		mockserver.WithLogger(slog.New(slog.NewJSONHandler(&logged, &slog.HandlerOptions{Level: slog.LevelError}))))
	c := noKeepAlive(t)
	answers := 0
	check := func(sc string, r req) answer {
		t.Helper()
		a, err := send(t.Context(), c, ts.URL, r)
		if err != nil {
			if _, err := classify(err); err != nil {
				t.Errorf("%s: %s %s: %v", sc, r.Method, r.Path, err)
			}
			return a
		}
		answers++
		if a.Code == http.StatusInternalServerError && strings.HasPrefix(string(a.Body), strictMark) {
			t.Errorf("%s: %s %s: a strict 500: %s", sc, r.Method, r.Path, a.Body)
		}
		return a
	}
	for _, sc := range onSpec {
		h := map[string][]string{mockserver.ScenarioHeader: {sc.Name}}
		var id string
		for range len(sc.Create) + 1 {
			a := check(sc.Name, req{Method: "POST", Path: "/apis/text-to-sound", Body: `{"prompt":"rain","duration":1.5}`, Header: h})
			if a.Code == http.StatusOK {
				id = taskID(t, a)
				break
			}
		}
		if id == "" {
			t.Errorf("%s: no create request made a task", sc.Name)
			continue
		}
		for range 2*len(sc.Poll) + 3 {
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond) // ends a hang
			if a, err := send(ctx, c, ts.URL, req{Method: "GET", Path: "/apis/text-to-sound/" + id + "?run_id=7"}); err == nil {
				answers++
				if a.Code == http.StatusInternalServerError && strings.HasPrefix(string(a.Body), strictMark) {
					t.Errorf("%s: poll: a strict 500: %s", sc.Name, a.Body)
				}
			}
			cancel()
			ts.Advance(3 * time.Second)
		}
		run := strconv.FormatInt(ts.Task(id).Info().RunID, 10)
		for range len(sc.Result) + 1 {
			check(sc.Name, req{Method: "GET", Path: "/apis/text-to-sound-result/" + run})
		}
		check(sc.Name, req{Method: "GET", Path: "/apis/text-to-sound-result/" + run + "?output_type=FILE_URL"})
		check(sc.Name, req{Method: "GET", Path: "/apis/text-to-sound-result/" + run + "?output_type=RAW_BYTES"})
		check(sc.Name, req{Method: "POST", Path: "/apis/text-to-sound-results", Body: `{"run_ids":[` + run + `,2,3]}`})
	}
	// The errors every endpoint answers, which no scenario scripts.
	for _, r := range []req{
		{Method: "GET", Path: "/apis/text-to-sound/no-such-task"},
		{Method: "GET", Path: "/apis/text-to-sound/no-such-task?run_id=x"},
		{Method: "GET", Path: "/apis/text-to-sound-result/1"},
		{Method: "GET", Path: "/apis/text-to-sound-result/x"},
		{Method: "GET", Path: "/apis/text-to-sound-result/1?output_type=x"},
		{Method: "POST", Path: "/apis/text-to-sound", Body: `{}`},
		{Method: "POST", Path: "/apis/text-to-sound", Body: `{"prompt":"x"}`, Header: map[string][]string{mockserver.ScenarioHeader: {"nope"}}},
		{Method: "POST", Path: "/apis/text-to-sound", Body: `{"prompt":"x"}`, Header: map[string][]string{"X-Api-Key": nil}},
		{Method: "POST", Path: "/apis/text-to-sound-results", Body: `{"run_ids":[]}`},
	} {
		check("no scenario", r)
	}
	if got := logged.String(); got != "" {
		t.Errorf("the strict server logged violations:\n%s", got)
	}
	t.Logf("%d answers checked", answers)
}

// TestNewRefusesOffSpecGoScenario shows that New checks an on-spec
// scenario built in Go against openapi.yaml, as loading checks a file, and
// refuses one that serves what the spec forbids unless it is marked
// off-spec.
func TestNewRefusesOffSpecGoScenario(t *testing.T) {
	spec, err := cambmock.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	success := scenarios.Step{Reply: &scenarios.Reply{Status: cambmock.StatusSuccess, RunID: scenarios.RunID{Auto: true}}}
	jsonHeader := map[string][]string{"Content-Type": {jsonType}}
	// A scenario built in Go has no file to name: the message starts at
	// the step.
	const fix = `; fix the step, or mark the scenario "off_spec: true"`
	tests := []struct {
		name string
		sc   *scenarios.Scenario
		want string
	}{
		{
			name: "status FAILED",
			sc:   &scenarios.Scenario{Name: "failed", Poll: scenarios.Script{{Reply: &scenarios.Reply{Status: cambmock.StatusFailed}}}},
			want: `mockserver: scenario "failed": poll step 1: unknown status "FAILED"; openapi.yaml declares SUCCESS, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED; mark the scenario "off_spec: true" to serve it anyway`,
		},
		{
			name: "429 without Retry-After",
			sc: &scenarios.Scenario{Name: "no-retry-after", Poll: scenarios.Script{
				{Polls: 1, Error: &scenarios.HTTPError{Code: 429, Header: jsonHeader, Body: `{"detail":"Too many requests"}`}}, success}},
			want: `mockserver: scenario "no-retry-after": poll step 1 violates openapi.yaml: header "Retry-After" missing` + fix,
		},
		{
			name: "SUCCESS without a run id",
			sc:   &scenarios.Scenario{Name: "no-run", Poll: scenarios.Script{{Reply: &scenarios.Reply{Status: cambmock.StatusSuccess}}}},
			want: `mockserver: scenario "no-run": poll step 1 violates openapi.yaml: SUCCESS without an integer run_id: the client has no result to fetch` + fix,
		},
		{
			name: "malformed JSON",
			sc: &scenarios.Scenario{Name: "malformed", Poll: scenarios.Script{
				{Polls: 1, Fault: scenarios.FaultMalformedJSON}, success}},
			want: `mockserver: scenario "malformed": poll step 1 violates openapi.yaml: a 200 answer whose body is not valid JSON` + fix,
		},
		{
			name: "undeclared status on create",
			sc: &scenarios.Scenario{Name: "teapot", Poll: scenarios.Script{success},
				Create: scenarios.Script{{Polls: 1, Error: &scenarios.HTTPError{Code: 418, Header: jsonHeader, Body: `{"detail":"I'm a teapot"}`}}}},
			want: `mockserver: scenario "teapot": create step 1 violates openapi.yaml: status 418 is not declared for this operation` + fix,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.sc.Description = "built in Go"
			srv, err := mockserver.New(mockserver.WithSpec(spec), mockserver.WithScenarios(tc.sc))
			if err == nil {
				t.Fatalf("New(WithScenarios(%s)) = %v, nil; want an error", tc.sc.Name, srv)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("New(WithScenarios(%s)) error mismatch:\n got: %s\nwant: %s", tc.sc.Name, got, tc.want)
			}
			var le *scenarios.LoadError
			if !errors.As(err, &le) {
				t.Errorf("New(WithScenarios(%s)) error %T does not wrap a *scenarios.LoadError", tc.sc.Name, err)
			}

			// Marked off-spec, the scenario is accepted.
			tc.sc.OffSpec = true
			if _, err := mockserver.New(mockserver.WithSpec(spec), mockserver.WithScenarios(tc.sc)); err != nil {
				t.Errorf("New(WithScenarios(%s marked off-spec)): %v", tc.sc.Name, err)
			}
		})
	}
}

// TestStrictCatchesViolations runs servers whose spec (given with
// WithSpec) forbids what the mock serves: a strict server answers a 500
// naming the violation and logs it, a server that is not strict serves the
// answer as it is. This is the only way through the public API to make the
// mock's own answers violate its spec, since New checks every on-spec
// scenario.
func TestStrictCatchesViolations(t *testing.T) {
	orig := string(cambmock.SpecYAML())
	edit := func(t *testing.T, old, new string, n int) *cambmock.Spec {
		t.Helper()
		if got := strings.Count(orig, old); got != n {
			t.Fatalf("openapi.yaml holds %q %d times, want %d", old, got, n)
		}
		spec, err := cambmock.ParseSpec([]byte(strings.ReplaceAll(orig, old, new)))
		if err != nil {
			t.Fatalf("the edited openapi.yaml: %v", err)
		}
		return spec
	}
	tests := []struct {
		name       string
		spec       func(t *testing.T) *cambmock.Spec
		req        func(t *testing.T, ts *mockservertest.TestServer) req
		wantCode   int    // what a server that is not strict answers
		wantDetail string // the strict 500's detail
		wantLog    string // the violation its log line names
		op         string // the operation it names
	}{
		{
			name: "404 not declared",
			spec: func(t *testing.T) *cambmock.Spec {
				return edit(t, "        '404':\n          $ref: '#/components/responses/NotFound'\n", "", 15)
			},
			req: func(*testing.T, *mockservertest.TestServer) req {
				return req{Method: "GET", Path: "/apis/text-to-sound/no-such-task"}
			},
			wantCode:   404,
			wantDetail: "cambmock --strict: the mock's 404 answer violates the spec: status 404 is not declared for this operation",
			wantLog:    "status 404 is not declared for this operation",
			op:         "getTextToSoundStatus",
		},
	}
	done := &scenarios.Scenario{Name: "done", Description: "SUCCESS at once",
		Poll: scenarios.Script{{Reply: &scenarios.Reply{Status: cambmock.StatusSuccess, RunID: scenarios.RunID{Auto: true}}}}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := tc.spec(t)
			for _, strict := range []bool{false, true} {
				var logged lockedBuffer
				ts := mockservertest.NewTestServer(t, mockserver.WithSpec(spec), mockserver.WithoutBuiltins(),
					mockserver.WithScenarios(done), mockserver.WithDefaultScenario("done"), mockserver.WithStrict(strict),
					mockserver.WithLogger(slog.New(slog.NewJSONHandler(&logged, &slog.HandlerOptions{
						Level:       slog.LevelError,
						ReplaceAttr: dropTime,
					}))))
				r := tc.req(t, ts)
				a := mustSend(t, ts.Client(), ts.URL, r)
				if !strict {
					if a.Code != tc.wantCode {
						t.Errorf("not strict: %s %s: got %d %.200s, want %d", r.Method, r.Path, a.Code, a.Body, tc.wantCode)
					}
					if got := logged.String(); got != "" {
						t.Errorf("not strict: the server logged %s", got)
					}
					continue
				}
				checkAnswer(t, r, a, wantAnswer{500, detail(tc.wantDetail)})
				wantLine := `{"level":"ERROR","msg":"strict: the mock's own response violates the spec","method":"` + r.Method +
					`","path":"` + r.Path + `","operation":"` + tc.op + `","status":` + strconv.Itoa(tc.wantCode) + `,"violation":` + strconv.Quote(tc.wantLog) + "}\n"
				if diff := cmp.Diff(wantLine, logged.String()); diff != "" {
					t.Errorf("strict log mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// dropTime drops the time of log lines, so tests can compare them.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
