package main

import (
	"encoding/json"
	"encoding/xml"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/contract"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
	"github.com/cambmock/cambmock/scenarios"
)

// checkNames returns the names of the contract checks, in report order.
func checkNames() []string {
	var names []string
	for _, c := range contract.Checks() {
		names = append(names, c.Name)
	}
	return names
}

// reportKinds returns the kinds of the embedded spec in report order: the
// default kind first, then the others by name.
func reportKinds(t *testing.T) []string {
	t.Helper()
	spec, err := cambmock.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	out := []string{spec.DefaultKind().Name}
	for _, k := range spec.Kinds() {
		if k.Name != out[0] {
			out = append(out, k.Name)
		}
	}
	return out
}

// resultIDs returns the report IDs of checks for kinds: the check's name
// for the default kind (the first), KIND/CHECK for the others.
func resultIDs(kinds []string, checks ...string) []string {
	var out []string
	for i, k := range kinds {
		for _, c := range checks {
			if i == 0 && k == "text-to-sound" {
				out = append(out, c)
			} else {
				out = append(out, k+"/"+c)
			}
		}
	}
	return out
}

// TestVerify runs verify against mock servers. The servers run on the real
// clock, since verify polls in real time: the two cases with --allow-spend
// take some seconds each, side by side.
func TestVerify(t *testing.T) {
	t.Parallel()
	const key = "sk-cambmock-verify-test-91be04c7"
	tests := []struct {
		name     string
		args     []string          // after --base-url and --api-key
		env      map[string]string // if set, it gives the base URL and key instead
		wantCode int
		check    func(t *testing.T, r result, dir, base string)
	}{
		{
			name:     "allow-spend",
			args:     []string{"--allow-spend", "--duration", "1s"},
			wantCode: 0,
			check: func(t *testing.T, r result, dir, base string) {
				for _, want := range []string{"PASS  task-created", "PASS  result-audio", "PASS  terminal-is-final", " passed, 0 failed, ",
					"\ntts: ", "PASS  tts/task-created", "PASS  tts/result-audio", "PASS  tts/result-file-url", "PASS  audio-separation/result-file-url",
					"PASS  translated-tts/result-audio", "PASS  translation/bulk-answers"} {
					if !strings.Contains(r.stdout, want) {
						t.Errorf("the report has no %q:\n%s", want, r.stdout)
					}
				}
				want := "verify: --allow-spend: this run creates 1 text-to-sound task (1s of sound), 1 audio-separation task (uploading a 0.5s WAV), 1 dub task, " +
					"1 text-to-voice task, 1 transcription task (uploading a 0.5s WAV), 1 translated-tts task, 1 translation task and 1 tts task at " +
					base + "; on the live API it costs credits\n"
				if !strings.HasPrefix(r.stderr, want) {
					t.Errorf("stderr = %q; want it to start with %q", r.stderr, want)
				}
			},
		},
		{
			name:     "kinds",
			args:     []string{"--allow-spend", "--kind", "tts", "--kind", "dub", "--format", "json"},
			wantCode: 0,
			check: func(t *testing.T, r result, dir, base string) {
				if want := "verify: --allow-spend: this run creates 1 dub task and 1 tts task at " + base + "; on the live API it costs credits\n"; !strings.HasPrefix(r.stderr, want) {
					t.Errorf("stderr = %q; want it to start with %q", r.stderr, want)
				}
				var rep struct {
					Kinds   []string `json:"kinds"`
					Results []struct {
						ID      string           `json:"id"`
						Kind    string           `json:"kind"`
						Outcome contract.Outcome `json:"outcome"`
					} `json:"results"`
				}
				if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
					t.Fatalf("--format json printed no JSON report: %v\n%s", err, r.stdout)
				}
				var ids []string
				for _, res := range rep.Results {
					ids = append(ids, res.ID)
					if !strings.HasPrefix(res.ID, res.Kind+"/") {
						t.Errorf("result %s is of kind %s; want its ID to name it", res.ID, res.Kind)
					}
				}
				if diff := cmp.Diff(resultIDs([]string{"dub", "tts"}, checkNames()...), ids); diff != "" || !cmp.Equal(rep.Kinds, []string{"dub", "tts"}) {
					t.Errorf("--kind tts --kind dub: kinds %v, results mismatch (-want +got):\n%s", rep.Kinds, diff)
				}
			},
		},
		{
			name:     "drift",
			args:     []string{"--allow-spend", "--scenario", "drift-failed-status"},
			wantCode: 1,
			check: func(t *testing.T, r result, dir, base string) {
				if !strings.Contains(r.stdout, "FAIL  status-conforms") {
					t.Errorf("the report does not fail status-conforms:\n%s", r.stdout)
				}
				if msg := r.err.Error(); !strings.HasPrefix(msg, "verify: ") || !strings.Contains(msg, "status-conforms") {
					t.Errorf("error %q does not name status-conforms", msg)
				}
			},
		},
		{
			name:     "read-only-json-junit",
			args:     []string{"--format", "json", "--junit", "JUNIT"},
			wantCode: 0,
			check: func(t *testing.T, r result, dir, base string) {
				// Not a contract.Report: its Duration fields cannot be decoded.
				var rep struct {
					BaseURL  string `json:"base_url"`
					ReadOnly bool   `json:"read_only"`
					Results  []struct {
						Name    string           `json:"name"`
						ID      string           `json:"id"`
						Outcome contract.Outcome `json:"outcome"`
						Note    string           `json:"note"`
					} `json:"results"`
				}
				if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
					t.Fatalf("--format json printed no JSON report: %v\n%s", err, r.stdout)
				}
				var names []string
				for _, res := range rep.Results {
					names = append(names, res.ID)
					if res.Name == contract.CheckResultAudio && (res.Outcome != contract.Skip || !strings.Contains(res.Note, "--allow-spend")) {
						t.Errorf("read-only %s = %s %q; want skip, with a note that names --allow-spend", res.ID, res.Outcome, res.Note)
					}
				}
				if diff := cmp.Diff(resultIDs(reportKinds(t), checkNames()...), names); diff != "" {
					t.Errorf("JSON report results mismatch (-want +got):\n%s", diff)
				}
				if !rep.ReadOnly || rep.BaseURL != base {
					t.Errorf("JSON report read_only %v, base_url %q; want true, %q", rep.ReadOnly, rep.BaseURL, base)
				}

				data, err := os.ReadFile(filepath.Join(dir, "report.xml"))
				if err != nil {
					t.Fatalf("--junit wrote no file: %v", err)
				}
				if strings.Contains(string(data), key) {
					t.Errorf("the JUnit file holds the API key")
				}
				var suite struct {
					Tests int `xml:"tests,attr"`
					Cases []struct {
						Name    string    `xml:"name,attr"`
						Skipped *struct{} `xml:"skipped"`
						Failure *struct{} `xml:"failure"`
					} `xml:"testcase"`
				}
				if err := xml.Unmarshal(data, &suite); err != nil {
					t.Fatalf("the JUnit file is not XML: %v\n%s", err, data)
				}
				var cases []string
				for _, c := range suite.Cases {
					cases = append(cases, c.Name)
					if c.Failure != nil {
						t.Errorf("JUnit test case %s failed", c.Name)
					}
				}
				if diff := cmp.Diff(resultIDs(reportKinds(t), checkNames()...), cases); diff != "" || suite.Tests != len(cases) {
					t.Errorf("JUnit test cases (tests=%d) mismatch (-want +got):\n%s", suite.Tests, diff)
				}
			},
		},
		{
			name:     "read-only-environment",
			env:      map[string]string{"CAMB_BASE_URL": "BASE", "CAMB_API_KEY": key},
			wantCode: 0,
			check: func(t *testing.T, r result, dir, base string) {
				for _, want := range []string{"cambmock verify " + base + " (read-only, ", "PASS  auth-wrong-key", "SKIP  result-audio"} {
					if !strings.Contains(r.stdout, want) {
						t.Errorf("the report has no %q:\n%s", want, r.stdout)
					}
				}
				if want := "verify: read-only: no task will be created (0 task id(s) given)\n"; r.stderr != want {
					t.Errorf("stderr = %q; want %q", r.stderr, want)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := mockservertest.NewTestServer(t, mockserver.WithAPIKeys(key), mockserver.WithClock(scenarios.SystemClock()))
			dir := t.TempDir()
			var args []string
			for _, a := range tt.args {
				args = append(args, strings.ReplaceAll(a, "JUNIT", filepath.Join(dir, "report.xml")))
			}
			env := map[string]string{}
			for k, v := range tt.env {
				env[k] = strings.ReplaceAll(v, "BASE", ts.BaseURL())
			}
			if tt.env == nil {
				args = append([]string{"--base-url", ts.BaseURL(), "--api-key", key}, args...)
			}
			r := runCmd(t, env, append([]string{"verify"}, args...)...)
			if r.code != tt.wantCode {
				t.Errorf("cambmock verify %q: exit %d (error %v); want %d\nstdout:\n%s", args, r.code, r.err, tt.wantCode, r.stdout)
			}
			if strings.Contains(r.stdout, key) || strings.Contains(r.stderr, key) {
				t.Errorf("cambmock verify printed the API key:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			}
			tt.check(t, r, dir, ts.BaseURL())
		})
	}
}

// TestVerifyUnreachable checks verify against a closed port: it cannot
// run, which is exit status 2. The --timeout cuts short the retries of the
// first request (1 s, 2 s, 4 s and 8 s apart).
func TestVerifyUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	const key = "sk-cambmock-unreachable-3d9a"
	base := "http://" + addr + "/apis"
	r := runCmd(t, nil, "verify", "--base-url", base, "--api-key", key, "--timeout", "300ms")
	if r.code != 2 {
		t.Errorf("cambmock verify against a closed port: exit %d; want 2", r.code)
	}
	want := "cannot check the target " + base + ": cannot connect to " + addr +
		": connect: connection refused; is the server running, and is --base-url right?"
	if r.err == nil || r.err.Error() != want {
		t.Errorf("cambmock verify against a closed port: error %v; want %q", r.err, want)
	}
	if r.stdout != "" {
		t.Errorf("cambmock verify wrote a report for a target it could not reach:\n%s", r.stdout)
	}
	if strings.Contains(r.stderr, key) {
		t.Errorf("cambmock verify printed the API key:\n%s", r.stderr)
	}
}
