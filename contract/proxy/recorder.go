package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/scenarios"
)

// A Recorder writes, for each task whose traffic passes through a
// [Proxy], a scenario file of what the upstream actually did: the
// sequence of answers to its status polls with the time each held, its
// run id, its errors and Retry-After answers. `cambmock serve --scenarios
// DIR` replays them. A task's file is written when it reaches a terminal
// status, or by [Recorder.Flush]; files are written atomically, and never
// hold an API key (requests are not recorded, only answers).
//
// A Recorder is safe for concurrent use.
type Recorder struct {
	dir       string
	keepAudio bool
	spec      *cambmock.Spec
	source    string
	log       *slog.Logger
	now       func() time.Time

	mu    sync.Mutex
	tasks map[string]*recording
	runs  map[int64]*recording
}

// recording is what one task did.
type recording struct {
	id      string
	created time.Time
	seen    []observation
	written bool
	name    string
	runID   int64
}

// observation is one answer to a status poll.
type observation struct {
	at   time.Duration
	step scenarios.Step
	key  string // equal keys are the same answer
}

// RecorderConfig is what a [Recorder] needs. Dir is required.
type RecorderConfig struct {
	Dir       string       // the folder to write into; created if missing
	Source    string       // names the upstream in the files' comments and descriptions
	KeepAudio bool         // save each task's result audio beside its scenario
	Logger    *slog.Logger // nil discards
	// Now tells the time the recorder measures steps by; nil means
	// time.Now. Tests of an upstream on a manual clock pass its Now.
	Now func() time.Time
}

// NewRecorder returns a recorder configured by cfg.
func NewRecorder(cfg RecorderConfig) (*Recorder, error) {
	dir, source, keepAudio, logger := cfg.Dir, cfg.Source, cfg.KeepAudio, cfg.Logger
	if dir == "" {
		return nil, errors.New("record: no folder to write into")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	probe, err := os.CreateTemp(dir, ".cambmock-probe-*")
	if err != nil {
		return nil, fmt.Errorf("record: cannot write in %s: %w", dir, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	spec, err := cambmock.LoadSpec()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Recorder{dir: dir, keepAudio: keepAudio, spec: spec, source: source, log: logger, now: now,
		tasks: map[string]*recording{}, runs: map[int64]*recording{}}, nil
}

// observe takes one answer the proxy forwarded.
func (rc *Recorder) observe(req *http.Request, rel string, code int, header http.Header, body []byte) {
	now := rc.now()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	switch {
	case req.Method == http.MethodPost && rel == "/text-to-sound" && code == http.StatusOK:
		var b struct {
			TaskID string `json:"task_id"`
		}
		if json.Unmarshal(body, &b) == nil && b.TaskID != "" {
			rc.tasks[b.TaskID] = &recording{id: b.TaskID, created: now}
		}
	case req.Method == http.MethodGet && strings.HasPrefix(rel, "/text-to-sound/"):
		id := strings.TrimPrefix(rel, "/text-to-sound/")
		rec := rc.tasks[id]
		if rec == nil {
			if code == http.StatusNotFound || code == http.StatusUnauthorized || code == http.StatusForbidden {
				return // not a task of the key's, or not one at all
			}
			// A task created before recording began: its time starts now.
			rec = &recording{id: id, created: now}
			rc.tasks[id] = rec
		}
		if rec.written {
			return
		}
		st, key, ok := stepOf(code, header, body)
		if !ok {
			return
		}
		rec.seen = append(rec.seen, observation{at: now.Sub(rec.created), step: st, key: key})
		if st.Reply != nil && st.Reply.Status.Terminal() {
			var b struct {
				RunID int64 `json:"run_id"`
			}
			if json.Unmarshal(body, &b) == nil && b.RunID != 0 {
				rec.runID = b.RunID
				rc.runs[b.RunID] = rec
			}
			rc.write(rec)
		}
	}
}

// stepOf turns an answer into the step that would replay it, and a key
// that is equal for equal answers.
func stepOf(code int, header http.Header, body []byte) (scenarios.Step, string, bool) {
	if code == http.StatusOK {
		var m map[string]json.RawMessage
		if json.Unmarshal(body, &m) != nil {
			return scenarios.Step{Fault: scenarios.FaultMalformedJSON}, "malformed", true
		}
		r := &scenarios.Reply{}
		json.Unmarshal(m["status"], &r.Status)
		if v, ok := m["run_id"]; ok && string(v) != "null" {
			if _, err := strconv.ParseInt(string(v), 10, 64); err == nil {
				r.RunID.Auto = true
			}
			r.RunID.Value = v
		}
		var reason string
		json.Unmarshal(m["exception_reason"], &reason)
		r.ExceptionReason = cambmock.ExceptionReason(reason)
		if v, ok := m["message"]; ok && string(v) != "null" {
			r.Message = v
		}
		for k, v := range m {
			if !slices.Contains([]string{"status", "run_id", "exception_reason", "message"}, k) {
				if r.Extra == nil {
					r.Extra = map[string]json.RawMessage{}
				}
				r.Extra[k] = v
			}
		}
		key, _ := json.Marshal(m)
		if r.RunID.Auto {
			// Run ids differ between tasks; replays allocate their own.
			r.RunID.Value = nil
			delete(m, "run_id")
			key, _ = json.Marshal(m)
			key = append(key, " auto"...)
		}
		return scenarios.Step{Reply: r}, string(key), true
	}
	if code < 400 || code > 599 {
		return scenarios.Step{}, "", false
	}
	e := &scenarios.HTTPError{Code: code, Header: http.Header{}, Body: string(body)}
	if len(e.Body) > 4096 {
		e.Body = e.Body[:4096]
	}
	for _, h := range []string{"Content-Type", "Retry-After"} {
		if v := header.Get(h); v != "" {
			e.Header.Set(h, v)
		}
	}
	if e.Header.Get("Content-Type") == "" {
		e.Header.Set("Content-Type", "text/plain; charset=utf-8")
	}
	return scenarios.Step{Error: e}, fmt.Sprintf("%d %v %s", code, e.Header, e.Body), true
}

var unsafeName = regexp.MustCompile(`[^a-z0-9-]+`)

// write writes a recording's scenario file. rc.mu is held.
func (rc *Recorder) write(rec *recording) {
	if len(rec.seen) == 0 {
		return
	}
	rec.written = true
	short := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(rec.id), "-"), "-")
	if len(short) > 24 {
		short = strings.TrimRight(short[:24], "-")
	}
	rec.name = "rec-" + short
	sc := rc.scenario(rec)
	comment := fmt.Sprintf("Recorded by cambmock record from %s on %s, task %s.\nEach step lasts as long as the upstream showed it (the boundary between two\nanswers is halfway between the polls that saw them).",
		rc.source, rec.created.UTC().Format(time.RFC3339), rec.id)
	data, err := scenarios.Format(sc, comment)
	if err == nil {
		// What is written must load.
		_, err = scenarios.Parse(rec.name+".yaml", data)
	}
	if err != nil {
		rc.log.Error("record: the recording cannot be written as a scenario", "task", rec.id, "err", err)
		return
	}
	path := filepath.Join(rc.dir, rec.name+".yaml")
	if err := writeAtomic(path, data); err != nil {
		rc.log.Error("record: writing the scenario failed", "file", path, "err", err)
		return
	}
	rc.log.Info("record: wrote a scenario", "file", path, "task", rec.id, "steps", len(sc.Poll), "off_spec", sc.OffSpec)
}

// scenario builds the scenario of a recording: runs of equal answers
// become steps of time; the last lasts forever.
func (rc *Recorder) scenario(rec *recording) *scenarios.Scenario {
	type run struct {
		first, last time.Duration
		step        scenarios.Step
		key         string
		polls       int
	}
	var runs []run
	for _, o := range rec.seen {
		if n := len(runs); n > 0 && runs[n-1].key == o.key {
			runs[n-1].last = o.at
			runs[n-1].polls++
			continue
		}
		runs = append(runs, run{first: o.at, last: o.at, step: o.step, key: o.key, polls: 1})
	}
	sc := &scenarios.Scenario{Name: rec.name}
	var parts []string
	begin := time.Duration(0)
	for i, r := range runs {
		st := r.step
		if i < len(runs)-1 {
			end := (r.last + runs[i+1].first) / 2
			st.For = max(end-begin, time.Millisecond).Round(time.Millisecond)
			begin += st.For
		}
		sc.Poll = append(sc.Poll, st)
		parts = append(parts, describe(st, r.polls))
	}
	sc.Description = "recorded from " + rc.source + ": " + strings.Join(parts, ", then ")
	if len(sc.Description) > 200 {
		sc.Description = sc.Description[:197] + "..."
	}
	sc.OffSpec = len(sc.Violations(rc.spec)) > 0
	return sc
}

func describe(st scenarios.Step, polls int) string {
	var what string
	switch {
	case st.Reply != nil:
		what = string(st.Reply.Status)
	case st.Error != nil:
		what = strconv.Itoa(st.Error.Code)
	default:
		what = string(st.Fault)
	}
	if st.For > 0 {
		unit := "polls"
		if polls == 1 {
			unit = "poll"
		}
		return fmt.Sprintf("%s %v (%d %s)", what, st.For, polls, unit)
	}
	return what
}

// audio returns where to save a run's audio, or nil.
func (rc *Recorder) audio(rel string) *audioFile {
	if !rc.keepAudio || !strings.HasPrefix(rel, "/text-to-sound-result/") {
		return nil
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(rel, "/text-to-sound-result/"), 10, 64)
	if err != nil {
		return nil
	}
	rc.mu.Lock()
	rec := rc.runs[id]
	rc.mu.Unlock()
	if rec == nil {
		return nil
	}
	f, err := os.CreateTemp(rc.dir, ".rec-audio-*")
	if err != nil {
		rc.log.Error("record: cannot save the audio", "err", err)
		return nil
	}
	return &audioFile{f: f, path: filepath.Join(rc.dir, rec.name+".wav"), log: rc.log}
}

// audioFile saves a streamed audio body, then renames it into place.
type audioFile struct {
	f    *os.File
	path string
	log  *slog.Logger
	err  error
}

func (a *audioFile) Write(p []byte) (int, error) {
	if a.err == nil {
		_, a.err = a.f.Write(p)
	}
	return len(p), nil
}

func (a *audioFile) finish(streamErr error) {
	err := errors.Join(streamErr, a.err, a.f.Close())
	if err == nil {
		err = os.Chmod(a.f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(a.f.Name(), a.path)
	}
	if err != nil {
		os.Remove(a.f.Name())
		a.log.Error("record: saving the audio failed", "file", a.path, "err", err)
	}
}

// Flush writes the scenario of every task not yet written, as it stands:
// a task still PENDING becomes a scenario that stays PENDING.
func (rc *Recorder) Flush() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, rec := range rc.tasks {
		if !rec.written {
			rc.write(rec)
		}
	}
}

// writeAtomic writes data to path through a temporary file and a rename,
// so that a crash never leaves a torn file.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".rec-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
