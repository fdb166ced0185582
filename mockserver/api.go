package mockserver

import (
	"bytes"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/gorilla/mux"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/mockserver/internal/wav"
	"github.com/cambmock/cambmock/scenarios"
)

// MaxBodySize is the largest request body the server reads; a larger one
// gets a 413.
const MaxBodySize = 1 << 20

// ScenarioHeader is the request header that picks a task's scenario.
const ScenarioHeader = "X-Cambmock-Scenario"

var scenarioToken = regexp.MustCompile(`\[scenario:([^\]\s]*)\]`)

// authenticate checks the x-api-key header: missing is a 401, a key the
// server was not given is a 403.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header["X-Api-Key"]
		switch {
		case len(key) == 0 || key[0] == "":
			writeError(w, http.StatusUnauthorized, "Not authenticated: send your API key in the x-api-key header")
			return
		case s.keys != nil:
			if _, ok := s.keys[key[0]]; !ok {
				writeError(w, http.StatusForbidden, "Invalid API key")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// readBody reads a request body of at most MaxBodySize bytes, answering
// 413 if it is larger.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.ContentLength > MaxBodySize {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body too large: %d bytes; the limit is %d bytes", r.ContentLength, MaxBodySize))
		return nil, false
	}
	body, truncated, err := cambmock.ReadLimited(r.Body, MaxBodySize)
	switch {
	case truncated:
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body too large; the limit is %d bytes", MaxBodySize))
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, "The request body could not be read: "+err.Error())
		return nil, false
	}
	return body, true
}

// validateRequest checks a create or bulk request against openapi.yaml,
// answering 422 in FastAPI's shape if it fails.
func (s *Server) validateRequest(w http.ResponseWriter, r *http.Request, body []byte) bool {
	if len(bytes.TrimSpace(body)) == 0 {
		writeValidation(w, problem{Loc: []any{"body"}, Msg: "Field required", Type: "missing"})
		return false
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "application/json") {
		writeValidation(w, problem{Loc: []any{"body"}, Msg: fmt.Sprintf("Input should be a JSON object sent with Content-Type: application/json, not %q", ct), Type: "model_attributes_type"})
		return false
	}
	if !json.Valid(body) {
		var v any
		err := json.Unmarshal(body, &v)
		writeValidation(w, problem{Loc: []any{"body"}, Msg: "JSON decode error: " + err.Error(), Type: "json_invalid"})
		return false
	}
	// kin-openapi matches the path relative to the base URL.
	rel := r.Clone(r.Context())
	rel.URL.Path = strings.TrimPrefix(r.URL.Path, "/apis")
	rel.Body = io.NopCloser(bytes.NewReader(body))
	in, err := s.spec.Route(rel)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "cambmock cannot find this operation in openapi.yaml: "+err.Error())
		return false
	}
	if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
		writeValidation(w, validationProblems(err)...)
		return false
	}
	return true
}

// validationProblems turns kin-openapi's request errors into FastAPI's
// shape: where (["body", "prompt"]), what, and a pydantic-like type.
func validationProblems(err error) []problem {
	var out []problem
	var walk func(err error)
	walk = func(err error) {
		var (
			multi  openapi3.MultiError
			req    *openapi3filter.RequestError
			schema *openapi3.SchemaError
		)
		switch {
		case errors.As(err, &req) && req.Parameter != nil:
			p := problem{Loc: []any{req.Parameter.In, req.Parameter.Name}, Msg: "Invalid value", Type: "value_error"}
			isInt := req.Parameter.Schema != nil && req.Parameter.Schema.Value != nil && req.Parameter.Schema.Value.Type.Is("integer")
			switch {
			case isInt:
				// An integer parameter fails as pydantic words it, empty or not.
				p.Msg, p.Type = "Input should be a valid integer, unable to parse string as an integer", "int_parsing"
			case errors.As(req.Err, &schema):
				p.Msg, p.Type = pydantic(schema)
			case req.Reason != "":
				p.Msg = req.Reason
			}
			out = append(out, p)
		case errors.As(err, &multi):
			for _, e := range multi {
				walk(e)
			}
		case errors.As(err, &schema):
			loc := []any{"body"}
			for _, k := range schema.JSONPointer() {
				if i, err := strconv.Atoi(k); err == nil {
					loc = append(loc, i)
				} else {
					loc = append(loc, k)
				}
			}
			msg, typ := pydantic(schema)
			out = append(out, problem{Loc: loc, Msg: msg, Type: typ})
		default:
			out = append(out, problem{Loc: []any{"body"}, Msg: cambmock.Problems(err)[0], Type: "value_error"})
		}
	}
	walk(err)
	if len(out) == 0 {
		out = append(out, problem{Loc: []any{"body"}, Msg: "Invalid request", Type: "value_error"})
	}
	return out
}

// pydantic words a schema error as FastAPI (pydantic 2) would.
func pydantic(e *openapi3.SchemaError) (msg, typ string) {
	s := e.Schema
	switch e.SchemaField {
	case "required":
		return "Field required", "missing"
	case "type":
		switch {
		case s.Type.Is("string"):
			return "Input should be a valid string", "string_type"
		case s.Type.Is("integer"):
			return "Input should be a valid integer", "int_type"
		case s.Type.Is("number"):
			return "Input should be a valid number", "float_type"
		case s.Type.Is("array"):
			return "Input should be a valid list", "list_type"
		case s.Type.Is("object"):
			return "Input should be a valid dictionary", "dict_type"
		}
	case "enum":
		var vals []string
		for _, v := range s.Enum {
			vals = append(vals, fmt.Sprintf("'%v'", v))
		}
		return "Input should be " + joinOr(vals), "enum"
	case "minLength":
		return fmt.Sprintf("String should have at least %d character", s.MinLength), "string_too_short"
	case "minItems":
		return fmt.Sprintf("List should have at least %d item", s.MinItems), "too_short"
	case "maxItems":
		return fmt.Sprintf("List should have at most %d items", *s.MaxItems), "too_long"
	case "minimum", "exclusiveMinimum":
		if s.Min != nil {
			if s.ExclusiveMin.IsTrue() {
				return fmt.Sprintf("Input should be greater than %v", *s.Min), "greater_than"
			}
			return fmt.Sprintf("Input should be greater than or equal to %v", *s.Min), "greater_than_equal"
		}
	case "maximum", "exclusiveMaximum":
		if s.Max != nil {
			return fmt.Sprintf("Input should be less than or equal to %v", *s.Max), "less_than_equal"
		}
	}
	return e.Reason, "value_error"
}

func joinOr(vals []string) string {
	switch len(vals) {
	case 0:
		return "one of the allowed values"
	case 1:
		return vals[0]
	}
	return strings.Join(vals[:len(vals)-1], ", ") + " or " + vals[len(vals)-1]
}

// createRequest is the part of CreateTaskRequest the mock uses.
type createRequest struct {
	Prompt    string   `json:"prompt"`
	Duration  *float64 `json:"duration"`
	AudioType *string  `json:"audio_type"`
}

func (s *Server) createTask(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok || !s.validateRequest(w, r, body) {
		return
	}
	var req createRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeValidation(w, problem{Loc: []any{"body"}, Msg: "JSON decode error: " + err.Error(), Type: "json_invalid"})
		return
	}
	audioType := "sound"
	if req.AudioType != nil {
		audioType = *req.AudioType
	}
	length := DefaultDuration
	if req.Duration != nil {
		if audioType == "sound" && *req.Duration > 10 {
			writeValidation(w, problem{Loc: []any{"body", "duration"}, Msg: "Input should be less than or equal to 10 for audio_type sound", Type: "less_than_equal"})
			return
		}
		length = time.Duration(*req.Duration * float64(time.Second))
	}
	if audioType == "music" {
		length = MusicLength
	}
	name, ok := s.chooseScenario(w, r, req.Prompt)
	if !ok {
		return
	}
	sc := s.scenarios[name]

	if len(sc.Create) > 0 {
		s.mu.Lock()
		elapsed := s.clock.Now().Sub(s.started)
		s.mu.Unlock()
		sc.mu.Lock()
		st, next, scripted := sc.Create.At(sc.create, elapsed)
		sc.create = next
		sc.mu.Unlock()
		if scripted { // a normal step waits too
			seed := sc.LatencySeed("create", int(next.Step)*1_000_003+next.Served)
			if !s.wait(w, r, st.Latency.Draw(seed)) {
				return
			}
		}
		if scripted && !st.Normal {
			annotate(w, "", sc.Name, "create", next.Step+1, st.Fault)
			s.play(w, r, st)
			return
		}
	}

	t, err := s.newTask(sc, "", req.Prompt, length, audioType)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	note(w, t, "create", 0, "")
	b := make([]byte, 0, 64)
	b = append(b, `{"task_id":`...)
	b = strconv.AppendQuote(b, t.id)
	b = append(b, '}')
	writeJSON(w, http.StatusOK, b)
}

// chooseScenario picks the scenario of a new task: the header, else a
// [scenario:NAME] token in the prompt, else the default.
func (s *Server) chooseScenario(w http.ResponseWriter, r *http.Request, prompt string) (string, bool) {
	name, from := r.Header.Get(ScenarioHeader), "the "+ScenarioHeader+" header"
	if name == "" {
		if m := scenarioToken.FindStringSubmatch(prompt); m != nil {
			name, from = m[1], "the [scenario:NAME] token in the prompt"
		}
	}
	if name == "" {
		return s.def.Name, true
	}
	if _, err := s.lookupScenario(name); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%s names an %v", from, err))
		return "", false
	}
	return name, true
}

// newTask stores a new task; id is chosen unless empty.
func (s *Server) newTask(sc *scenario, id, prompt string, length time.Duration, audioType string) (*task, error) {
	if id == "" {
		id = newTaskID()
	}
	t := &task{
		id:        id,
		sc:        sc,
		created:   s.clock.Now(),
		runID:     s.nextRun.Add(1),
		seed:      wav.Seed(prompt),
		length:    length,
		audioType: audioType,
	}
	taken, full := s.tasks.add(t, s.cfg.maxTasks)
	switch {
	case taken:
		return nil, fmt.Errorf("%w: %q", ErrTaskExists, id)
	case full:
		return nil, fmt.Errorf("%w: the mock holds %d tasks, its limit; reset it (POST /__admin/reset) or raise the limit (--max-tasks)", ErrFull, s.cfg.maxTasks)
	}
	s.tasks.setRun(t.runID, t)
	s.notes.notify()
	return t, nil
}

// pollTask is the hot path: the status poll.
func (s *Server) pollTask(w http.ResponseWriter, r *http.Request) {
	if q := r.URL.RawQuery; q != "" && !s.validRunIDQuery(w, r) {
		return
	}
	id := mux.Vars(r)["task_id"]
	t := s.tasks.get(id)
	if t == nil {
		writeError(w, http.StatusNotFound, "Task not found: no task with id "+strconv.Quote(id)+" on this server")
		return
	}
	now := s.clock.Now()
	t.mu.Lock()
	elapsed := now.Sub(t.created)
	st, next, _ := t.sc.Poll.At(t.poll, elapsed)
	t.poll = next
	n := t.polls
	t.conduct.poll(elapsed, n)
	t.polls++
	ev := event{at: elapsed, step: uint16(next.Step + 1), kind: kindPoll, fault: faultIndex(st.Fault)}
	var status cambmock.Status
	retryAfter := ""
	switch {
	case st.Reply != nil:
		status = st.Reply.Status
		ev.code = http.StatusOK
		ev.status = statusIndex(status)
		t.last = status
		t.served |= statusBit(status)
		if status == cambmock.StatusSuccess {
			s.noteSuccess(t, st.Reply)
		}
	case st.Error != nil:
		ev.code = uint16(st.Error.Code)
		retryAfter = st.Error.Header.Get("Retry-After")
	}
	noAnswer := st.Fault != "" && st.Fault != scenarios.FaultMalformedJSON
	t.conduct.served(elapsed, status, noAnswer, int(ev.code), retryAfter, now, s.scale)
	t.record(ev, s.cfg.historySize)
	t.mu.Unlock()
	s.notes.notify()

	note(w, t, "poll", next.Step+1, st.Fault)
	if st.Latency != (scenarios.Latency{}) && !s.wait(w, r, st.Latency.Draw(t.sc.LatencySeed("poll", int(n)))) {
		return
	}
	if st.Reply != nil {
		s.reply(w, r, t, next.Step)
		return
	}
	s.play(w, r, st)
}

// noteSuccess registers the run a SUCCESS reply names, so that its
// result can be fetched. t.mu is held.
func (s *Server) noteSuccess(t *task, r *scenarios.Reply) {
	if r.RunID.Auto {
		t.succeeded = true
		return
	}
	if id, err := strconv.ParseInt(string(r.RunID.Value), 10, 64); err == nil {
		t.succeeded = true
		if id != t.runID {
			t.runID = id
			s.tasks.setRun(id, t)
		}
	}
}

// validRunIDQuery checks the optional run_id query parameter of a poll.
func (s *Server) validRunIDQuery(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.Query()
	if v, ok := q["run_id"]; ok {
		if _, err := strconv.ParseInt(v[0], 10, 64); err != nil {
			writeValidation(w, problem{Loc: []any{"query", "run_id"}, Msg: "Input should be a valid integer, unable to parse string as an integer", Type: "int_parsing"})
			return false
		}
	}
	return true
}

// reply writes the status body of poll step i.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, t *task, i int) {
	body := t.sc.replies[i]
	if tail := t.sc.tails[i]; tail != nil {
		b := make([]byte, 0, len(body)+20+len(tail))
		b = append(b, body...)
		b = strconv.AppendInt(b, t.runID, 10)
		body = append(b, tail...)
	}
	writeJSON(w, http.StatusOK, body)
}

// play answers with a step's error or fault.
func (s *Server) play(w http.ResponseWriter, r *http.Request, st scenarios.Step) {
	switch {
	case st.Error != nil:
		h := w.Header()
		for k, v := range st.Error.Header {
			h[k] = v
		}
		h.Set("Content-Length", strconv.Itoa(len(st.Error.Body)))
		w.WriteHeader(st.Error.Code)
		io.WriteString(w, st.Error.Body)
	case st.Fault != "":
		s.fault(w, r, st.Fault)
	default:
		writeError(w, http.StatusInternalServerError, "cambmock: step has nothing to answer")
	}
}

// wait holds the answer for d, or until the client leaves. It reports
// whether to go on.
func (s *Server) wait(w http.ResponseWriter, r *http.Request, d time.Duration) bool {
	d = time.Duration(float64(d) * s.scale)
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-r.Context().Done():
		return false
	case <-s.closing:
		// The server is closing: drop the connection rather than answer
		// a 200 with no body.
		panic(http.ErrAbortHandler)
	}
}

func (s *Server) getResult(w http.ResponseWriter, r *http.Request) {
	runID, err := strconv.ParseInt(mux.Vars(r)["run_id"], 10, 64)
	if err != nil {
		writeValidation(w, problem{Loc: []any{"path", "run_id"}, Msg: "Input should be a valid integer, unable to parse string as an integer", Type: "int_parsing"})
		return
	}
	outputType := "RAW_BYTES"
	if v, ok := r.URL.Query()["output_type"]; ok {
		outputType = v[0]
		if outputType != "RAW_BYTES" && outputType != "FILE_URL" {
			writeValidation(w, problem{Loc: []any{"query", "output_type"}, Msg: "Input should be 'RAW_BYTES' or 'FILE_URL'", Type: "enum"})
			return
		}
	}
	t := s.tasks.run(runID)
	if t == nil {
		s.unknownRuns.Add(1)
		writeError(w, http.StatusNotFound, fmt.Sprintf("Run not found: no run with id %d on this server", runID))
		return
	}
	now := s.clock.Now()
	t.mu.Lock()
	ready := t.succeeded && t.runID == runID
	elapsed := now.Sub(t.created)
	var (
		st       scenarios.Step
		scripted bool
		next     scenarios.Position
	)
	if ready {
		st, next, scripted = t.sc.Result.At(t.result, elapsed)
		t.result = next
	}
	n := t.results
	t.results++
	ev := event{at: elapsed, kind: kindResult, code: http.StatusNotFound}
	if ready {
		ev.code = http.StatusOK
		if scripted {
			ev.step = uint16(next.Step + 1)
			ev.fault = faultIndex(st.Fault)
			if st.Error != nil {
				ev.code = uint16(st.Error.Code)
			}
		}
		if ev.code == http.StatusOK && ev.fault == 0 {
			t.conduct.fetched++
		}
	} else {
		t.conduct.earlyResults++
	}
	t.record(ev, s.cfg.historySize)
	t.mu.Unlock()
	s.notes.notify()

	if !ready {
		note(w, t, "result", 0, "")
		writeError(w, http.StatusNotFound, fmt.Sprintf("Run not found: run %d has no result yet; its task has not reported SUCCESS", runID))
		return
	}
	if scripted {
		note(w, t, "result", next.Step+1, st.Fault)
		if !s.wait(w, r, st.Latency.Draw(t.sc.LatencySeed("result", int(n)))) {
			return
		}
		if !st.Normal {
			if st.Fault == scenarios.FaultTruncated {
				s.serveAudio(w, r, t, true)
				return
			}
			s.play(w, r, st)
			return
		}
	} else {
		note(w, t, "result", 0, "")
	}
	if outputType == "FILE_URL" {
		b, _ := json.Marshal(map[string]string{"file_url": s.fileURL(r, runID)})
		writeJSON(w, http.StatusOK, b)
		return
	}
	s.serveAudio(w, r, t, false)
}

// fileURL is where the audio of a run can be downloaded without a key.
func (s *Server) fileURL(r *http.Request, runID int64) string {
	scheme := "http"
	if r.TLS != nil || r.URL.Scheme == "https" {
		scheme = "https"
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	return fmt.Sprintf("%s://%s/__files/%d.wav?token=%s", scheme, host, runID, s.fileToken(runID))
}

// serveAudio streams a task's WAV file. With truncate it sends the headers
// and half the body, then drops the connection.
func (s *Server) serveAudio(w http.ResponseWriter, r *http.Request, t *task, truncate bool) {
	f := wav.NewSeeded(t.seed, t.length)
	h := w.Header()
	h.Set("Content-Type", "audio/wav")
	h.Set("Content-Length", strconv.FormatInt(f.Size(), 10))
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%d.wav"`, t.runID))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if truncate {
		io.CopyN(w, f, f.Size()/2)
		http.NewResponseController(w).Flush()
		s.fault(w, r, scenarios.FaultTruncated)
		return
	}
	io.Copy(w, f)
}

func (s *Server) getResults(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok || !s.validateRequest(w, r, body) {
		return
	}
	var req struct {
		RunIDs []int64 `json:"run_ids"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeValidation(w, problem{Loc: []any{"body", "run_ids"}, Msg: "Input should be a list of integers: " + err.Error(), Type: "list_type"})
		return
	}
	out := make(map[string]map[string]string, len(req.RunIDs))
	for _, id := range req.RunIDs {
		t := s.tasks.run(id)
		if t == nil {
			continue
		}
		t.mu.Lock()
		ready := t.succeeded && t.runID == id
		t.mu.Unlock()
		if ready {
			out[strconv.FormatInt(id, 10)] = map[string]string{"output_url": s.fileURL(r, id)}
		}
	}
	b, _ := json.Marshal(out)
	writeJSON(w, http.StatusOK, b)
}

// getFile serves the audio behind a file URL.
func (s *Server) getFile(w http.ResponseWriter, r *http.Request) {
	runID, err := strconv.ParseInt(mux.Vars(r)["run_id"], 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, "no such file")
		return
	}
	if tok := r.URL.Query().Get("token"); !hmacEqual(tok, s.fileToken(runID)) {
		writeError(w, http.StatusForbidden, "the file URL's token is missing or wrong; use the URL the result endpoint returned")
		return
	}
	t := s.tasks.run(runID)
	if t == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no file for run %d on this server; it may have been reset", runID))
		return
	}
	t.mu.Lock()
	t.record(event{at: s.clock.Now().Sub(t.created), kind: kindFile, code: http.StatusOK}, s.cfg.historySize)
	t.conduct.fetched++
	t.mu.Unlock()
	s.notes.notify()
	note(w, t, "file", 0, "")
	s.serveAudio(w, r, t, false)
}

func hmacEqual(a, b string) bool {
	return hmac.Equal([]byte(a), []byte(b))
}
