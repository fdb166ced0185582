package proxy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock/contract/proxy"
	"github.com/cambmock/cambmock/scenarios"
)

// taskUpstream hands out the given task ids in turn, answers each poll
// with SUCCESS and a run id of its own, and serves the run's audio: audio
// returns the bytes, and chunked says whether they go without a
// Content-Length.
type taskUpstream struct {
	mu      sync.Mutex
	ids     []string
	runs    map[string]int
	audio   []byte
	chunked bool
}

func (u *taskUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	defer u.mu.Unlock()
	rel := strings.TrimPrefix(r.URL.Path, "/apis")
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodPost && rel == "/text-to-sound":
		id := u.ids[0]
		u.ids = u.ids[1:]
		b, _ := json.Marshal(map[string]string{"task_id": id})
		w.Write(b)
	case strings.HasPrefix(rel, "/text-to-sound/"):
		id := strings.TrimPrefix(rel, "/text-to-sound/")
		run, ok := u.runs[id]
		if !ok {
			run = 1000 + len(u.runs)
			u.runs[id] = run
		}
		fmt.Fprintf(w, `{"status":"SUCCESS","run_id":%d,"exception_reason":null,"message":null}`, run)
	case strings.HasPrefix(rel, "/text-to-sound-result/"):
		w.Header().Set("Content-Type", "audio/wav")
		if !u.chunked {
			w.Header().Set("Content-Length", strconv.Itoa(len(u.audio)))
		}
		w.Write(u.audio[:1])
		http.NewResponseController(w).Flush()
		w.Write(u.audio[1:])
	default:
		http.NotFound(w, r)
	}
}

// createAndPoll creates a task through the proxy at base and polls it once.
func createAndPoll(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/text-to-sound", strings.NewReader(`{"prompt":"rain"}`))
	req.Header.Set("X-Api-Key", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		TaskID string `json:"task_id"`
	}
	json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	get(t, c, base+"/text-to-sound/"+url.PathEscape(created.TaskID))
	return created.TaskID
}

// TestRecordingNames records tasks whose ids share long prefixes, differ
// only in case, or have nothing a file name can keep: each gets a file of
// its own, named as a scenario, and all of them load.
func TestRecordingNames(t *testing.T) {
	prefix := "2026-12-01T22:33:22.123456789" // 30 characters with the next one
	ids := []string{prefix + "-a", prefix + "-b", "-", "日本語", "A", "a", "task 1", "x/../y"}
	up := &taskUpstream{ids: slices.Clone(ids), runs: map[string]int{}}
	dir := t.TempDir()
	rec, err := proxy.NewRecorder(proxy.RecorderConfig{Dir: dir, Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	_, ps := startProxy(t, upstreamFunc(t, up.ServeHTTP).URL+"/apis", proxy.WithRecorder(rec))
	for range ids {
		createAndPoll(t, ps.Client(), ps.URL+"/apis")
	}
	// "x/../y" can be created but not polled: the proxy refuses its path.
	// Nor is /text-to-sound/ recorded, an empty id being no operation of
	// openapi.yaml, though the upstream answers it.
	get(t, ps.Client(), ps.URL+"/apis/text-to-sound/")
	rec.Flush()

	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	name := regexp.MustCompile(`^rec-([a-z0-9-]+-)?[0-9a-f]{10}\.yaml$`)
	for _, f := range files {
		if !name.MatchString(filepath.Base(f)) {
			t.Errorf("file %s is not named rec-PREFIX-HASH.yaml", filepath.Base(f))
		}
	}
	if len(files) != len(ids)-1 { // less "x/../y"
		t.Errorf("%d tasks wrote %d files: %q", len(ids), len(files), files)
	}
	loaded, err := scenarios.LoadPath(dir, loadSpec(t))
	if err != nil {
		t.Fatalf("the recordings do not load: %v", err)
	}
	var names []string
	for _, sc := range loaded {
		names = append(names, sc.Name)
	}
	slices.Sort(names)
	want := []string{
		"rec-2026-12-01t22-33-22-1234-6985f1d9c9", // prefix + "-a"
		"rec-2026-12-01t22-33-22-1234-b9e2432a9b", // prefix + "-b"
		"rec-3973e022e9",        // "-"
		"rec-77710aedc7",        // "日本語"
		"rec-a-559aead082",      // "A"
		"rec-a-ca978112ca",      // "a"
		"rec-task-1-9c70423078", // "task 1"
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("recorded scenario names mismatch (-want +got):\n%s", diff)
	}
}

// TestScenarioName names ids that cannot be polled through the proxy.
func TestScenarioName(t *testing.T) {
	seen := map[string]string{}
	for _, id := range []string{"..", ".", "-", "", "..-", "日本語", "日本", strings.Repeat("x", 300)} {
		n := proxy.ScenarioName(id)
		if !regexp.MustCompile(`^rec-([a-z0-9][a-z0-9-]*-)?[0-9a-f]{10}$`).MatchString(n) || len(n) > 4+24+1+10 {
			t.Errorf("ScenarioName(%q) = %q; want rec-PREFIX-HASH, at most 39 characters", id, n)
		}
		if other, ok := seen[n]; ok {
			t.Errorf("ScenarioName(%q) = ScenarioName(%q) = %q", id, other, n)
		}
		seen[n] = id
		if _, err := scenarios.Parse(n+".yaml", []byte("description: d\npoll:\n  - status: PENDING\n")); err != nil {
			t.Errorf("ScenarioName(%q) = %q is not a scenario name: %v", id, n, err)
		}
	}
}

// TestKeepAudioCap records tasks whose audio is over MaxAudioBytes, with
// and without a Content-Length: the audio is not kept, no temporary file
// stays, the client gets all of it, and the recorder says so once.
func TestKeepAudioCap(t *testing.T) {
	audio := wavFile(5000, 5000)
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			up := &taskUpstream{ids: []string{"big-1"}, runs: map[string]int{}, audio: audio, chunked: chunked}
			dir := t.TempDir()
			logger, logs := newLogger()
			rec, err := proxy.NewRecorder(proxy.RecorderConfig{Dir: dir, Source: "test", KeepAudio: true, MaxAudioBytes: 4096, Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			_, ps := startProxy(t, upstreamFunc(t, up.ServeHTTP).URL+"/apis", proxy.WithRecorder(rec))
			createAndPoll(t, ps.Client(), ps.URL+"/apis")
			resp, body, err := get(t, ps.Client(), ps.URL+"/apis/text-to-sound-result/1000")
			if resp.StatusCode != 200 || err != nil || !bytes.Equal(body, audio) {
				t.Errorf("the client got %d, %d bytes, %v; want 200 and the %d bytes", resp.StatusCode, len(body), err, len(audio))
			}
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if len(names) != 1 || !strings.HasSuffix(names[0], ".yaml") {
				t.Errorf("the folder holds %q; want the scenario only", names)
			}
			if n := len(withMsg(logs.lines(t), "record: the audio is over the cap on kept audio (--max-audio-bytes); not kept")); n != 1 {
				t.Errorf("the cap was logged %d times; want once:\n%s", n, logs)
			}
		})
	}

	// Under the cap, the audio is kept.
	up := &taskUpstream{ids: []string{"small-1"}, runs: map[string]int{}, audio: audio, chunked: true}
	dir := t.TempDir()
	rec, _ := proxy.NewRecorder(proxy.RecorderConfig{Dir: dir, Source: "test", KeepAudio: true, MaxAudioBytes: int64(len(audio))})
	_, ps := startProxy(t, upstreamFunc(t, up.ServeHTTP).URL+"/apis", proxy.WithRecorder(rec))
	createAndPoll(t, ps.Client(), ps.URL+"/apis")
	get(t, ps.Client(), ps.URL+"/apis/text-to-sound-result/1000")
	wavs, _ := filepath.Glob(filepath.Join(dir, "rec-small-1-*.wav"))
	if len(wavs) != 1 {
		t.Fatalf("kept audio: %q; want rec-small-1-HASH.wav", wavs)
	}
	if kept, _ := os.ReadFile(wavs[0]); !bytes.Equal(kept, audio) {
		t.Errorf("the kept audio is %d bytes, not the %d served", len(kept), len(audio))
	}
	if yaml := strings.TrimSuffix(wavs[0], ".wav") + ".yaml"; !fileExists(yaml) {
		t.Errorf("the audio's name %s is not its scenario's", wavs[0])
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestRecorderSweeps starts a recorder in a folder where a killed one left
// temporary files: they go, everything else stays.
func TestRecorderSweeps(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{".rec-123.tmp", ".rec-audio-456", ".cambmock-probe-789", "rec-kept-0123456789.yaml", "rec-kept-0123456789.wav", "notes.txt", ".recipe"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Mkdir(filepath.Join(dir, ".rec-folder"), 0o755)
	logger, logs := newLogger()
	if _, err := proxy.NewRecorder(proxy.RecorderConfig{Dir: dir, Logger: logger}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{".rec-folder", ".recipe", "notes.txt", "rec-kept-0123456789.wav", "rec-kept-0123456789.yaml"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("the folder after NewRecorder mismatch (-want +got):\n%s", diff)
	}
	if n := len(withMsg(logs.lines(t), "record: removed a temporary file an earlier recorder left")); n != 3 {
		t.Errorf("logged %d removals; want 3:\n%s", n, logs)
	}
}

func TestRecorderConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  proxy.RecorderConfig
		want string
	}{
		{"no-dir", proxy.RecorderConfig{}, "record: no folder to write into"},
		{"negative-cap", proxy.RecorderConfig{Dir: t.TempDir(), MaxAudioBytes: -1},
			"record: MaxAudioBytes -1 is below zero; give the most bytes of audio to keep per file, or 0 for 104857600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := proxy.NewRecorder(tt.cfg)
			if err == nil || err.Error() != tt.want {
				t.Errorf("NewRecorder error = %v; want %q", err, tt.want)
			}
		})
	}
}
