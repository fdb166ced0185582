package mockserver_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
	"github.com/cambmock/cambmock/scenarios"
)

// step is one poll of a scenario test: how far to move the manual clock
// before it, and what the client should see.
type step struct {
	advance time.Duration
	want    seen
}

// poll is a step without a clock move.
func poll(want seen) step { return step{want: want} }

// after is a step after moving the clock by d.
func after(d time.Duration, want seen) step { return step{advance: d, want: want} }

// e2eCase is how a client sees one built-in scenario, from the create
// request to the audio.
type e2eCase struct {
	reason  string
	creates []seen        // the create requests until one makes the task; default: one 200
	polls   []step        // the polls, in order
	results []seen        // the RAW_BYTES result requests, in order
	timeout time.Duration // how long a request may take; default 10s
}

// soundLen is the duration every scenario test asks for.
const soundLen = 2 * time.Second

var (
	created  = seen{Code: 200, Type: jsonType}
	pending  = status("PENDING")
	audio    = seen{Code: 200, Type: wavType}
	noResult = httpError(404, jsonType, "")
)

// e2eCases holds a case for every built-in scenario; TestScenarios fails
// for a built-in without one.
var e2eCases = map[string]e2eCase{
	"success": {
		polls:   []step{poll(pending), poll(pending), poll(success()), poll(success())},
		results: []seen{audio},
	},
	"slow-success": {
		reason:  "PENDING until the clock has moved 10s since the create, whatever the polls",
		polls:   []step{poll(pending), after(9999*time.Millisecond, pending), poll(pending), after(time.Millisecond, success()), poll(success())},
		results: []seen{audio},
	},
	"error": {
		polls: []step{poll(pending),
			poll(failed("ERROR", `"PROCESSING_ERROR"`, `"The audio could not be generated."`)),
			poll(failed("ERROR", `"PROCESSING_ERROR"`, `"The audio could not be generated."`))},
		results: []seen{noResult},
	},
	"harmful-content": {
		polls: []step{
			poll(failed("ERROR", `"HARMFUL_CONTENT_DETECTED"`, `"The prompt was flagged by content moderation."`)),
			after(time.Hour, failed("ERROR", `"HARMFUL_CONTENT_DETECTED"`, `"The prompt was flagged by content moderation."`))},
		results: []seen{noResult},
	},
	"timeout": {
		polls: []step{poll(pending), poll(pending), poll(pending),
			poll(failed("TIMEOUT", `"INTERNAL_ERROR"`, `"The task did not finish in time."`)),
			poll(failed("TIMEOUT", `"INTERNAL_ERROR"`, `"The task did not finish in time."`))},
		results: []seen{noResult},
	},
	"payment-required": {
		polls: []step{
			poll(failed("PAYMENT_REQUIRED", `"PAYMENT_REQUIRED"`, `"Not enough credits for this task."`)),
			poll(failed("PAYMENT_REQUIRED", `"PAYMENT_REQUIRED"`, `"Not enough credits for this task."`))},
		results: []seen{noResult},
	},
	"unknown-reason": {
		polls: []step{poll(pending),
			poll(failed("ERROR", `"GPU_QUOTA_EXCEEDED"`, `"No capacity left."`)),
			poll(failed("ERROR", `"GPU_QUOTA_EXCEEDED"`, `"No capacity left."`))},
		results: []seen{noResult},
	},
	"extra-fields": {
		polls: []step{
			poll(withExtra(pending, "progress")),
			poll(withExtra(success(), "output_url", "progress")),
			poll(withExtra(success(), "output_url", "progress"))},
		results: []seen{audio},
	},
	"rate-limited": {
		polls: []step{poll(httpError(429, jsonType, "1")), poll(httpError(429, jsonType, "1")),
			poll(pending), poll(success())},
		results: []seen{audio},
	},
	"server-error": {
		polls: []step{poll(httpError(500, jsonType, "")), poll(httpError(503, htmlType, "")),
			poll(pending), poll(success())},
		results: []seen{audio},
	},
	"maintenance": {
		reason: "503 for the first 5s of the clock, however often polled",
		polls: []step{poll(httpError(503, jsonType, "2")), after(2*time.Second, httpError(503, jsonType, "2")),
			after(2999*time.Millisecond, httpError(503, jsonType, "2")),
			after(time.Millisecond, pending), poll(success())},
		results: []seen{audio},
	},
	"stuck": {
		polls:   []step{poll(pending), after(time.Hour, pending), after(24*time.Hour, pending)},
		results: []seen{noResult},
	},
	"create-rate-limited": {
		reason:  "the first create request gets 429 and makes no task; the retry makes it",
		creates: []seen{httpError(429, jsonType, "1"), created},
		polls:   []step{poll(pending), poll(success())},
		results: []seen{audio},
	},
	"connection-reset": {
		polls:   []step{poll(pending), poll(fault(scenarios.FaultReset)), poll(success())},
		results: []seen{audio},
	},
	"empty-response": {
		polls:   []step{poll(fault(scenarios.FaultEmpty)), poll(pending), poll(success())},
		results: []seen{audio},
	},
	"hang": {
		reason:  "the first poll is held until the client's deadline",
		timeout: 150 * time.Millisecond,
		polls:   []step{poll(fault(scenarios.FaultHang)), poll(success())},
		results: []seen{audio},
	},
	"slow-poll": {
		polls:   []step{poll(pending), poll(pending), poll(success())},
		results: []seen{audio},
	},
	"jittery": {
		polls:   []step{poll(pending), poll(pending), poll(pending), poll(success())},
		results: []seen{audio},
	},
	"result-server-error": {
		polls:   []step{poll(success())},
		results: []seen{httpError(500, jsonType, ""), audio},
	},
	"result-truncated": {
		polls:   []step{poll(success())},
		results: []seen{{Code: 200, Type: wavType, Fault: scenarios.FaultTruncated}, audio},
	},
	"malformed-json": {
		polls:   []step{poll(pending), poll(fault(scenarios.FaultMalformedJSON)), poll(success())},
		results: []seen{audio},
	},
	"drift-failed-status": {
		polls: []step{poll(pending),
			poll(failed("FAILED", "null", `"Sound generation failed."`)),
			poll(failed("FAILED", "null", `"Sound generation failed."`))},
		results: []seen{noResult},
	},
	"drift-html-error": {
		polls:   []step{poll(httpError(500, htmlType, "")), poll(success())},
		results: []seen{audio},
	},
	"drift-missing-retry-after": {
		polls:   []step{poll(httpError(429, jsonType, "")), poll(success())},
		results: []seen{audio},
	},
	"drift-run-id-string": {
		reason: "a run id the client cannot use: the task's own run has no result",
		polls: []step{poll(pending),
			poll(func() seen { s := status("SUCCESS"); s.RunID = `"1001"`; return s }())},
		results: []seen{noResult},
	},
	"drift-success-without-run-id": {
		polls:   []step{poll(pending), poll(status("SUCCESS")), poll(status("SUCCESS"))},
		results: []seen{noResult},
	},
	"drift-terminal-regress": {
		reason:  "SUCCESS once, then PENDING again; the result of the SUCCESS stays",
		polls:   []step{poll(pending), poll(success()), poll(pending), poll(pending)},
		results: []seen{audio},
	},
	"drift-undeclared-status": {
		polls:   []step{poll(httpError(409, jsonType, "")), poll(success())},
		results: []seen{audio},
	},
}

func withExtra(s seen, keys ...string) seen {
	s.Extra = keys
	return s
}

// target is a mock a scenario test plays against: a TestServer on a port,
// or a server that Intercept wired into a client.
type target struct {
	root    string // URL without /apis
	client  *http.Client
	srv     *mockserver.Server
	advance func(time.Duration)
}

// onPort returns the target of a test server, with a client that opens a
// connection per request.
func onPort(t *testing.T, ts *mockservertest.TestServer) target {
	return target{root: ts.URL, client: noKeepAlive(t), srv: ts.Server(), advance: ts.Advance}
}

// TestScenarios plays every built-in scenario end to end over HTTP, as a
// client sees it: the create requests, every poll with the clock moved
// between them as the case says, the result requests, then the audio by
// RAW_BYTES, by FILE_URL and by the bulk endpoint.
func TestScenarios(t *testing.T) {
	t.Parallel()
	first := mockservertest.NewTestServer(t)
	spec, builtins := first.Server().Spec(), first.Server().Scenarios()
	names := map[string]bool{}
	for _, sc := range builtins {
		names[sc.Name] = true
		if _, ok := e2eCases[sc.Name]; !ok {
			t.Errorf("the built-in scenario %q has no case in e2eCases; add one", sc.Name)
		}
	}
	for name := range e2eCases {
		if !names[name] {
			t.Errorf("e2eCases has a case for %q, which is no built-in scenario", name)
		}
	}
	for _, sc := range builtins {
		tc, ok := e2eCases[sc.Name]
		if !ok {
			continue
		}
		t.Run(sc.Name, func(t *testing.T) {
			if hasLatency(sc.Poll) {
				t.Parallel() // they wait for real
			}
			playCase(t, onPort(t, mockservertest.NewTestServer(t, mockserver.WithSpec(spec))), sc, tc)
		})
	}
}

func hasLatency(s scenarios.Script) bool {
	for _, st := range s {
		if st.Latency != (scenarios.Latency{}) {
			return true
		}
	}
	return false
}

// info returns a snapshot of a task of tg.
func (tg target) info(t *testing.T, id string) mockserver.TaskInfo {
	t.Helper()
	task, err := tg.srv.Task(id)
	if err != nil {
		t.Fatal(err)
	}
	return task.Info()
}

func playCase(t *testing.T, tg target, sc *scenarios.Scenario, tc e2eCase) {
	c := tg.client
	timeout := tc.timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}

	// Create the task, retrying as a client would.
	wantCreates := tc.creates
	if wantCreates == nil {
		wantCreates = []seen{created}
	}
	var (
		gotCreates []seen
		id         string
	)
	for range wantCreates {
		a, err := send(t.Context(), c, tg.root, req{Method: "POST", Path: "/apis/text-to-sound",
			Body:   `{"prompt":"rain on a tin roof","duration":2}`,
			Header: map[string][]string{mockserver.ScenarioHeader: {sc.Name}}})
		s, err := see(a, err)
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		gotCreates = append(gotCreates, s)
		if a.Code == http.StatusOK {
			id = taskID(t, a)
		}
	}
	if diff := cmp.Diff(wantCreates, gotCreates); diff != "" {
		t.Fatalf("create requests mismatch (-want +got):\n%s", diff)
	}
	runID := tg.info(t, id).RunID
	run := strconv.FormatInt(runID, 10)

	// Poll, moving the clock as the case says; each poll takes at least
	// the latency its step draws.
	var (
		want, got []seen
		pos       scenarios.Position
		elapsed   time.Duration
	)
	for n, p := range tc.polls {
		if p.advance > 0 {
			tg.advance(p.advance)
			elapsed += p.advance
		}
		st, next, _ := sc.Poll.At(pos, elapsed)
		pos = next
		latency := st.Latency.Draw(sc.LatencySeed("poll", n))

		s, err := pollTask(t.Context(), c, tg.root, id, timeout)
		if err != nil {
			t.Fatalf("poll %d: %v", n+1, err)
		}
		// On the manual clock a latency does not wait: the history
		// records the answer as sent that much later.
		if h := tg.info(t, id).History; len(h) > 0 {
			if last := h[len(h)-1]; time.Duration(last.Sent-last.At) != latency && st.Fault == "" {
				t.Errorf("poll %d: the history has it sent %v after it came, want its latency of %v", n+1, time.Duration(last.Sent-last.At), latency)
			}
		}
		w := p.want
		if w.RunID == runIDPlaceholder {
			w.RunID = run
		}
		want, got = append(want, w), append(got, s)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("polls of task %s mismatch (-want +got):\n%s", id, diff)
	}
	// A poll the client gave up on is answered when the server notices:
	// wait for that rather than race it.
	task, _ := tg.srv.Task(id)
	wctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	if err := task.WaitForPolls(wctx, len(tc.polls)); err != nil {
		t.Errorf("Task(%s): %v", id, err)
	}
	cancel()
	if info := tg.info(t, id); info.Polls != len(tc.polls) {
		t.Errorf("Task(%s).Info().Polls = %d, want %d", id, info.Polls, len(tc.polls))
	}

	// Fetch the result as often as the case says; the last 200 is the audio.
	var (
		gotResults []seen
		wav        []byte
	)
	for range tc.results {
		a, err := send(t.Context(), c, tg.root, req{Method: "GET", Path: "/apis/text-to-sound-result/" + run})
		s, err := see(a, err)
		if err != nil {
			t.Fatalf("result: %v", err)
		}
		gotResults = append(gotResults, s)
		if s.Code == http.StatusOK && s.Fault == "" {
			wav = a.Body
		}
	}
	if diff := cmp.Diff(tc.results, gotResults); diff != "" {
		t.Errorf("result requests for run %s mismatch (-want +got):\n%s", run, diff)
	}

	fileURL := mustSend(t, c, tg.root, req{Method: "GET", Path: "/apis/text-to-sound-result/" + run + "?output_type=FILE_URL"})
	bulk := mustSend(t, c, tg.root, req{Method: "POST", Path: "/apis/text-to-sound-results", Body: `{"run_ids":[` + run + `,1]}`})
	checkJSON(t, "FILE_URL", fileURL)
	checkJSON(t, "bulk", bulk)
	if wav == nil {
		if fileURL.Code != http.StatusNotFound {
			t.Errorf("FILE_URL of a task without a result: got %d %s, want 404", fileURL.Code, fileURL.Body)
		}
		if bulk.Code != http.StatusOK || string(bulk.Body) != "{}" {
			t.Errorf("bulk of a task without a result: got %d %s, want 200 {}", bulk.Code, bulk.Body)
		}
		return
	}
	checkWAV(t, wav, soundLen)

	var file struct {
		FileURL string `json:"file_url"`
	}
	if err := json.Unmarshal(fileURL.Body, &file); fileURL.Code != http.StatusOK || err != nil {
		t.Fatalf("FILE_URL: got %d %s, want 200 with a file_url", fileURL.Code, fileURL.Body)
	}
	// The URL is pre-signed: it needs no key.
	fetched := mustSend(t, c, "", req{Method: "GET", Path: file.FileURL, Header: map[string][]string{"X-Api-Key": nil}})
	if fetched.Code != http.StatusOK || fetched.Type() != wavType || !bytes.Equal(fetched.Body, wav) {
		t.Errorf("GET %s: got %d %s with %d bytes, want 200 %s with the %d bytes of RAW_BYTES",
			file.FileURL, fetched.Code, fetched.Type(), len(fetched.Body), wavType, len(wav))
	}
	wantBulk := map[string]map[string]string{run: {"output_url": file.FileURL}}
	var gotBulk map[string]map[string]string
	if err := json.Unmarshal(bulk.Body, &gotBulk); err != nil {
		t.Fatalf("bulk: %v in %s", err, bulk.Body)
	}
	if diff := cmp.Diff(wantBulk, gotBulk); diff != "" {
		t.Errorf("bulk results mismatch (-want +got):\n%s", diff)
	}
}

// wavHeader is the header of a 16-bit mono PCM RIFF/WAVE file.
type wavHeader struct {
	RIFF          [4]byte
	RIFFSize      uint32
	WAVE, Fmt     [4]byte
	FmtSize       uint32
	Format        uint16
	Channels      uint16
	SampleRate    uint32
	ByteRate      uint32
	BlockAlign    uint16
	BitsPerSample uint16
	Data          [4]byte
	DataSize      uint32
}

// checkWAV checks that b is a WAV file of d of 22050 Hz 16-bit mono PCM.
func checkWAV(t testing.TB, b []byte, d time.Duration) {
	t.Helper()
	data := uint32(d/time.Second) * 22050 * 2
	want := wavHeader{RIFF: [4]byte{'R', 'I', 'F', 'F'}, RIFFSize: 36 + data, WAVE: [4]byte{'W', 'A', 'V', 'E'},
		Fmt: [4]byte{'f', 'm', 't', ' '}, FmtSize: 16, Format: 1, Channels: 1, SampleRate: 22050,
		ByteRate: 44100, BlockAlign: 2, BitsPerSample: 16, Data: [4]byte{'d', 'a', 't', 'a'}, DataSize: data}
	var got wavHeader
	if err := binary.Read(bytes.NewReader(b), binary.LittleEndian, &got); err != nil {
		t.Fatalf("the audio has no WAV header: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WAV header mismatch (-want +got):\n%s", diff)
	}
	if len(b) != 44+int(data) {
		t.Errorf("the audio is %d bytes, want 44 + %d", len(b), data)
	}
}

// TestLatencyBuiltInGo plays a scenario built in Go whose latencies give
// only Min, which Latency documents as a fixed latency: on the real clock
// each answer waits at least that long, on every endpoint.
func TestLatencyBuiltInGo(t *testing.T) {
	t.Parallel()
	const wait = 100 * time.Millisecond
	sc := &scenarios.Scenario{
		Name:        "fixed-latency",
		Description: "every answer waits 100ms",
		Create:      scenarios.Script{{Polls: 1, Normal: true, Latency: scenarios.Latency{Min: wait}}},
		Poll: scenarios.Script{
			{Polls: 1, Reply: &scenarios.Reply{Status: cambmock.StatusPending}, Latency: scenarios.Latency{Min: wait}},
			{Reply: &scenarios.Reply{Status: cambmock.StatusSuccess, RunID: scenarios.RunID{Auto: true}}, Latency: scenarios.Latency{Min: wait}},
		},
		Result: scenarios.Script{{Polls: 1, Normal: true, Latency: scenarios.Latency{Min: wait}}},
	}
	ts := mockservertest.NewTestServer(t, mockserver.WithScenarios(sc), mockserver.WithDefaultScenario(sc.Name), mockserver.WithClock(scenarios.SystemClock()))
	var id string
	timed := func(name string, do func()) {
		start := time.Now()
		do()
		if took := time.Since(start); took < wait {
			t.Errorf("%s was answered after %v, before its latency of %v", name, took, wait)
		}
	}
	timed("create", func() { id = createTask(t, ts.Client(), ts.URL, sc.Name) })
	for _, want := range []string{"PENDING", "SUCCESS"} {
		timed("poll", func() {
			if s, err := pollTask(t.Context(), ts.Client(), ts.URL, id, 10*time.Second); err != nil || s.Status != want {
				t.Errorf("poll: %+v, %v; want %s", s, err, want)
			}
		})
	}
	timed("result", func() {
		run := strconv.FormatInt(ts.Task(id).Info().RunID, 10)
		checkWAV(t, mustSend(t, ts.Client(), ts.URL, req{Method: "GET", Path: "/apis/text-to-sound-result/" + run}).Body, soundLen)
	})
}

// TestLatencyManualClock: on a manual clock a latency does not wait, so a
// test driving the clock cannot deadlock on it; the history records each
// answer as sent its latency after the request came.
func TestLatencyManualClock(t *testing.T) {
	t.Parallel()
	const wait = 30 * time.Second
	sc := &scenarios.Scenario{
		Name:        "slow-answers",
		Description: "every poll waits 30s",
		Poll:        scenarios.Script{{Reply: &scenarios.Reply{Status: cambmock.StatusPending}, Latency: scenarios.Latency{Min: wait}}},
	}
	ts := mockservertest.NewTestServer(t, mockserver.WithScenarios(sc), mockserver.WithDefaultScenario(sc.Name))
	task := ts.CreateTask(mockserver.NewTask{})
	start := time.Now()
	if s, err := pollTask(t.Context(), ts.Client(), ts.URL, task.ID(), 10*time.Second); err != nil || s.Status != "PENDING" {
		t.Fatalf("poll: %+v, %v; want PENDING", s, err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the poll took %v of real time; on a manual clock a latency must not wait", took)
	}
	h := task.Info().History
	if len(h) != 1 || h[0].At != 0 || time.Duration(h[0].Sent) != wait || !h[0].Delivered {
		t.Errorf("history %+v; want one delivered poll at 0s sent at %v", h, wait)
	}
}
