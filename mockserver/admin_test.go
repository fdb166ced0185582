package mockserver_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
	"github.com/cambmock/cambmock/scenarios"
)

// testStart is where a test server's manual clock starts.
var testStart = mockservertest.Start

// ignoreRealTime leaves out of comparisons the times of a history taken
// on the real clock, which differ from run to run.
var ignoreRealTime = cmpopts.IgnoreFields(mockserver.Event{}, "Real", "RealSent")

// taskList is a page of GET /__admin/tasks.
type taskList struct {
	Total  int                   `json:"total"`
	Offset int                   `json:"offset"`
	Tasks  []mockserver.TaskInfo `json:"tasks"`
}

// admin sends an admin request and decodes its JSON answer into v,
// failing the test unless the answer has status code.
func admin(t *testing.T, ts *mockservertest.TestServer, r req, code int, v any) answer {
	t.Helper()
	a := mustSend(t, ts.Client(), ts.URL, r)
	checkJSON(t, r.Method+" "+r.Path, a)
	if a.Code != code {
		t.Fatalf("%s %s: got %d %s, want %d", r.Method, r.Path, a.Code, a.Body, code)
	}
	if v != nil {
		if err := json.Unmarshal(a.Body, v); err != nil {
			t.Fatalf("%s %s: %v in %s", r.Method, r.Path, err, a.Body)
		}
	}
	return a
}

func TestAdminHealth(t *testing.T) {
	manual := mockservertest.NewTestServer(t)
	real := mockservertest.NewTestServer(t, mockserver.WithClock(scenarios.SystemClock()))
	n := len(manual.Server().Scenarios())

	var got map[string]any
	admin(t, manual, req{Method: "GET", Path: "/__admin/health"}, 200, &got)
	want := map[string]any{"status": "ok", "service": "cambmock", "auth": "any-key", "scenarios": float64(n), "tasks": float64(0), "clock": "manual", "now": "2026-01-01T00:00:00Z"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET /__admin/health mismatch (-want +got):\n%s", diff)
	}

	manual.CreateTask(mockserver.NewTask{})
	manual.CreateTask(mockserver.NewTask{Scenario: "stuck"})
	manual.Advance(90 * time.Second)
	admin(t, manual, req{Method: "GET", Path: "/__admin/health"}, 200, &got)
	want["tasks"], want["now"] = float64(2), "2026-01-01T00:01:30Z"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET /__admin/health with 2 tasks mismatch (-want +got):\n%s", diff)
	}

	before := time.Now()
	admin(t, real, req{Method: "GET", Path: "/__admin/health"}, 200, &got)
	now, err := time.Parse(time.RFC3339Nano, got["now"].(string))
	if err != nil || now.Before(before.Add(-time.Second)) {
		t.Errorf("GET /__admin/health on the real clock: now %v (%v), want about %v", got["now"], err, before)
	}
	delete(got, "now")
	want = map[string]any{"status": "ok", "service": "cambmock", "auth": "any-key", "scenarios": float64(n), "tasks": float64(0), "clock": "real"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET /__admin/health on the real clock mismatch (-want +got):\n%s", diff)
	}
}

// adminScenario is how the admin API lists a scenario.
type adminScenario struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	OffSpec     bool     `json:"off_spec"`
	Default     bool     `json:"default"`
	Violations  []string `json:"violations"`
}

func TestAdminScenarios(t *testing.T) {
	ts := mockservertest.NewTestServer(t, mockserver.WithDefaultScenario("stuck"))
	var got []adminScenario
	admin(t, ts, req{Method: "GET", Path: "/__admin/scenarios"}, 200, &got)

	var want []adminScenario
	for _, sc := range ts.Server().Scenarios() {
		want = append(want, adminScenario{Name: sc.Name, Description: sc.Description, OffSpec: sc.OffSpec, Default: sc.Name == "stuck"})
	}
	// Every off-spec scenario lists how it violates openapi.yaml; on-spec
	// ones list nothing.
	for i, sc := range got {
		if sc.OffSpec != (len(sc.Violations) > 0) {
			t.Errorf("scenario %s: off_spec %v with violations %q", sc.Name, sc.OffSpec, sc.Violations)
		}
		if sc.Name == "drift-failed-status" {
			wantV := []string{`poll step 2: unknown status "FAILED"; openapi.yaml declares SUCCESS, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED`}
			if diff := cmp.Diff(wantV, sc.Violations); diff != "" {
				t.Errorf("drift-failed-status violations mismatch (-want +got):\n%s", diff)
			}
		}
		got[i].Violations = nil
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET /__admin/scenarios mismatch (-want +got):\n%s", diff)
	}
}

func TestAdminTasks(t *testing.T) {
	ts := mockservertest.NewTestServer(t, mockserver.WithoutBuiltins(),
		mockserver.WithScenarios(goScenario("alpha"), goScenario("beta")), mockserver.WithDefaultScenario("alpha"))
	info := func(id, scenario string, run int64, length time.Duration, audio string) mockserver.TaskInfo {
		return mockserver.TaskInfo{ID: id, Kind: "text-to-sound", Scenario: scenario, Created: testStart, RunID: run,
			Length: mockserver.Duration(length), AudioType: audio, Steps: 2, History: []mockserver.Event{}}
	}
	example := `; send JSON such as {"scenario": "success", "task_id": "my-task"}`
	tests := []struct {
		name   string
		body   string
		code   int
		want   mockserver.TaskInfo // for a 201
		detail string              // for an error
	}{
		{name: "chosen id", body: `{"scenario":"beta","task_id":"my-id"}`, code: 201,
			want: info("my-id", "beta", 100001, 8*time.Second, "sound")},
		{name: "default scenario", body: `{"task_id":"other-id","duration":"2.5s","prompt":"rain"}`, code: 201,
			want: info("other-id", "alpha", 100002, 2500*time.Millisecond, "sound")},
		{name: "music is always 30s", body: `{"task_id":"music","duration":"5s","audio_type":"music"}`, code: 201,
			want: info("music", "alpha", 100003, 30*time.Second, "music")},
		{name: "duplicate id", body: `{"scenario":"alpha","task_id":"my-id"}`, code: 409,
			detail: `task id already taken: "my-id"; choose another id, or reset the server (POST /__admin/reset)`},
		{name: "unknown scenario", body: `{"scenario":"gamma"}`, code: 400,
			detail: `unknown scenario "gamma"; known scenarios: alpha, beta`},
		{name: "bad JSON", body: `{"scenario":`, code: 400,
			detail: `the request body is not what this endpoint takes: unexpected EOF` + example},
		{name: "unknown field", body: `{"scenario":"alpha","taskid":"x"}`, code: 400,
			detail: `the request body is not what this endpoint takes: json: unknown field "taskid"` + example},
		{name: "two values", body: `{} {}`, code: 400,
			detail: `the request body holds more than one JSON value; send one, such as {"scenario": "success", "task_id": "my-task"}`},
		{name: "bad duration", body: `{"duration":"soon"}`, code: 400,
			detail: `the request body is not what this endpoint takes: "soon" is not a duration; write it as "30s", "500ms" or "1m30s"` + example},
		{name: "id with a slash", body: `{"task_id":"a/b"}`, code: 400,
			detail: `task id "a/b" cannot be used in a URL path; use letters, digits, dashes and underscores, at most 256 characters`},
		{name: "bad audio type", body: `{"audio_type":"noise"}`, code: 400,
			detail: `audio_type "noise" is not one of sound, music`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := req{Method: "POST", Path: "/__admin/tasks", Body: tc.body}
			if tc.code != 201 {
				checkAnswer(t, r, mustSend(t, ts.Client(), ts.URL, r), wantAnswer{tc.code, detail(tc.detail)})
				return
			}
			var got mockserver.TaskInfo
			admin(t, ts, r, 201, &got)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("POST /__admin/tasks %s mismatch (-want +got):\n%s", tc.body, diff)
			}
		})
	}

	// A poll shows in the task's info and history.
	ts.Advance(1500 * time.Millisecond)
	if s, err := pollTask(t.Context(), ts.Client(), ts.URL, "my-id", 10*time.Second); err != nil || s.Status != "PENDING" {
		t.Fatalf("poll my-id: %+v, %v; want PENDING", s, err)
	}
	var got mockserver.TaskInfo
	admin(t, ts, req{Method: "GET", Path: "/__admin/tasks/my-id"}, 200, &got)
	want := info("my-id", "beta", 100001, 8*time.Second, "sound")
	want.Elapsed, want.Polls, want.Step, want.Status = mockserver.Duration(1500*time.Millisecond), 1, 1, "PENDING"
	want.History = []mockserver.Event{{Seq: 1, At: mockserver.Duration(1500 * time.Millisecond), Sent: mockserver.Duration(1500 * time.Millisecond),
		Endpoint: "poll", Step: 1, Code: 200, Status: "PENDING", Delivered: true}}
	if diff := cmp.Diff(want, got, ignoreRealTime); diff != "" {
		t.Errorf("GET /__admin/tasks/my-id mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, ts.Task("my-id").Info(), ignoreRealTime); diff != "" {
		t.Errorf("Task(my-id).Info() mismatch (-want +got):\n%s", diff)
	}

	r := req{Method: "GET", Path: "/__admin/tasks/nope"}
	checkAnswer(t, r, mustSend(t, ts.Client(), ts.URL, r), wantAnswer{404, detail(`task "nope": no such task`)})

	// The list, newest first (then by run id); a task made over the API is in it.
	apiTask := createTask(t, ts.Client(), ts.URL, "beta")
	var list taskList
	admin(t, ts, req{Method: "GET", Path: "/__admin/tasks"}, 200, &list)
	var ids []string
	for _, ti := range list.Tasks {
		ids = append(ids, ti.ID)
	}
	if diff := cmp.Diff([]string{apiTask, "music", "other-id", "my-id"}, ids); diff != "" {
		t.Errorf("GET /__admin/tasks ids mismatch (-want +got):\n%s", diff)
	}
	if list.Total != 4 {
		t.Errorf("GET /__admin/tasks: total %d, want 4", list.Total)
	}
	// Paged and filtered.
	admin(t, ts, req{Method: "GET", Path: "/__admin/tasks?limit=2&offset=1"}, 200, &list)
	if len(list.Tasks) != 2 || list.Tasks[0].ID != "music" || list.Total != 4 || list.Offset != 1 {
		t.Errorf("GET /__admin/tasks?limit=2&offset=1: %d tasks from %q, total %d; want music and other-id of 4", len(list.Tasks), ids, list.Total)
	}
	admin(t, ts, req{Method: "GET", Path: "/__admin/tasks?scenario=beta&status=PENDING"}, 200, &list)
	if len(list.Tasks) != 1 || list.Tasks[0].ID != "my-id" {
		t.Errorf("GET /__admin/tasks?scenario=beta&status=PENDING: %+v; want my-id alone", list.Tasks)
	}
	for _, bad := range []struct{ query, detail string }{
		{"limit=0", `limit "0" is not a whole number from 1 to 1000`},
		{"status=BOGUS", `status "BOGUS" is served by no scenario of this server; the statuses are SUCCESS, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED`},
		{"kind=poem", `unknown kind of task "poem"; the spec declares audio-separation, dub, text-to-sound, text-to-voice, transcription, translated-tts, translation, tts`},
	} {
		r := req{Method: "GET", Path: "/__admin/tasks?" + bad.query}
		checkAnswer(t, r, mustSend(t, ts.Client(), ts.URL, r), wantAnswer{400, detail(bad.detail)})
	}

	// Reset forgets every task; the clock stays.
	var reset map[string]string
	admin(t, ts, req{Method: "POST", Path: "/__admin/reset"}, 200, &reset)
	if diff := cmp.Diff(map[string]string{"status": "reset"}, reset); diff != "" {
		t.Errorf("POST /__admin/reset mismatch (-want +got):\n%s", diff)
	}
	admin(t, ts, req{Method: "GET", Path: "/__admin/tasks"}, 200, &list)
	if list.Total != 0 || len(list.Tasks) != 0 {
		t.Errorf("GET /__admin/tasks after reset = %+v, want none", list)
	}
	if s, err := pollTask(t.Context(), ts.Client(), ts.URL, "my-id", 10*time.Second); err != nil || s.Code != 404 {
		t.Errorf("poll my-id after reset: %+v, %v; want 404", s, err)
	}
	admin(t, ts, req{Method: "POST", Path: "/__admin/tasks", Body: `{"task_id":"my-id"}`}, 201, &got)
	if !got.Created.Equal(testStart.Add(1500 * time.Millisecond)) {
		t.Errorf("a task made after reset was created at %v, want %v: reset must not move the clock", got.Created, testStart.Add(1500*time.Millisecond))
	}
}

func TestAdminClock(t *testing.T) {
	ts := mockservertest.NewTestServer(t)
	real := mockservertest.NewTestServer(t, mockserver.WithClock(scenarios.SystemClock()))
	id := ts.CreateTask(mockserver.NewTask{Scenario: "slow-success"}).ID()
	clock := func(at time.Time) map[string]string {
		return map[string]string{"clock": "manual", "now": at.Format(time.RFC3339Nano)}
	}
	example := `; send JSON such as {"by": "30s"}`
	tests := []struct {
		name   string
		req    req
		code   int
		want   map[string]string // for a 200
		detail string            // for an error
	}{
		{name: "get", req: req{Method: "GET", Path: "/__admin/clock"}, code: 200, want: clock(testStart)},
		{name: "advance", req: req{Method: "POST", Path: "/__admin/clock", Body: `{"by":"30s"}`}, code: 200, want: clock(testStart.Add(30 * time.Second))},
		{name: "advance by 0", req: req{Method: "POST", Path: "/__admin/clock", Body: `{"by":"0s"}`}, code: 200, want: clock(testStart.Add(30 * time.Second))},
		{name: "get after", req: req{Method: "GET", Path: "/__admin/clock"}, code: 200, want: clock(testStart.Add(30 * time.Second))},
		{name: "negative", req: req{Method: "POST", Path: "/__admin/clock", Body: `{"by":"-1s"}`}, code: 400,
			detail: "cannot move the clock back by 1s; give a duration of 0 or more"},
		{name: "not a duration", req: req{Method: "POST", Path: "/__admin/clock", Body: `{"by":"soon"}`}, code: 400,
			detail: `the request body is not what this endpoint takes: "soon" is not a duration; write it as "30s", "500ms" or "1m30s"` + example},
		{name: "a number", req: req{Method: "POST", Path: "/__admin/clock", Body: `{"by":30}`}, code: 400,
			detail: `the request body is not what this endpoint takes: a duration must be a string such as "30s" or "1m30s", not 30` + example},
		{name: "no by", req: req{Method: "POST", Path: "/__admin/clock", Body: `{}`}, code: 400,
			detail: `the body has no "by"` + example},
		{name: "unknown field", req: req{Method: "POST", Path: "/__admin/clock", Body: `{"by":"1s","to":"2s"}`}, code: 400,
			detail: `the request body is not what this endpoint takes: json: unknown field "to"` + example},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.code != 200 {
				checkAnswer(t, tc.req, mustSend(t, ts.Client(), ts.URL, tc.req), wantAnswer{tc.code, detail(tc.detail)})
				return
			}
			var got map[string]string
			admin(t, ts, tc.req, 200, &got)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s %s mismatch (-want +got):\n%s", tc.req.Method, tc.req.Path, diff)
			}
		})
	}
	if got, want := ts.Clock().Now(), testStart.Add(30*time.Second); !got.Equal(want) {
		t.Errorf("TestServer.Clock().Now() = %v, want %v", got, want)
	}
	// The tasks play by the moved clock: slow-success is PENDING for 10s.
	if s, err := pollTask(t.Context(), ts.Client(), ts.URL, id, 10*time.Second); err != nil || s.Status != "SUCCESS" {
		t.Errorf("poll of slow-success after POST /__admin/clock 30s: %+v, %v; want SUCCESS", s, err)
	}

	r := req{Method: "POST", Path: "/__admin/clock", Body: `{"by":"30s"}`}
	checkAnswer(t, r, mustSend(t, real.Client(), real.URL, r),
		wantAnswer{409, detail("the server runs on the real clock, which cannot be moved; start it with --clock manual")})
	var got map[string]string
	admin(t, real, req{Method: "GET", Path: "/__admin/clock"}, 200, &got)
	if got["clock"] != "real" {
		t.Errorf("GET /__admin/clock of a real-clock server: clock %q, want real", got["clock"])
	}
	if real.Clock() != nil {
		t.Errorf("TestServer.Clock() of a server given WithClock(SystemClock()) = %v, want nil", real.Clock())
	}
}

// journalEntry is how GET /__admin/requests shows a request, without its
// time and duration.
type journalEntry struct {
	Method   string `json:"method"`
	Path     string `json:"path"`
	Query    string `json:"query"`
	Status   int    `json:"status"`
	Task     string `json:"task"`
	Scenario string `json:"scenario"`
	Step     string `json:"step"`
	Fault    string `json:"fault"`
	APIKey   string `json:"api_key"`
	At       string `json:"at"`
	Duration string `json:"duration"`
}

type journal struct {
	Total    int            `json:"total"`
	Requests []journalEntry `json:"requests"`
}

func TestAdminRequests(t *testing.T) {
	const secret = "sk-DISTINCTIVE-0c9f4e1b7a"
	ts := mockservertest.NewTestServer(t, mockserver.WithAPIKeys(secret))
	withKey := map[string][]string{"X-Api-Key": {secret}}
	a := mustSend(t, ts.Client(), ts.URL, req{Method: "POST", Path: "/apis/text-to-sound", Body: `{"prompt":"rain"}`, Header: withKey})
	id := taskID(t, a)
	mustSend(t, ts.Client(), ts.URL, req{Method: "GET", Path: "/apis/text-to-sound/" + id + "?api_key=" + secret + "&run_id=3", Header: withKey})
	mustSend(t, ts.Client(), ts.URL, req{Method: "GET", Path: "/apis/text-to-sound/" + id, Header: map[string][]string{"X-Api-Key": {secret + "x"}}})
	mustSend(t, ts.Client(), ts.URL, req{Method: "GET", Path: "/apis/text-to-sound/" + id, Header: map[string][]string{"X-Api-Key": nil}})

	all := []journalEntry{
		{Method: "GET", Path: "/apis/text-to-sound/" + id, Status: 401},
		{Method: "GET", Path: "/apis/text-to-sound/" + id, Status: 403, APIKey: "[redacted]"},
		{Method: "GET", Path: "/apis/text-to-sound/" + id, Query: "api_key=[redacted]&run_id=3", Status: 200,
			Task: id, Scenario: "success", Step: "poll 1", APIKey: "[redacted]"},
		{Method: "POST", Path: "/apis/text-to-sound", Status: 200, Task: id, Scenario: "success", Step: "create normal", APIKey: "[redacted]"},
	}
	ignore := cmpopts.IgnoreFields(journalEntry{}, "At", "Duration")
	var bodies []string
	for _, tc := range []struct {
		query string
		want  journal
	}{
		{query: "?limit=2", want: journal{Total: 4, Requests: all[:2]}},
		{query: "", want: journal{Total: 5, Requests: append([]journalEntry{{Method: "GET", Path: "/__admin/requests", Query: "limit=2", Status: 200, APIKey: "[redacted]"}}, all...)}},
	} {
		var got journal
		bodies = append(bodies, string(admin(t, ts, req{Method: "GET", Path: "/__admin/requests" + tc.query, Header: withKey}, 200, &got).Body))
		if diff := cmp.Diff(tc.want, got, ignore); diff != "" {
			t.Errorf("GET /__admin/requests%s mismatch (-want +got):\n%s", tc.query, diff)
		}
		for _, e := range got.Requests {
			if _, err := time.ParseDuration(e.Duration); err != nil || e.At == "" {
				t.Errorf("journal entry %s %s: at %q, duration %q", e.Method, e.Path, e.At, e.Duration)
			}
		}
	}
	for _, limit := range []string{"x", "0", "-1", "1.5"} {
		r := req{Method: "GET", Path: "/__admin/requests?limit=" + limit}
		checkAnswer(t, r, mustSend(t, ts.Client(), ts.URL, r), wantAnswer{400, detail("limit " + strconv.Quote(limit) + " is not a whole number of 1 or more")})
	}

	// No admin answer shows the key.
	for _, path := range []string{"/__admin/health", "/__admin/scenarios", "/__admin/tasks", "/__admin/tasks/" + id, "/__admin/clock", "/__admin/requests?limit=1000"} {
		bodies = append(bodies, string(admin(t, ts, req{Method: "GET", Path: path, Header: withKey}, 200, nil).Body))
	}
	for _, b := range bodies {
		if strings.Contains(b, secret) || strings.Contains(b, "DISTINCTIVE") {
			t.Errorf("an admin answer shows the API key: %s", b)
		}
	}

	// Reset empties the journal; the reset is the first request after it.
	admin(t, ts, req{Method: "POST", Path: "/__admin/reset", Header: map[string][]string{"X-Api-Key": nil}}, 200, nil)
	var got journal
	admin(t, ts, req{Method: "GET", Path: "/__admin/requests"}, 200, &got)
	want := journal{Total: 1, Requests: []journalEntry{{Method: "POST", Path: "/__admin/reset", Status: 200}}}
	if diff := cmp.Diff(want, got, ignore); diff != "" {
		t.Errorf("GET /__admin/requests after reset mismatch (-want +got):\n%s", diff)
	}
}

func TestAdminJournalSize(t *testing.T) {
	ts := mockservertest.NewTestServer(t, mockserver.WithJournalSize(2))
	for i := range 5 {
		mustSend(t, ts.Client(), ts.URL, req{Method: "GET", Path: "/apis/text-to-sound/t" + strconv.Itoa(i)})
	}
	var got journal
	admin(t, ts, req{Method: "GET", Path: "/__admin/requests"}, 200, &got)
	want := journal{Total: 5, Requests: []journalEntry{
		{Method: "GET", Path: "/apis/text-to-sound/t4", Status: 404, APIKey: "[redacted]"},
		{Method: "GET", Path: "/apis/text-to-sound/t3", Status: 404, APIKey: "[redacted]"},
	}}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(journalEntry{}, "At", "Duration")); diff != "" {
		t.Errorf("GET /__admin/requests with WithJournalSize(2) mismatch (-want +got):\n%s", diff)
	}
}
