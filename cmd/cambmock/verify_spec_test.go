package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/scenarios"
)

// serveEdited starts cambmock serve --spec specFile with the scenarios
// in dir, on the real clock, and returns its root URL.
func serveEdited(t *testing.T, specFile, dir string) string {
	t.Helper()
	return startServe(t, nil, "--addr", "127.0.0.1:0", "--spec", specFile, "--scenarios", dir).url
}

// TestVerifyEditedSpec: with a spec whose TaskStatus adds QUEUED to its
// enum and its x-in-progress-statuses, a mock serving it and a scenario
// playing QUEUED, PENDING, SUCCESS passes verify --spec on every kind,
// QUEUED counted as a status that is still in progress and no drift;
// without --spec the same run fails, QUEUED being undeclared.
func TestVerifyEditedSpec(t *testing.T) {
	t.Parallel()
	specFile := queuedSpec(t)
	dir := t.TempDir()
	writeScenario(t, dir, "queued-play.yaml", queuedScenario)
	base := serveEdited(t, specFile, dir) + "/apis"

	r := runCmd(t, nil, "verify", "--spec", specFile, "--base-url", base, "--api-key", "any-key", "--allow-spend", "--scenario", "queued-play")
	if r.code != 0 {
		t.Errorf("verify --spec: exit %d (%v); want 0\nstdout:\n%s", r.code, r.err, r.stdout)
	}
	for _, want := range []string{"QUEUED ×8", "PASS  pending-ends", "PASS  tts/pending-ends", "PASS  dub/result-file-url", "PASS  translated-tts/result-audio"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("verify --spec: the report has no %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, `status "QUEUED" is not in`) {
		t.Errorf("verify --spec warns of QUEUED as drift:\n%s", r.stdout)
	}

	r = runCmd(t, nil, "verify", "--base-url", base, "--api-key", "any-key", "--allow-spend", "--scenario", "queued-play", "--kind", "tts")
	if r.code != 1 || r.err == nil || !strings.Contains(r.err.Error(), "tts/status-conforms") {
		t.Errorf("verify without --spec: exit %d (%v); want 1, failing tts/status-conforms", r.code, r.err)
	}
	if !strings.Contains(r.stdout, `WARN  status "QUEUED" is not in openapi.yaml's TaskStatus`) {
		t.Errorf("verify without --spec does not warn of QUEUED:\n%s", r.stdout)
	}
}

// TestProxyEditedSpec runs QUEUED tasks of two kinds through cambmock
// record --spec: no finding (QUEUED is declared there, and still in
// progress), and the recordings load with the spec, naming QUEUED; through
// cambmock proxy without --spec the same answers are findings.
func TestProxyEditedSpec(t *testing.T) {
	t.Parallel()
	specFile := queuedSpec(t)
	dir := t.TempDir()
	writeScenario(t, dir, "queued-play.yaml", queuedScenario)
	up := serveEdited(t, specFile, dir)
	out := t.TempDir()
	rec := startProxyCmd(t, "record", "--spec", specFile, "--upstream", up+"/apis", "--out", out)
	plain := startProxyCmd(t, "proxy", "--upstream", up+"/apis")

	play := func(p *proxying) {
		h := http.Header{"X-Cambmock-Scenario": {"queued-play"}, "Content-Type": {"application/json"}}
		for _, kind := range []struct{ create, body, status string }{
			{"/apis/text-to-sound", `{"prompt":"rain"}`, "/apis/text-to-sound/"},
			{"/apis/translate", `{"texts":["hello"],"source_language":1,"target_language":54}`, "/apis/translate/"},
		} {
			code, body := p.do(t, http.MethodPost, kind.create, proxyKey, h, kind.body)
			var created struct {
				TaskID string `json:"task_id"`
			}
			if err := json.Unmarshal(body, &created); code != 200 || err != nil {
				t.Fatalf("POST %s through the proxy: %d %s", kind.create, code, body)
			}
			for range 3 { // the scenario counts polls: QUEUED, PENDING, SUCCESS
				p.do(t, http.MethodGet, kind.status+created.TaskID, proxyKey, nil, "")
			}
		}
	}
	play(rec)
	play(plain)

	findings := func(p *proxying) []string {
		code, body := p.do(t, http.MethodGet, "/__admin/violations", "", nil, "")
		var s struct {
			Findings []struct{ Check, Operation, Problem string }
		}
		if err := json.Unmarshal(body, &s); code != 200 || err != nil {
			t.Fatalf("GET /__admin/violations: %d %s", code, body)
		}
		var out []string
		for _, f := range s.Findings {
			out = append(out, f.Check+" "+f.Operation+": "+f.Problem)
		}
		return out
	}
	if got := findings(rec); len(got) != 0 {
		t.Errorf("record --spec: findings %q; want none", got)
	}
	got := strings.Join(findings(plain), "\n")
	for _, want := range []string{"status-conforms getTextToSoundStatus: ", "status-conforms getTranslationStatus: "} {
		if !strings.Contains(got, want) {
			t.Errorf("proxy without --spec: findings\n%s\nwant one starting %q", got, want)
		}
	}
	if err := rec.stop(t); err != nil {
		t.Errorf("cambmock record returned %v", err)
	}
	data, err := os.ReadFile(specFile)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := cambmock.ParseSpec(data)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := scenarios.LoadPath(out, spec)
	if err != nil || len(loaded) != 2 {
		t.Fatalf("the recordings (%d) do not load with the spec: %v", len(loaded), err)
	}
	for _, sc := range loaded {
		if sc.Poll[0].Reply == nil || sc.Poll[0].Reply.Status != "QUEUED" || sc.OffSpec {
			t.Errorf("recording %s: first step %+v, off-spec %v; want QUEUED, on-spec", sc.Name, sc.Poll[0], sc.OffSpec)
		}
	}
	embedded, err := cambmock.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := scenarios.LoadPath(out, embedded); err == nil || !strings.Contains(err.Error(), "QUEUED") {
		t.Errorf("the recordings load without the spec (%v); want an error naming QUEUED", err)
	}
}

// TestSpecFlagErrors: a --spec that cannot be read, or is not a spec
// cambmock can serve, is a usage error naming the file, on verify, proxy
// and record alike.
func TestSpecFlagErrors(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "none.yaml")
	broken := filepath.Join(t.TempDir(), "broken.yaml")
	y := strings.Replace(string(cambmock.SpecYAML()), "        kind: tts\n        role: create\n", "        kind: tts\n        role: bulk\n", 1)
	if err := os.WriteFile(broken, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	for _, args := range [][]string{
		{"verify", "--api-key", "k"},
		{"proxy", "--addr", "127.0.0.1:0"},
		{"record", "--addr", "127.0.0.1:0", "--out", out},
	} {
		for _, tt := range []struct{ file, want string }{
			{missing, "--spec " + missing + ": stat " + missing + ": no such file or directory"},
			{broken, "--spec " + broken + ": openapi.yaml describes no polled-task family cambmock can serve:"},
		} {
			r := runCmd(t, nil, append(args, "--spec", tt.file)...)
			if r.code != 2 || r.err == nil || !strings.HasPrefix(r.err.Error(), tt.want) {
				t.Errorf("cambmock %s --spec %s: exit %d, %v; want 2 and an error starting %q", args[0], filepath.Base(tt.file), r.code, r.err, tt.want)
			}
		}
	}
}
