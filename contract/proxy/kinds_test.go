package proxy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock/contract"
	"github.com/cambmock/cambmock/contract/proxy"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
	"github.com/cambmock/cambmock/scenarios"
)

// kindCall is how a client calls one kind of task, written out by hand
// (not from the spec) so that the proxy's reading of the spec is tested.
type kindCall struct {
	kind        string
	create      string // the create path
	contentType string // "" for a multipart body with a file
	body        string
	status      string   // the status path, without the id
	results     []string // result paths, without the run id
	bulk        string   // the bulk path, or ""
}

func kindCalls() []kindCall {
	return []kindCall{
		{kind: "tts", create: "/tts", contentType: "application/json", body: `{"text":"hello","voice_id":1,"language":1}`,
			status: "/tts/", results: []string{"/tts-result/", "/tts-result/?output_type=file_url"}, bulk: "/tts-results"},
		{kind: "audio-separation", create: "/audio-separation", status: "/audio-separation/",
			results: []string{"/audio-separation-result/"}, bulk: "/audio-separation-results"},
		{kind: "dub", create: "/dub", contentType: "application/json", body: `{"video_url":"https://example.org/a.mp4","source_language":1}`,
			status: "/dub/", results: []string{"/dub-result/"}, bulk: "/dubbing-results"},
		{kind: "translated-tts", create: "/translated-tts", contentType: "application/json",
			body:   `{"text":"hello","voice_id":1,"source_language":1,"target_language":54}`,
			status: "/translated-tts/", results: []string{"/tts-result/", "/translation-result/"}},
	}
}

// createBody returns the body of kc's create request and its Content-Type.
func (kc kindCall) createBody() (string, string) {
	if kc.contentType != "" {
		return kc.body, kc.contentType
	}
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	part, _ := w.CreateFormFile("media_file", "a.wav")
	part.Write(wavFile(1600, 1600))
	w.Close()
	return b.String(), w.FormDataContentType()
}

// run creates a task of kc's kind playing scenario through c, polls it
// until terminal (advancing the clock between polls) and fetches its
// results; it returns the task id and what each poll got.
func (kc kindCall) run(t *testing.T, c *client, scenario string, advance func()) (string, []string) {
	t.Helper()
	body, ct := kc.createBody()
	req, _ := http.NewRequest(http.MethodPost, c.base+kc.create, strings.NewReader(body))
	req.Header.Set("X-Api-Key", key)
	req.Header.Set("Content-Type", ct)
	req.Header.Set(mockserver.ScenarioHeader, scenario)
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		TaskID string `json:"task_id"`
	}
	json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if resp.StatusCode != 200 || created.TaskID == "" {
		t.Fatalf("create %s: %d", kc.kind, resp.StatusCode)
	}
	var seen []string
	var run string
	for range 12 {
		code, _, b := c.do("GET", kc.status+created.TaskID, "")
		var st struct {
			Status string `json:"status"`
			RunID  any    `json:"run_id"`
		}
		json.Unmarshal(b, &st)
		seen = append(seen, strings.TrimSpace(http.StatusText(code)+" "+st.Status))
		if st.Status != "" && st.Status != "PENDING" {
			if n, ok := st.RunID.(float64); ok {
				run = strconv.FormatInt(int64(n), 10)
			}
			break
		}
		advance()
	}
	if run != "" {
		for _, r := range kc.results {
			path, query, _ := strings.Cut(r, "?")
			if query != "" {
				query = "?" + query
			}
			if code, _, b := c.do("GET", path+run+query, ""); code != 200 {
				t.Errorf("%s%s%s: %d %s", path, run, query, code, b)
			}
		}
		if kc.bulk != "" {
			if code, _, b := c.do("POST", kc.bulk, `{"run_ids":[`+run+`]}`); code != 200 {
				t.Errorf("%s: %d %s", kc.bulk, code, b)
			}
		}
	}
	return created.TaskID, seen
}

// TestRecordEveryKind records tasks of other kinds than text-to-sound
// through the proxy, from the spec's operations: each task gets a file of
// its own named for its kind, which loads, replays its statuses on
// another kind of task, and holds its audio with --keep-audio; the
// on-spec traffic is no finding.
func TestRecordEveryKind(t *testing.T) {
	for _, kc := range kindCalls() {
		t.Run(kc.kind, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			up := mockservertest.NewTestServer(t)
			rec, err := proxy.NewRecorder(proxy.RecorderConfig{Dir: dir, Source: "test", KeepAudio: true, Now: up.Clock().Now})
			if err != nil {
				t.Fatal(err)
			}
			p, ps := startProxy(t, up.BaseURL(), proxy.WithRecorder(rec))
			c := &client{t: t, base: ps.URL + "/apis", http: ps.Client()}
			_, recorded := kc.run(t, c, "error", func() { up.Advance(1500 * time.Millisecond) })
			if want := []string{"OK PENDING", "OK ERROR"}; !cmp.Equal(want, recorded) {
				t.Fatalf("the %s task's polls = %q; want %q", kc.kind, recorded, want)
			}
			_, success := kc.run(t, c, "success", func() { up.Advance(1500 * time.Millisecond) })
			if success[len(success)-1] != "OK SUCCESS" {
				t.Fatalf("the %s task's polls = %q; want SUCCESS at last", kc.kind, success)
			}
			// The client may have every byte of the audio before the proxy
			// has judged and saved it: Close waits for its handlers.
			ps.Close()
			if s := p.Summary(); len(s.Findings) != 0 {
				t.Errorf("findings of on-spec %s traffic: %+v", kc.kind, s.Findings)
			}

			files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
			if len(files) != 2 {
				t.Fatalf("recorded files: %v; want one per task", files)
			}
			for _, f := range files {
				if !strings.HasPrefix(filepath.Base(f), "rec-"+kc.kind+"-") {
					t.Errorf("file %s is not named for its kind, rec-%s-...", filepath.Base(f), kc.kind)
				}
				data, _ := os.ReadFile(f)
				if !strings.Contains(string(data), "(a "+kc.kind+" task)") {
					t.Errorf("%s does not say it recorded a %s task:\n%s", filepath.Base(f), kc.kind, data)
				}
			}
			audio, _ := filepath.Glob(filepath.Join(dir, "*.wav"))
			if wantAudio := slices.Contains(kc.results, "/tts-result/"); wantAudio != (len(audio) == 1) {
				t.Errorf("kept audio: %v; want one file: %v", audio, wantAudio)
			}
			if st := rec.Stats(); st.Written != 2 || st.Evicted != 0 || st.DroppedRuns != 0 || st.DroppedSteps != 0 {
				t.Errorf("recorder stats %+v; want 2 written, nothing dropped", st)
			}

			// The recording of the error task replays on a text-to-sound task.
			loaded, err := scenarios.LoadPath(dir, up.Server().Spec())
			if err != nil {
				t.Fatalf("the recordings do not load: %v", err)
			}
			var errorRec string
			for _, sc := range loaded {
				if strings.Contains(sc.Description, "ERROR") {
					errorRec = sc.Name
				}
			}
			replay := mockservertest.NewTestServer(t, mockserver.WithScenarios(loaded...))
			rc := &client{t: t, base: replay.BaseURL(), http: replay.Client()}
			if replayed := rc.flow(errorRec, func() { replay.Advance(1500 * time.Millisecond) }); !cmp.Equal(recorded, replayed) {
				t.Errorf("the %s recording replayed on text-to-sound: %q; want %q", kc.kind, replayed, recorded)
			}
		})
	}
}

// TestMonitorEveryKind plays off-spec scenarios on other kinds than
// text-to-sound through the proxy: the findings name the check for the
// defect and the kind's operation.
func TestMonitorEveryKind(t *testing.T) {
	tests := []struct {
		kind, scenario, check, operation string
	}{
		{"tts", "drift-run-id-string", contract.CheckSuccessRunID, "getTtsStatus"},
		{"dub", "drift-terminal-regress", contract.CheckTerminalIsFinal, "getDubStatus"},
		{"audio-separation", "drift-failed-status", contract.CheckStatusConforms, "getAudioSeparationStatus"},
		{"translated-tts", "drift-missing-retry-after", contract.CheckRetryAfter, "getTranslatedTtsStatus"},
	}
	calls := map[string]kindCall{}
	for _, kc := range kindCalls() {
		calls[kc.kind] = kc
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			t.Parallel()
			up := mockservertest.NewTestServer(t)
			p, ps := startProxy(t, up.BaseURL())
			c := &client{t: t, base: ps.URL + "/apis", http: ps.Client()}
			id, _ := calls[tt.kind].run(t, c, tt.scenario, func() { up.Advance(1500 * time.Millisecond) })
			for range 2 { // after a terminal status, as a careless client polls
				c.do("GET", calls[tt.kind].status+id, "")
			}
			var got []string
			for _, f := range p.Summary().Findings {
				got = append(got, f.Check+" "+f.Operation)
			}
			if want := tt.check + " " + tt.operation; !slices.Contains(got, want) {
				t.Errorf("findings %q; want %q among them", got, want)
			}
		})
	}
}

// TestAudioTypeThroughProxy streams tts audio through the proxy labelled
// as FLAC: real FLAC passes, a WAV labelled audio/flac is a result-audio
// finding saying so, and the client gets every byte either way.
func TestAudioTypeThroughProxy(t *testing.T) {
	flac := append([]byte("fLaC\x00\x00\x00\x22"), make([]byte, 5000)...)
	wav := wavFile(16000, 16000)
	for _, tt := range []struct {
		name string
		body []byte
		want []string
	}{
		{"flac", flac, nil},
		{"wav labelled flac", wav, []string{`the audio is not what its Content-Type says: the file is not FLAC, though its Content-Type is audio/flac: it starts with "RIFF.>..", not "fLaC"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := upstreamFunc(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "audio/flac")
				w.Header().Set("Content-Length", strconv.Itoa(len(tt.body)))
				w.Write(tt.body)
			})
			p, ps := startProxy(t, up.URL+"/apis")
			resp, body, err := get(t, ps.Client(), ps.URL+"/apis/tts-result/123")
			if resp.StatusCode != 200 || err != nil || !bytes.Equal(body, tt.body) {
				t.Errorf("the client got %d, %d bytes, %v; want 200 and all %d bytes", resp.StatusCode, len(body), err, len(tt.body))
			}
			// The client may have every byte before the proxy has judged
			// them: Close waits for the proxy's handler to return.
			ps.Close()
			if diff := cmp.Diff(tt.want, audioFindings(p.Summary())); diff != "" {
				t.Errorf("result-audio findings mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRecorderBounded gives a recorder more tasks than it holds, a task
// whose answers change on every poll past its cap on steps, and more runs
// than it remembers:
// the oldest task is written as it stood and forgotten, the steps past
// the cap are dropped, and Stats counts each.
func TestRecorderBounded(t *testing.T) {
	t.Parallel()
	var polls atomic.Int64
	up := upstreamFunc(t, func(w http.ResponseWriter, r *http.Request) {
		rel := strings.TrimPrefix(r.URL.Path, "/apis")
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost:
			fmt.Fprintf(w, `{"task_id":"task-%d"}`, polls.Add(1))
		case strings.HasPrefix(rel, "/tts/changing"):
			fmt.Fprintf(w, `{"status":"PENDING","run_id":null,"message":"step %d"}`, polls.Add(1))
		case strings.HasPrefix(rel, "/tts/done-"):
			fmt.Fprintf(w, `{"status":"SUCCESS","run_id":%s}`, strings.TrimPrefix(rel, "/tts/done-"))
		default:
			fmt.Fprint(w, `{"status":"PENDING","run_id":null}`)
		}
	})
	dir := t.TempDir()
	rec, err := proxy.NewRecorder(proxy.RecorderConfig{Dir: dir, Source: "test", MaxTasks: 3, MaxSteps: 10})
	if err != nil {
		t.Fatal(err)
	}
	_, ps := startProxy(t, up.URL+"/apis", proxy.WithRecorder(rec))
	c := &client{t: t, base: ps.URL + "/apis", http: ps.Client()}
	for i := range 5 { // tasks that stay PENDING
		c.do("GET", "/tts/pending-"+strconv.Itoa(i), "")
	}
	st := rec.Stats()
	if st.Tasks != 3 || st.Evicted != 2 || st.Written != 2 {
		t.Errorf("after 5 tasks: stats %+v; want 3 held, 2 evicted and written", st)
	}
	for i := range 12 {
		if code, _, _ := c.do("GET", "/tts/changing", ""); code != 200 {
			t.Fatalf("poll %d: %d", i, code)
		}
	}
	if st := rec.Stats(); st.DroppedSteps != 2 {
		t.Errorf("after 12 distinct answers: %d steps dropped; want 2, with MaxSteps 10", st.DroppedSteps)
	}
	for i := range 5 { // tasks that end, each with a run
		c.do("GET", "/tts/done-"+strconv.Itoa(1000+i), "")
	}
	if st := rec.Stats(); st.DroppedRuns != 2 {
		t.Errorf("after 5 runs: %d runs dropped; want 2", st.DroppedRuns)
	}
	rec.Flush()
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) != 5+1+5 {
		t.Errorf("%d files written; want one for each of the 11 tasks", len(files))
	}
	loaded, err := scenarios.LoadPath(dir, loadSpec(t))
	if err != nil {
		t.Fatalf("the recordings do not load: %v", err)
	}
	for _, sc := range loaded {
		if len(sc.Poll) > 10 {
			t.Errorf("scenario %s has %d steps; want at most 10", sc.Name, len(sc.Poll))
		}
	}
}
