package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock"
)

// queuedSpec is the embedded spec with QUEUED added to TaskStatus and to
// its x-in-progress-statuses.
func queuedSpec(t *testing.T) string {
	t.Helper()
	from := "enum: [SUCCESS, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED]\n      x-in-progress-statuses: [PENDING]"
	y := string(cambmock.SpecYAML())
	if !strings.Contains(y, from) {
		t.Fatalf("openapi.yaml no longer holds %q", from)
	}
	y = strings.Replace(y, from, "enum: [SUCCESS, QUEUED, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED]\n      x-in-progress-statuses: [QUEUED, PENDING]", 1)
	path := filepath.Join(t.TempDir(), "queued.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const queuedScenario = `description: QUEUED once, PENDING once, then SUCCESS
poll:
  - status: QUEUED
    polls: 1
  - status: PENDING
    polls: 1
  - status: SUCCESS
`

// TestServeEditedSpec: with a spec that adds QUEUED, a scenario playing it
// loads, is served on every kind, and its client is judged without
// after-unknown; without the spec, the same file is refused naming QUEUED.
func TestServeEditedSpec(t *testing.T) {
	t.Parallel()
	spec := queuedSpec(t)
	dir := t.TempDir()
	writeScenario(t, dir, "queued.yaml", queuedScenario)

	r := runCmd(t, nil, "scenarios", "--scenarios", dir)
	if r.code != 2 || r.err == nil || !strings.Contains(r.err.Error(), `poll step 1: unknown status "QUEUED"`) {
		t.Errorf("scenarios without --spec: exit %d, %v; want 2 naming QUEUED", r.code, r.err)
	}
	if r := runCmd(t, nil, "scenarios", "--spec", spec, "--scenarios", dir); r.code != 0 || !strings.Contains(r.stdout, "queued ") {
		t.Errorf("scenarios --spec: exit %d %v\n%s", r.code, r.err, r.stdout)
	}

	s := startServe(t, nil, "--addr", "127.0.0.1:0", "--spec", spec, "--scenarios", dir, "--clock", "manual")
	id := s.createTask(t, "k", "queued")
	var got []string
	for range 3 {
		got = append(got, s.pollStatus(t, "k", id)["status"].(string))
		s.do(t, http.MethodPost, "/__admin/clock", "", nil, `{"by":"2s"}`)
	}
	if diff := cmp.Diff([]string{"QUEUED", "PENDING", "SUCCESS"}, got); diff != "" {
		t.Errorf("statuses mismatch (-want +got):\n%s", diff)
	}
	code, body := s.do(t, http.MethodGet, "/__admin/tasks/"+id+"/discipline", "", nil, "")
	var d struct {
		Violations []string `json:"violations"`
		Terminal   string   `json:"terminal"`
		Unknown    string   `json:"unknown_status"`
	}
	if err := json.Unmarshal(body, &d); err != nil || code != 200 {
		t.Fatalf("discipline: %d %s", code, body)
	}
	if len(d.Violations) != 0 || d.Terminal != "SUCCESS" || d.Unknown != "" {
		t.Errorf("discipline of a client that stopped at SUCCESS: %+v; want clean, terminal SUCCESS, no unknown status", d)
	}
	code, served := s.do(t, http.MethodGet, "/__admin/openapi.yaml", "", nil, "")
	if want, _ := os.ReadFile(spec); code != 200 || string(served) != string(want) {
		t.Errorf("GET /__admin/openapi.yaml: %d, %d bytes; want the spec in force, %d bytes", code, len(served), len(want))
	}
	if err := s.stop(t); err != nil {
		t.Errorf("run(serve) = %v", err)
	}
}

// TestServeUnservableSpec: a spec the mock cannot serve is refused at
// start, naming what is missing.
func TestServeUnservableSpec(t *testing.T) {
	t.Parallel()
	y := strings.Replace(string(cambmock.SpecYAML()), "        kind: tts\n        role: create\n", "        kind: tts\n        role: bulk\n", 1)
	path := filepath.Join(t.TempDir(), "broken.yaml")
	os.WriteFile(path, []byte(y), 0o644)
	r := runCmd(t, nil, "serve", "--addr", "127.0.0.1:0", "--spec", path)
	want := "kind tts has no create operation (x-cambmock role: create); a task cannot be made without one"
	if r.code != 2 || r.err == nil || !strings.Contains(r.err.Error(), want) || !strings.Contains(r.err.Error(), "--spec "+path) {
		t.Errorf("serve --spec broken.yaml: exit %d, %v; want 2 naming the file and %q", r.code, r.err, want)
	}
	r = runCmd(t, nil, "serve", "--addr", "127.0.0.1:0", "--spec", filepath.Join(t.TempDir(), "none.yaml"))
	if r.code != 2 || r.err == nil || !strings.Contains(r.err.Error(), "no such file or directory") {
		t.Errorf("serve --spec of a missing file: exit %d, %v", r.code, r.err)
	}
}

// TestSpecCommand prints the embedded spec.
func TestSpecCommand(t *testing.T) {
	r := runCmd(t, nil, "spec")
	if r.code != 0 || r.stdout != string(cambmock.SpecYAML()) {
		t.Errorf("cambmock spec: exit %d, %d bytes; want the embedded openapi.yaml", r.code, len(r.stdout))
	}
}
