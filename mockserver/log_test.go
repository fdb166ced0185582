package mockserver_test

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
)

// TestLogLines checks the line the server logs for each request: its
// keys, its level (Warn for faults and 5xx answers), and that no API key
// shows.
func TestLogLines(t *testing.T) {
	const secret = "sk-DISTINCTIVE-51ab0e"
	var logged lockedBuffer
	ts := mockservertest.NewTestServer(t, mockserver.WithLogger(slog.New(slog.NewJSONHandler(&logged, &slog.HandlerOptions{ReplaceAttr: dropTime}))))
	c := noKeepAlive(t)
	withKey := map[string][]string{"X-Api-Key": {secret}}

	line := func(level, method, path string, status int, task, scenario, step string) map[string]any {
		return map[string]any{"level": level, "msg": "request", "method": method, "path": path,
			"status": float64(status), "task": task, "scenario": scenario, "step": step}
	}
	var reset, failing string
	tests := []struct {
		name string
		send func(t *testing.T) // one request, after lines-1 others
		want func() map[string]any
		// lines is how many lines send logs, when more than one; the
		// last is the one checked.
		lines int
	}{
		{
			name: "create",
			send: func(t *testing.T) {
				a := mustSend(t, c, ts.URL, req{Method: "POST", Path: "/apis/text-to-sound", Body: `{"prompt":"rain"}`,
					Header: map[string][]string{"X-Api-Key": {secret}, mockserver.ScenarioHeader: {"connection-reset"}}})
				reset = taskID(t, a)
			},
			want: func() map[string]any {
				return line("INFO", "POST", "/apis/text-to-sound", 200, reset, "connection-reset", "create normal")
			},
		},
		{
			name: "poll",
			send: func(t *testing.T) {
				mustSend(t, c, ts.URL, req{Method: "GET", Path: "/apis/text-to-sound/" + reset, Header: withKey})
			},
			want: func() map[string]any {
				return line("INFO", "GET", "/apis/text-to-sound/"+reset, 200, reset, "connection-reset", "poll 1")
			},
		},
		{
			name: "fault",
			send: func(t *testing.T) {
				if _, err := send(t.Context(), c, ts.URL, req{Method: "GET", Path: "/apis/text-to-sound/" + reset, Header: withKey}); err == nil {
					t.Fatal("the poll that plays a reset did not fail")
				}
			},
			want: func() map[string]any {
				l := line("WARN", "GET", "/apis/text-to-sound/"+reset, 0, reset, "connection-reset", "poll 2")
				l["fault"] = "reset"
				return l
			},
		},
		{
			name: "5xx",
			send: func(t *testing.T) {
				failing = ts.CreateTask(mockserver.NewTask{Scenario: "server-error"}).ID()
				mustSend(t, c, ts.URL, req{Method: "GET", Path: "/apis/text-to-sound/" + failing, Header: withKey})
			},
			want: func() map[string]any {
				return line("WARN", "GET", "/apis/text-to-sound/"+failing, 500, failing, "server-error", "poll 1")
			},
		},
		{
			name: "unknown task",
			send: func(t *testing.T) {
				mustSend(t, c, ts.URL, req{Method: "GET", Path: "/apis/text-to-sound/nope", Header: withKey})
			},
			want: func() map[string]any { return line("INFO", "GET", "/apis/text-to-sound/nope", 404, "", "", "") },
		},
		{
			name: "wrong key",
			send: func(t *testing.T) {
				mustSend(t, c, ts.URL, req{Method: "GET", Path: "/apis/text-to-sound/nope", Header: map[string][]string{"X-Api-Key": {""}}})
			},
			want: func() map[string]any { return line("INFO", "GET", "/apis/text-to-sound/nope", 401, "", "", "") },
		},
		{
			name: "result",
			send: func(t *testing.T) {
				ts.CreateTask(mockserver.NewTask{Scenario: "result-server-error", ID: "r"})
				mustSend(t, c, ts.URL, req{Method: "GET", Path: "/apis/text-to-sound/r", Header: withKey})
				logged.waitLines(t, 7) // the poll
				mustSend(t, c, ts.URL, req{Method: "GET", Path: "/apis/text-to-sound-result/100003", Header: withKey})
			},
			want: func() map[string]any {
				return line("WARN", "GET", "/apis/text-to-sound-result/100003", 500, "r", "result-server-error", "result 1")
			},
			lines: 2,
		},
		{
			name: "admin",
			send: func(t *testing.T) {
				mustSend(t, c, ts.URL, req{Method: "GET", Path: "/__admin/tasks/r", Header: withKey})
			},
			want: func() map[string]any { return line("INFO", "GET", "/__admin/tasks/r", 200, "", "", "") },
		},
	}
	n := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.send(t)
			lines := logged.waitLines(t, n+max(tc.lines, 1))
			n = len(lines)
			var got map[string]any
			if err := json.Unmarshal([]byte(lines[n-1]), &got); err != nil {
				t.Fatalf("the log line is not JSON: %v: %s", err, lines[n-1])
			}
			// dur is the time the answer took, in nanoseconds.
			if d, ok := got["dur"].(float64); !ok || d < 0 || time.Duration(d) > time.Minute {
				t.Errorf("dur = %v, want the time the answer took", got["dur"])
			}
			delete(got, "dur")
			if diff := cmp.Diff(tc.want(), got); diff != "" {
				t.Errorf("log line mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if strings.Contains(logged.String(), secret) || strings.Contains(logged.String(), "DISTINCTIVE") {
		t.Errorf("the log shows the API key:\n%s", logged.String())
	}
}
