package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/scenarios"
)

var update = flag.Bool("update", false, "rewrite golden files")

// result is what one run of the command left behind.
type result struct {
	stdout, stderr string
	err            error // what run returned
	code           int   // the exit status main would use
}

// runCmd runs the command in-process with the environment env (nothing
// else of the real environment is seen) and returns what it wrote. A run
// that is still going after 30 s is cancelled.
func runCmd(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, args, &stdout, &stderr, getenv(env))
	code := exitCode(err, &stderr)
	return result{stdout: stdout.String(), stderr: stderr.String(), err: err, code: code}
}

// getenv returns a getenv function that reads env only.
func getenv(env map[string]string) func(string) string {
	return func(name string) string { return env[name] }
}

// syncBuffer is a bytes.Buffer safe for one writer and many readers, for
// the logs of a server running in another goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v; run go test -update to create it", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s\nIf the change is intended, run go test -update.", path, diff)
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		golden string
		// alias is true for the other spellings of a help request: they
		// must print the golden file's text, but -update leaves it alone.
		alias bool
	}{
		{name: "help", args: []string{"help"}, golden: "help.golden"},
		{name: "dash-help", args: []string{"--help"}, golden: "help.golden", alias: true},
		{name: "help-help", args: []string{"help", "help"}, golden: "help.golden", alias: true},
		{name: "serve", args: []string{"serve", "--help"}, golden: "serve-help.golden"},
		{name: "serve-h", args: []string{"serve", "-h"}, golden: "serve-help.golden", alias: true},
		{name: "help-serve", args: []string{"help", "serve"}, golden: "serve-help.golden", alias: true},
		{name: "scenarios", args: []string{"scenarios", "--help"}, golden: "scenarios-help.golden"},
		{name: "help-scenarios", args: []string{"help", "scenarios"}, golden: "scenarios-help.golden", alias: true},
		{name: "verify", args: []string{"verify", "--help"}, golden: "verify-help.golden"},
		{name: "help-verify", args: []string{"help", "verify"}, golden: "verify-help.golden", alias: true},
		{name: "proxy", args: []string{"proxy", "--help"}, golden: "proxy-help.golden"},
		{name: "record", args: []string{"record", "--help"}, golden: "record-help.golden"},
		{name: "matrix", args: []string{"matrix", "--help"}, golden: "matrix-help.golden"},
		{name: "health", args: []string{"health", "--help"}, golden: "health-help.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCmd(t, nil, tt.args...)
			if r.code != 0 {
				t.Errorf("cambmock %q: exit %d, error %v; want exit 0", tt.args, r.code, r.err)
			}
			if r.stderr != "" {
				t.Errorf("cambmock %q wrote to stderr:\n%s", tt.args, r.stderr)
			}
			if !tt.alias {
				golden(t, tt.golden, r.stdout)
				return
			}
			if *update {
				return
			}
			want, err := os.ReadFile(filepath.Join("testdata", tt.golden))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), r.stdout); diff != "" {
				t.Errorf("cambmock %q mismatch with testdata/%s (-want +got):\n%s", tt.args, tt.golden, diff)
			}
		})
	}
}

// TestHelpIgnoresEnvironment checks that the help text shows the built-in
// defaults, not the values of the environment: those can be API keys.
func TestHelpIgnoresEnvironment(t *testing.T) {
	t.Parallel()
	const secret = "sk-help-must-not-print-this"
	env := map[string]string{
		"CAMB_API_KEY":        secret,
		"CAMB_BASE_URL":       "http://127.0.0.1:1/apis",
		"CAMBMOCK_API_KEY":    secret + "-1," + secret + "-2",
		"CAMBMOCK_ADDR":       "127.0.0.1:9999",
		"CAMBMOCK_MAX_TASKS":  "7",
		"CAMBMOCK_HANG_LIMIT": "3s",
	}
	for _, cmd := range []string{"serve", "scenarios", "verify"} {
		t.Run(cmd, func(t *testing.T) {
			t.Parallel()
			withEnv := runCmd(t, env, cmd, "--help")
			without := runCmd(t, nil, cmd, "--help")
			if strings.Contains(withEnv.stdout, secret) {
				t.Errorf("cambmock %s --help with $CAMB_API_KEY and $CAMBMOCK_API_KEY set prints the key:\n%s", cmd, withEnv.stdout)
			}
			if diff := cmp.Diff(without.stdout, withEnv.stdout); diff != "" {
				t.Errorf("cambmock %s --help depends on the environment (-without +with):\n%s", cmd, diff)
			}
		})
	}
}

// TestHelpListsFlags checks that each command's help text lists every flag
// the command takes, each with its environment variable if it has one.
func TestHelpListsFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cmd   string
		flags map[string]string // flag -> variable ("" for none)
	}{
		{"serve", map[string]string{
			"addr":        "CAMBMOCK_ADDR",
			"admin-token": "CAMBMOCK_ADMIN_TOKEN",
			"api-key":     "CAMBMOCK_API_KEY",
			"clock":       "CAMBMOCK_CLOCK",
			"spec":        "CAMBMOCK_SPEC",
			"gc-headroom": "CAMBMOCK_GC_HEADROOM",
			"hang-limit":  "CAMBMOCK_HANG_LIMIT",
			"log-format":  "CAMBMOCK_LOG_FORMAT",
			"log-level":   "CAMBMOCK_LOG_LEVEL",
			"max-tasks":   "CAMBMOCK_MAX_TASKS",
			"scenario":    "CAMBMOCK_SCENARIO",
			"scenarios":   "CAMBMOCK_SCENARIOS",
			"store":       "CAMBMOCK_STORE",
			"strict":      "CAMBMOCK_STRICT",
			"task-ttl":    "CAMBMOCK_TASK_TTL",
			"time-scale":  "CAMBMOCK_TIME_SCALE",
		}},
		{"scenarios", map[string]string{
			"format":    "CAMBMOCK_FORMAT",
			"scenarios": "CAMBMOCK_SCENARIOS",
			"spec":      "CAMBMOCK_SPEC",
		}},
		{"verify", map[string]string{
			"allow-spend":   "CAMB_ALLOW_SPEND",
			"api-key":       "CAMB_API_KEY",
			"base-url":      "CAMB_BASE_URL",
			"duration":      "",
			"format":        "",
			"junit":         "",
			"kind":          "CAMB_KINDS",
			"pending-bound": "",
			"scenario":      "",
			"spec":          "CAMBMOCK_SPEC",
			"task-id":       "CAMB_TASK_IDS",
			"timeout":       "CAMBMOCK_VERIFY_TIMEOUT",
		}},
		{"proxy", map[string]string{
			"addr":        "CAMBMOCK_PROXY_ADDR",
			"admin-token": "CAMBMOCK_ADMIN_TOKEN",
			"enforce":     "CAMBMOCK_ENFORCE",
			"log-format":  "CAMBMOCK_LOG_FORMAT",
			"log-level":   "CAMBMOCK_LOG_LEVEL",
			"spec":        "CAMBMOCK_SPEC",
			"timeout":     "CAMBMOCK_UPSTREAM_TIMEOUT",
			"upstream":    "CAMBMOCK_UPSTREAM",
		}},
		{"record", map[string]string{
			"addr":            "CAMBMOCK_PROXY_ADDR",
			"admin-token":     "CAMBMOCK_ADMIN_TOKEN",
			"enforce":         "CAMBMOCK_ENFORCE",
			"keep-audio":      "CAMBMOCK_KEEP_AUDIO",
			"log-format":      "CAMBMOCK_LOG_FORMAT",
			"log-level":       "CAMBMOCK_LOG_LEVEL",
			"max-audio-bytes": "CAMBMOCK_MAX_AUDIO_BYTES",
			"out":             "CAMBMOCK_RECORD_DIR",
			"spec":            "CAMBMOCK_SPEC",
			"timeout":         "CAMBMOCK_UPSTREAM_TIMEOUT",
			"upstream":        "CAMBMOCK_UPSTREAM",
		}},
		{"matrix", map[string]string{
			"allow-polls-after-terminal": "",
			"allow-polls-after-unknown":  "",
			"client":                     "CAMBMOCK_CLIENT",
			"deadline":                   "",
			"format":                     "",
			"ignore-retry-after":         "",
			"junit":                      "",
			"max-polls":                  "",
			"min-interval":               "",
			"only":                       "",
			"parallel":                   "",
			"scenarios":                  "CAMBMOCK_SCENARIOS",
			"spec":                       "CAMBMOCK_SPEC",
			"time-scale":                 "CAMBMOCK_TIME_SCALE",
		}},
		{"health", map[string]string{
			"timeout": "",
			"url":     "CAMBMOCK_HEALTH_URL",
		}},
	}
	flagLine := regexp.MustCompile(`^  --([a-z-]+)`)
	envVar := regexp.MustCompile(`\[\$([A-Z_]+)\]$`)
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			t.Parallel()
			r := runCmd(t, nil, tt.cmd, "--help")
			_, list, ok := strings.Cut(r.stdout, "\nFlags:\n")
			if !ok {
				t.Fatalf("cambmock %s --help has no Flags: section:\n%s", tt.cmd, r.stdout)
			}
			got := map[string]string{}
			lines := strings.Split(strings.TrimSuffix(list, "\n"), "\n")
			for i := 0; i < len(lines); i++ {
				m := flagLine.FindStringSubmatch(lines[i])
				if m == nil || i+1 == len(lines) {
					t.Fatalf("cambmock %s --help: line %q is not a flag followed by its description", tt.cmd, lines[i])
				}
				i++
				got[m[1]] = ""
				if v := envVar.FindStringSubmatch(lines[i]); v != nil {
					got[m[1]] = v[1]
				}
			}
			if diff := cmp.Diff(tt.flags, got); diff != "" {
				t.Errorf("cambmock %s --help flags and variables mismatch (-want +got):\n%s", tt.cmd, diff)
			}
		})
	}
}

// builtins returns the built-in scenarios, sorted by name.
func builtins(t *testing.T) []*scenarios.Scenario {
	t.Helper()
	spec, err := cambmock.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	all, err := scenarios.Builtins(spec)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// builtinNames returns the names of the built-in scenarios, sorted.
func builtinNames(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, sc := range builtins(t) {
		names = append(names, sc.Name)
	}
	return names
}

// commands is how usage errors list the commands.
const commands = "serve, scenarios, verify, proxy, record, matrix, health, spec, version"

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	known := strings.Join(builtinNames(t), ", ")
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		want      string // the error, word for word
		wantUsage bool   // the overview is printed to stderr too
	}{
		{
			name:      "no-command",
			want:      "no command given; run one of " + commands,
			wantUsage: true,
		},
		{
			name:      "unknown-command",
			args:      []string{"srve"},
			want:      `unknown command "srve"; run one of ` + commands,
			wantUsage: true,
		},
		{
			name:      "help-unknown-command",
			args:      []string{"help", "srve"},
			want:      `unknown command "srve"; run one of ` + commands,
			wantUsage: true,
		},
		{
			name: "unknown-flag",
			args: []string{"serve", "--port", "8080"},
			want: "serve: flag provided but not defined: -port; run cambmock serve --help",
		},
		{
			name: "flag-without-value",
			args: []string{"serve", "--addr"},
			want: "serve: flag needs an argument: -addr; run cambmock serve --help",
		},
		{
			name: "stray-argument",
			args: []string{"serve", "--addr", "127.0.0.1:0", "rate-limited"},
			want: `serve: unexpected argument "rate-limited"; flags start with --`,
		},
		{
			name: "clock",
			args: []string{"serve", "--clock", "fast"},
			want: `serve: --clock "fast" is not real or manual`,
		},
		{
			name: "addr",
			args: []string{"serve", "--addr", "nonsense"},
			want: `serve: --addr "nonsense" is not host:port, such as 127.0.0.1:8080`,
		},
		{
			name: "addr-port",
			args: []string{"serve", "--addr", "127.0.0.1:99999"},
			want: `serve: --addr "127.0.0.1:99999" is not host:port, such as 127.0.0.1:8080`,
		},
		{
			name: "log-format",
			args: []string{"serve", "--addr", "127.0.0.1:0", "--log-format", "xml"},
			want: `serve: --log-format "xml" is not text or json`,
		},
		{
			name: "log-level",
			args: []string{"serve", "--addr", "127.0.0.1:0", "--log-level", "loud"},
			want: `serve: --log-level "loud" is not debug, info, warn or error`,
		},
		{
			name: "max-tasks",
			args: []string{"serve", "--addr", "127.0.0.1:0", "--max-tasks", "0"},
			want: "serve: --max-tasks 0 is below 1; give the number of tasks to hold",
		},
		{
			name: "gc-headroom",
			args: []string{"serve", "--addr", "127.0.0.1:0", "--gc-headroom", "-5"},
			want: "serve: --gc-headroom -5 is not between 0 and 1048576; give MiB, such as 64, or 0 for Go's default",
		},
		{
			name: "hang-limit",
			args: []string{"serve", "--addr", "127.0.0.1:0", "--hang-limit", "0s"},
			want: "serve: --hang-limit 0s is not above zero; give a duration such as 30s",
		},
		{
			name: "empty-api-key",
			args: []string{"serve", "--addr", "127.0.0.1:0", "--api-key", ""},
			want: `serve: invalid value "" for flag -api-key: empty value; run cambmock serve --help`,
		},
		{
			name: "unknown-scenario",
			args: []string{"serve", "--addr", "127.0.0.1:0", "--scenario", "nope"},
			want: `mockserver: default scenario "nope": unknown scenario; known: ` + known,
		},
		{
			name: "env-strict",
			args: []string{"serve"},
			env:  map[string]string{"CAMBMOCK_STRICT": "maybe"},
			want: `serve: $CAMBMOCK_STRICT="maybe" is not true or false`,
		},
		{
			name: "env-max-tasks",
			args: []string{"serve"},
			env:  map[string]string{"CAMBMOCK_MAX_TASKS": "lots"},
			want: `serve: $CAMBMOCK_MAX_TASKS="lots" is not a whole number`,
		},
		{
			name: "env-hang-limit",
			args: []string{"serve"},
			env:  map[string]string{"CAMBMOCK_HANG_LIMIT": "soon"},
			want: `serve: $CAMBMOCK_HANG_LIMIT="soon" is not a duration such as 30s`,
		},
		{
			name: "env-clock",
			args: []string{"serve"},
			env:  map[string]string{"CAMBMOCK_CLOCK": "fast"},
			want: `serve: --clock "fast" is not real or manual`,
		},
		{
			name: "scenarios-format",
			args: []string{"scenarios", "--format", "xml"},
			want: `scenarios: --format "xml" is not text or json`,
		},
		{
			name: "scenarios-stray-argument",
			args: []string{"scenarios", "success"},
			want: `scenarios: unexpected argument "success"; flags start with --`,
		},
		{
			name: "verify-no-key",
			args: []string{"verify", "--base-url", "http://127.0.0.1:1/apis"},
			want: "verify: no API key; give --api-key KEY or set $CAMB_API_KEY",
		},
		{
			name: "verify-format",
			args: []string{"verify", "--api-key", "k", "--format", "xml"},
			want: `verify: --format "xml" is not text or json`,
		},
		{
			name: "verify-duration",
			args: []string{"verify", "--api-key", "k", "--duration", "30s"},
			want: "verify: --duration 30s is above 10s, the most a text-to-sound task's duration may be (openapi.yaml's x-cambmock audio-length max)",
		},
		{
			name: "verify-unknown-kind",
			args: []string{"verify", "--api-key", "k", "--kind", "tts", "--kind", "speech"},
			want: `verify: --kind "speech" is not a kind of task the spec declares; give one of audio-separation, dub, text-to-sound, text-to-voice, transcription, translated-tts, translation, tts`,
		},
		{
			name: "verify-task-id-of-a-kind-left-out",
			args: []string{"verify", "--api-key", "k", "--kind", "tts", "--task-id", "dub/abc"},
			want: `cannot check the target: task id "dub/abc" is a dub task, but Target.Kinds (--kind) leaves dub out; check dub too, or leave the id out`,
		},
		{
			name: "verify-env-allow-spend",
			args: []string{"verify", "--api-key", "k"},
			env:  map[string]string{"CAMB_ALLOW_SPEND": "yes please"},
			want: `verify: $CAMB_ALLOW_SPEND="yes please" is not true or false`,
		},
		{
			name: "verify-bad-base-url",
			args: []string{"verify", "--api-key", "k", "--base-url", "127.0.0.1:8080/apis"},
			want: `cannot check the target: base URL "127.0.0.1:8080/apis" is not an http(s) URL such as https://client.camb.ai/apis`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCmd(t, tt.env, tt.args...)
			if r.code != 2 {
				t.Errorf("cambmock %q: exit %d; want 2", tt.args, r.code)
			}
			if r.err == nil {
				t.Fatalf("cambmock %q: no error; want %q", tt.args, tt.want)
			}
			if diff := cmp.Diff(tt.want, r.err.Error()); diff != "" {
				t.Errorf("cambmock %q error mismatch (-want +got):\n%s", tt.args, diff)
			}
			if !strings.HasSuffix(r.stderr, "cambmock: "+tt.want+"\n") {
				t.Errorf("cambmock %q stderr does not end with the error:\n%s", tt.args, r.stderr)
			}
			if got := strings.HasPrefix(r.stderr, usage); got != tt.wantUsage {
				t.Errorf("cambmock %q printed the usage to stderr: %v; want %v", tt.args, got, tt.wantUsage)
			}
			if r.stdout != "" {
				t.Errorf("cambmock %q wrote to stdout:\n%s", tt.args, r.stdout)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := runCmd(t, nil, "version")
	if r.code != 0 {
		t.Errorf("cambmock version: exit %d, error %v; want 0", r.code, r.err)
	}
	v, ok := strings.CutPrefix(r.stdout, "cambmock ")
	if !ok || strings.TrimSpace(v) == "" || !strings.HasSuffix(v, "\n") || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf(`cambmock version printed %q; want one line "cambmock VERSION"`, r.stdout)
	}
}
