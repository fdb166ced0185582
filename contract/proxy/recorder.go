package proxy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
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
// DIR` replays them, on any kind of task. A task's file is written when it
// reaches a terminal status, or by [Recorder.Flush]; files are written
// atomically.
//
// The recorder knows the tasks of every kind the spec declares: it finds
// each request's operation with the spec's router and reads its role
// (create, status, result) from the operation's x-cambmock extension, so a
// tts task is recorded as a text-to-sound one is.
//
// Each task has a file of its own, whatever its id and kind:
// rec-PREFIX-HASH.yaml, where PREFIX is up to 24 characters of the id (for
// a kind other than the spec's default, of KIND-ID) in lower-case letters,
// digits and dashes (left out when none remain) and HASH the first 10 hex
// digits of the SHA-256 of the id (of KIND, a NUL and the id). Its audio,
// with RecorderConfig.KeepAudio, is rec-PREFIX-HASH.wav (.flac, .mp3 and
// so on for audio of those types).
//
// What a Recorder holds is bounded: at most RecorderConfig.MaxTasks tasks
// (the oldest is written as it stands and forgotten to make room) and as
// many run ids, and per task at most RecorderConfig.MaxSteps distinct
// steps; [Recorder.Stats] counts what was dropped.
//
// Files never hold an API key: requests are not recorded, only answers,
// and the key of the request (as sent, URL-encoded or JSON-escaped) is
// replaced by [redacted] in every answer, id and log line the recorder
// writes, should the upstream quote it. Keys shorter than 4 characters
// are placeholders and are left as they are. Audio is kept as it came.
//
// A Recorder is safe for concurrent use. One recorder should write into a
// folder at a time: a new one removes the temporary files (.rec-*) it
// finds there, which a recorder that was killed left behind.
type Recorder struct {
	dir       string
	keepAudio bool
	maxAudio  int64
	maxTasks  int
	maxSteps  int
	spec      *cambmock.Spec
	keyHeader string
	source    string
	log       *slog.Logger
	now       func() time.Time

	mu       sync.Mutex
	tasks    map[string]*recording // by kind, NUL, id
	order    []string              // the keys of tasks, oldest first
	runs     map[int64]*recording
	runOrder []int64 // the keys of runs, oldest first
	stats    RecorderStats
}

// RecorderStats counts what a [Recorder] holds, wrote and dropped.
type RecorderStats struct {
	Tasks   int `json:"tasks"`   // the tasks it holds now
	Written int `json:"written"` // the scenario files it wrote
	// Evicted counts the tasks forgotten to hold no more than
	// RecorderConfig.MaxTasks, each written as it stood first if it had
	// not been.
	Evicted int `json:"evicted"`
	// DroppedRuns counts the run ids forgotten to hold no more than
	// RecorderConfig.MaxTasks of them: their audio is not kept.
	DroppedRuns int `json:"dropped_runs"`
	// DroppedSteps counts the answers to status polls not recorded because
	// their task's recording held its most distinct steps
	// (RecorderConfig.MaxSteps).
	DroppedSteps int `json:"dropped_steps"`
}

// recording is what one task did.
type recording struct {
	kind    string // the kind of task, such as "tts"
	rawID   string // as the upstream gave it, for the recorder's maps only
	id      string // as shown: scrubbed of the key of the request that made it
	created time.Time
	seen    []stepRun
	written bool
	full    bool // seen reached maxSteps
	name    string
	runID   int64
}

// stepRun is a run of equal answers to a task's status polls.
type stepRun struct {
	first, last time.Duration // when the first and last of them came
	step        scenarios.Step
	key         string // equal keys are the same answer
	polls       int
}

// The bounds on what a Recorder holds.
const (
	// DefaultMaxTasks is how many tasks a [Recorder] holds when
	// RecorderConfig.MaxTasks is zero.
	DefaultMaxTasks = 10_000
	// DefaultMaxSteps is how many distinct steps a [Recorder] keeps of
	// one task when RecorderConfig.MaxSteps is zero.
	DefaultMaxSteps = 1000
)

// DefaultMaxAudioBytes is the size of the largest audio a [Recorder]
// keeps when RecorderConfig.MaxAudioBytes is zero.
const DefaultMaxAudioBytes = 100 << 20

// RecorderConfig is what a [Recorder] needs. Dir is required.
type RecorderConfig struct {
	Dir string // the folder to write into; created if missing
	// Source names the upstream in the files' comments and descriptions;
	// the userinfo of a URL (http://user:pass@host) is shown as [redacted].
	Source    string
	KeepAudio bool // save each task's result audio beside its scenario
	// MaxAudioBytes caps each kept audio file; a larger audio is not kept
	// (the client still gets all of it) and the recorder logs so. Zero
	// means DefaultMaxAudioBytes.
	MaxAudioBytes int64
	// MaxTasks bounds the tasks (and the run ids) the recorder holds at
	// once; past it the oldest task is written as it stands and
	// forgotten. Zero means DefaultMaxTasks.
	MaxTasks int
	// MaxSteps bounds the distinct steps (runs of equal answers) kept of
	// one task; the answers past it are counted, not recorded. Zero means
	// DefaultMaxSteps.
	MaxSteps int
	// Spec is the document whose operations the recorder knows; nil means
	// the embedded openapi.yaml. Give the proxy's ([WithSpec]).
	Spec   *cambmock.Spec
	Logger *slog.Logger // nil discards
	// Now tells the time the recorder measures steps by; nil means
	// time.Now. Tests of an upstream on a manual clock pass its Now.
	Now func() time.Time
}

// recorderLimit is a limit of RecorderConfig: v, or def when v is 0. A
// limit below zero is an error saying what to give (what).
func recorderLimit[T int | int64](name string, v, def T, what string) (T, error) {
	switch {
	case v < 0:
		return 0, fmt.Errorf("record: %s %d is below zero; give %s, or 0 for %d", name, v, what, def)
	case v == 0:
		return def, nil
	}
	return v, nil
}

// NewRecorder returns a recorder configured by cfg.
func NewRecorder(cfg RecorderConfig) (*Recorder, error) {
	dir, source, keepAudio, logger := cfg.Dir, redactURLString(cfg.Source), cfg.KeepAudio, cfg.Logger
	if dir == "" {
		return nil, errors.New("record: no folder to write into")
	}
	maxAudio, err := recorderLimit("MaxAudioBytes", cfg.MaxAudioBytes, DefaultMaxAudioBytes, "the most bytes of audio to keep per file")
	if err != nil {
		return nil, err
	}
	maxTasks, err := recorderLimit("MaxTasks", cfg.MaxTasks, DefaultMaxTasks, "the most tasks to hold at once")
	if err != nil {
		return nil, err
	}
	maxSteps, err := recorderLimit("MaxSteps", cfg.MaxSteps, DefaultMaxSteps, "the most distinct steps to keep of a task")
	if err != nil {
		return nil, err
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
	spec := cfg.Spec
	if spec == nil {
		if spec, err = cambmock.LoadSpec(); err != nil {
			return nil, fmt.Errorf("record: %w", err)
		}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	sweep(dir, logger)
	return &Recorder{dir: dir, keepAudio: keepAudio, maxAudio: maxAudio, maxTasks: maxTasks, maxSteps: maxSteps, spec: spec, keyHeader: spec.APIKeyHeader(),
		source: source, log: logger, now: now, tasks: map[string]*recording{}, runs: map[int64]*recording{}}, nil
}

// sweep removes the temporary files a recorder killed while writing into
// dir left there: the regular files named .rec-* (scenarios and audio
// being written) and .cambmock-probe-*.
func sweep(dir string, logger *slog.Logger) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, ".rec-") && !strings.HasPrefix(name, ".cambmock-probe-") {
			continue
		}
		path := filepath.Join(dir, name)
		if err := os.Remove(path); err != nil {
			logger.Warn("record: cannot remove a temporary file an earlier recorder left", "file", path, "err", err)
			continue
		}
		logger.Info("record: removed a temporary file an earlier recorder left", "file", path)
	}
}

// Stats returns what the recorder holds, wrote and dropped so far.
func (rc *Recorder) Stats() RecorderStats {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	st := rc.stats
	st.Tasks = len(rc.tasks)
	return st
}

// operation finds the operation of the family a request (its URL path
// relative to the base URL) calls, and its path parameter.
func (rc *Recorder) operation(req *http.Request, rel string) (*cambmock.Operation, string) {
	r := req.Clone(context.Background())
	r.URL.Path = rel
	r.URL.RawPath = ""
	route, params, err := rc.spec.Router.FindRoute(r)
	if err != nil || route.Operation == nil {
		return nil, ""
	}
	op := rc.spec.OperationByID(route.Operation.OperationID)
	if op == nil {
		return nil, ""
	}
	// The router matches the escaped path: its parameters are escaped.
	param, err := url.PathUnescape(params[op.Param])
	if err != nil {
		return nil, ""
	}
	return op, param
}

// observe takes one answer the proxy forwarded. The answer is scrubbed of
// the request's API key before anything of it is kept.
func (rc *Recorder) observe(req *http.Request, rel string, code int, header http.Header, body []byte) {
	now := rc.now()
	op, param := rc.operation(req, rel)
	if op == nil {
		return
	}
	sc := newScrubber(req.Header.Get(rc.keyHeader))
	rc.mu.Lock()
	defer rc.mu.Unlock()
	switch op.Role {
	case cambmock.RoleCreate:
		if code != http.StatusOK {
			return
		}
		var b map[string]any
		if json.Unmarshal(body, &b) == nil {
			if id, _ := b["task_id"].(string); id != "" {
				rc.add(rc.newRecording(op.Kind, id, sc, now))
			}
		}
	case cambmock.RoleStatus:
		id := param
		rec := rc.tasks[taskKey(op.Kind, id)]
		if rec == nil {
			if code == http.StatusNotFound || code == http.StatusUnauthorized || code == http.StatusForbidden {
				return // not a task of the key's, or not one at all
			}
			// A task created before recording began: its time starts now.
			rec = rc.newRecording(op.Kind, id, sc, now)
			rc.add(rec)
		}
		if rec.written {
			return
		}
		body = sc.Bytes(body)
		clean := http.Header{}
		for _, h := range []string{"Content-Type", "Retry-After"} {
			if v := header.Get(h); v != "" {
				clean.Set(h, sc.String(v))
			}
		}
		st, key, ok := stepOf(code, clean, body)
		if !ok {
			return
		}
		rc.see(rec, now.Sub(rec.created), st, key)
		if st.Reply != nil && rc.spec.Terminal(st.Reply.Status) {
			var b struct {
				RunID int64 `json:"run_id"`
			}
			if json.Unmarshal(body, &b) == nil && b.RunID != 0 {
				rec.runID = b.RunID
				rc.addRun(b.RunID, rec)
			}
			rc.write(rec, sc)
		}
	}
}

// see adds an answer to a recording: to the run of equal answers it
// ends, or as a new step while the recording has room. rc.mu is held.
func (rc *Recorder) see(rec *recording, at time.Duration, st scenarios.Step, key string) {
	if n := len(rec.seen); n > 0 && rec.seen[n-1].key == key {
		rec.seen[n-1].last = at
		rec.seen[n-1].polls++
		return
	}
	if len(rec.seen) >= rc.maxSteps {
		if !rec.full {
			rc.log.Warn("record: a task's answers changed more than the recorder keeps; the rest are not recorded", "task", rec.id, "steps", rc.maxSteps)
		}
		rec.full = true
		rc.stats.DroppedSteps++
		return
	}
	rec.seen = append(rec.seen, stepRun{first: at, last: at, step: st, key: key, polls: 1})
}

func taskKey(kind, id string) string { return kind + "\x00" + id }

// add holds a new recording, forgetting the oldest when the recorder
// holds MaxTasks: written first as it stands, if it had not been. rc.mu
// is held.
func (rc *Recorder) add(rec *recording) {
	key := taskKey(rec.kind, rec.rawID)
	if _, ok := rc.tasks[key]; ok {
		rc.tasks[key] = rec
		return
	}
	for len(rc.order) >= rc.maxTasks {
		old := rc.tasks[rc.order[0]]
		rc.order = rc.order[1:]
		if old == nil {
			continue
		}
		delete(rc.tasks, taskKey(old.kind, old.rawID))
		if !old.written {
			rc.write(old, scrubber{})
		}
		if rc.stats.Evicted == 0 {
			rc.log.Warn("record: more tasks at once than the recorder holds (RecorderConfig.MaxTasks); the oldest are written as they stand and forgotten", "max", rc.maxTasks)
		}
		rc.stats.Evicted++
	}
	rc.tasks[key] = rec
	rc.order = append(rc.order, key)
}

// addRun remembers the recording of a run, forgetting the oldest run when
// the recorder holds MaxTasks of them. rc.mu is held.
func (rc *Recorder) addRun(run int64, rec *recording) {
	if _, ok := rc.runs[run]; !ok {
		for len(rc.runOrder) >= rc.maxTasks {
			delete(rc.runs, rc.runOrder[0])
			rc.runOrder = rc.runOrder[1:]
			rc.stats.DroppedRuns++
		}
		rc.runOrder = append(rc.runOrder, run)
	}
	rc.runs[run] = rec
}

// newRecording starts the recording of task id of kind, as sc shows it.
func (rc *Recorder) newRecording(kind, id string, sc scrubber, now time.Time) *recording {
	shown := sc.String(id)
	name := scenarioName(id, shown)
	if def := rc.spec.DefaultKind(); def == nil || kind != def.Name {
		name = scenarioName(kind+"\x00"+id, kind+"-"+shown)
	}
	return &recording{kind: kind, id: shown, rawID: id, name: name, created: now}
}

var unsafeName = regexp.MustCompile(`[^a-z0-9-]+`)

// scenarioName names the recording of task id: "rec-", up to 24
// characters of shown (the id as the recorder shows it) in lower-case
// letters, digits and dashes, and the first 10 hex digits of the SHA-256
// of id, so that no two ids share a name. It is a valid scenario name and
// file name whatever id holds.
func scenarioName(id, shown string) string {
	sum := sha256.Sum256([]byte(id))
	hash := hex.EncodeToString(sum[:5])
	short := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(shown), "-"), "-")
	if len(short) > 24 {
		short = strings.TrimRight(short[:24], "-")
	}
	if short == "" {
		return "rec-" + hash
	}
	return "rec-" + short + "-" + hash
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

// write writes a recording's scenario file, scrubbed by sc. rc.mu is held.
func (rc *Recorder) write(rec *recording, sc scrubber) {
	if len(rec.seen) == 0 {
		return
	}
	rec.written = true
	scen := rc.scenario(rec)
	task := "task " + rec.id
	if def := rc.spec.DefaultKind(); def == nil || rec.kind != def.Name {
		task = rec.kind + " task " + rec.id
	}
	comment := fmt.Sprintf("Recorded by cambmock record from %s on %s, %s.\nEach step lasts as long as the upstream showed it (the boundary between two\nanswers is halfway between the polls that saw them).",
		rc.source, rec.created.UTC().Format(time.RFC3339), task)
	data, err := scenarios.Format(scen, comment)
	if err == nil {
		// The answers were scrubbed as they came; this catches a key
		// that YAML's quoting spelled out again.
		data = sc.Bytes(data)
		// What is written must load.
		_, err = scenarios.Parse(rec.name+".yaml", data)
	}
	if err != nil {
		rc.log.Error("record: the recording cannot be written as a scenario", "task", rec.id, "err", sc.String(err.Error()))
		return
	}
	path := filepath.Join(rc.dir, rec.name+".yaml")
	if err := writeAtomic(path, data); err != nil {
		rc.log.Error("record: writing the scenario failed", "file", path, "err", err)
		return
	}
	rc.stats.Written++
	rc.log.Info("record: wrote a scenario", "file", path, "kind", rec.kind, "task", rec.id, "steps", len(scen.Poll), "off_spec", scen.OffSpec)
}

// scenario builds the scenario of a recording: runs of equal answers
// become steps of time; the last lasts forever.
func (rc *Recorder) scenario(rec *recording) *scenarios.Scenario {
	runs := rec.seen
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
	from := "recorded from " + rc.source
	if def := rc.spec.DefaultKind(); def == nil || rec.kind != def.Name {
		from += " (a " + rec.kind + " task)"
	}
	sc.Description = from + ": " + strings.Join(parts, ", then ")
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

// audio returns where to save a run's audio, or nil: for a result
// operation of the family, of a run the recorder saw end. contentType
// gives the file's extension; size is the audio's Content-Length, or -1.
func (rc *Recorder) audio(req *http.Request, rel, contentType string, size int64) *audioFile {
	if !rc.keepAudio {
		return nil
	}
	op, param := rc.operation(req, rel)
	if op == nil || op.Role != cambmock.RoleResult {
		return nil
	}
	id, err := strconv.ParseInt(param, 10, 64)
	if err != nil {
		return nil
	}
	rc.mu.Lock()
	rec := rc.runs[id]
	rc.mu.Unlock()
	if rec == nil {
		return nil
	}
	path := filepath.Join(rc.dir, rec.name+audioExtension(contentType))
	if size > rc.maxAudio {
		rc.log.Warn("record: the audio is over the cap on kept audio (--max-audio-bytes); not kept", "file", path, "task", rec.id, "bytes", size, "max", rc.maxAudio)
		return nil
	}
	f, err := os.CreateTemp(rc.dir, ".rec-audio-*")
	if err != nil {
		rc.log.Error("record: cannot save the audio", "err", err)
		return nil
	}
	return &audioFile{f: f, path: path, task: rec.id, max: rc.maxAudio, log: rc.log}
}

// audioExtension is the file extension of audio of a Content-Type:
// ".wav" unless the type says another.
func audioExtension(contentType string) string {
	t, _, _ := mime.ParseMediaType(contentType)
	switch t {
	case "audio/flac", "audio/x-flac":
		return ".flac"
	case "audio/mpeg", "audio/mp3":
		return ".mp3"
	case "audio/ogg", "audio/opus":
		return ".ogg"
	case "audio/mp4", "audio/x-m4a", "audio/m4a":
		return ".m4a"
	case "audio/aac", "audio/x-aac":
		return ".aac"
	case "audio/webm":
		return ".webm"
	}
	return ".wav"
}

// audioFile saves a streamed audio body, then renames it into place. Past
// max bytes it gives up: the temporary file is removed, once.
type audioFile struct {
	f    *os.File
	path string
	task string
	max  int64
	n    int64
	over bool
	log  *slog.Logger
	err  error
}

// Write never fails, so saving the audio cannot break the stream.
func (a *audioFile) Write(p []byte) (int, error) {
	if a.over {
		return len(p), nil
	}
	if a.n += int64(len(p)); a.n > a.max {
		a.over = true
		a.f.Close()
		os.Remove(a.f.Name())
		a.log.Warn("record: the audio is over the cap on kept audio (--max-audio-bytes); not kept", "file", a.path, "task", a.task, "max", a.max)
		return len(p), nil
	}
	if a.err == nil {
		_, a.err = a.f.Write(p)
	}
	return len(p), nil
}

func (a *audioFile) finish(streamErr error) {
	if a.over {
		return
	}
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
			rc.write(rec, scrubber{})
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
