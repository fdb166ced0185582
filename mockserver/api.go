package mockserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/mockserver/internal/wav"
	"github.com/cambmock/cambmock/scenarios"
)

// MaxBodySize is the largest request body the server reads; a larger one
// gets a 413.
const MaxBodySize = 1 << 20

// maxDrain is how much of an oversized request body the server reads
// after answering 413, so that a client still sending it can read the
// answer rather than meet a reset connection.
const maxDrain = 64 << 20

// maxAudio is the longest audio a task may ask for.
const maxAudio = time.Hour

// ScenarioHeader is the request header that picks a task's scenario.
const ScenarioHeader = "X-Cambmock-Scenario"

var scenarioToken = regexp.MustCompile(`\[scenario:([^\]\s]*)\]`)

// readBody reads a request body of at most MaxBodySize bytes, answering
// 413 if it is larger.
func (s *Server) readBody(ex *exchange, r *http.Request) ([]byte, bool) {
	if r.ContentLength > MaxBodySize {
		s.tooLarge(ex, r, fmt.Sprintf("Request body too large: %d bytes; the limit is %d bytes", r.ContentLength, MaxBodySize))
		return nil, false
	}
	body, truncated, err := cambmock.ReadLimited(r.Body, MaxBodySize)
	switch {
	case truncated:
		s.tooLarge(ex, r, fmt.Sprintf("Request body too large; the limit is %d bytes", MaxBodySize))
		return nil, false
	case err != nil:
		s.writeError(ex, nil, http.StatusBadRequest, "The request body could not be read: "+err.Error())
		return nil, false
	}
	return body, true
}

// tooLarge answers 413, then reads what the client is still sending (up
// to a bound, for at most 10 seconds) so that it can read the answer: a
// server that closes a connection with unread data resets it, and the
// client never sees the 413.
func (s *Server) tooLarge(ex *exchange, r *http.Request, detail string) {
	ex.Header().Set("Connection", "close")
	s.writeError(ex, nil, http.StatusRequestEntityTooLarge, detail)
	ex.flush()
	rc := http.NewResponseController(ex.ResponseWriter)
	rc.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.Copy(io.Discard, io.LimitReader(r.Body, maxDrain))
}

// requestTypes returns the media types op's request body takes.
func requestTypes(op *cambmock.Operation) []string {
	if op.Op.RequestBody == nil || op.Op.RequestBody.Value == nil {
		return nil
	}
	var out []string
	for ct := range op.Op.RequestBody.Value.Content {
		out = append(out, ct)
	}
	sort.Strings(out)
	return out
}

// validateRequest checks a request against its operation in the spec
// (parameters, and the body when body is not nil), answering 422 in
// FastAPI's shape if it fails.
func (s *Server) validateRequest(ex *exchange, r *http.Request, rt *apiRoute, body []byte) bool {
	if body != nil {
		types := requestTypes(rt.op)
		ct := r.Header.Get("Content-Type")
		media, _, _ := mime.ParseMediaType(ct)
		if len(bytes.TrimSpace(body)) == 0 && len(types) > 0 {
			s.writeValidation(ex, problem{Loc: []any{"body"}, Msg: "Field required", Type: "missing"})
			return false
		}
		if len(types) > 0 && !slices.Contains(types, media) {
			what := "a JSON object"
			if !slices.Contains(types, "application/json") {
				what = "a form"
			}
			s.writeValidation(ex, problem{Loc: []any{"body"}, Msg: fmt.Sprintf("Input should be %s sent with Content-Type: %s, not %q", what, strings.Join(types, " or "), ct), Type: "model_attributes_type"})
			return false
		}
		if media == "application/json" && !json.Valid(body) {
			var v any
			err := json.Unmarshal(body, &v)
			s.writeValidation(ex, problem{Loc: []any{"body"}, Msg: "JSON decode error: " + err.Error(), Type: "json_invalid"})
			return false
		}
	}
	// kin-openapi matches the path relative to the base URL.
	rel := r.Clone(r.Context())
	rel.URL.Path = strings.TrimPrefix(r.URL.Path, s.base)
	rel.URL.RawPath = ""
	if body != nil {
		rel.Body = io.NopCloser(bytes.NewReader(body))
	} else {
		rel.Body = http.NoBody
	}
	in, err := s.spec.Route(rel)
	if err != nil {
		s.writeError(ex, nil, http.StatusInternalServerError, "cambmock cannot find this operation in the spec: "+err.Error())
		return false
	}
	if body == nil {
		in.Options.ExcludeRequestBody = true
	}
	if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
		s.writeValidation(ex, validationProblems(err)...)
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
			parse  *openapi3filter.ParseError
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
		case errors.As(err, &parse) && len(parse.Path()) > 0:
			// A form field that does not parse as its schema's type.
			loc := append([]any{"body"}, parse.Path()...)
			out = append(out, parseProblem(loc, parse))
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

// parseProblem words a form field that does not parse as FastAPI
// (pydantic 2) would.
func parseProblem(loc []any, e *openapi3filter.ParseError) problem {
	for {
		inner, ok := e.Cause.(*openapi3filter.ParseError)
		if !ok {
			break
		}
		e = inner
	}
	switch {
	case strings.HasSuffix(e.Reason, "invalid integer"):
		return problem{Loc: loc, Msg: "Input should be a valid integer, unable to parse string as an integer", Type: "int_parsing"}
	case strings.HasSuffix(e.Reason, "invalid number"):
		return problem{Loc: loc, Msg: "Input should be a valid number, unable to parse string as a number", Type: "float_parsing"}
	case strings.HasSuffix(e.Reason, "invalid boolean"):
		return problem{Loc: loc, Msg: "Input should be a valid boolean, unable to interpret input", Type: "bool_parsing"}
	}
	inner := e.Reason
	if c := e.RootCause(); c != nil {
		inner = strings.TrimPrefix(inner+": "+c.Error(), ": ")
	}
	if inner == "" {
		inner = "Invalid value"
	}
	return problem{Loc: loc, Msg: inner, Type: "value_error"}
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

// fields decodes a validated request body into its fields: JSON as
// encoding/json decodes it, a form's text fields as strings (numbers as
// float64). File parts are left out.
func fields(r *http.Request, body []byte) map[string]any {
	out := map[string]any{}
	media, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch media {
	case "application/json":
		json.Unmarshal(body, &out)
	case "multipart/form-data", "application/x-www-form-urlencoded":
		fr := &http.Request{Method: http.MethodPost, Header: http.Header{"Content-Type": {r.Header.Get("Content-Type")}},
			Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body))}
		_ = params
		if media == "multipart/form-data" {
			fr.ParseMultipartForm(MaxBodySize)
		} else {
			fr.ParseForm()
		}
		values := fr.PostForm
		if fr.MultipartForm != nil {
			values = fr.MultipartForm.Value
		}
		for k, vs := range values {
			if len(vs) == 0 {
				continue
			}
			if f, err := strconv.ParseFloat(vs[0], 64); err == nil {
				out[k] = f
			} else {
				out[k] = vs[0]
			}
		}
		if fr.MultipartForm != nil {
			fr.MultipartForm.RemoveAll()
		}
	}
	return out
}

// text is a string field of a request body.
type text struct {
	field, value string
}

// texts returns every string in v with the field it is in, in a fixed
// order.
func texts(v any, field string) []text {
	switch v := v.(type) {
	case string:
		return []text{{field, v}}
	case []any:
		var out []text
		for _, e := range v {
			out = append(out, texts(e, field)...)
		}
		return out
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out []text
		for _, k := range keys {
			name := k
			if field != "" {
				name = field + "." + k
			}
			out = append(out, texts(v[k], name)...)
		}
		return out
	}
	return nil
}

func (s *Server) serveCreate(ex *exchange, r *http.Request, rt *apiRoute) {
	body, ok := s.readBody(ex, r)
	if !ok || !s.validateRequest(ex, r, rt, body) {
		return
	}
	f := fields(r, body)
	length := DefaultDuration
	if al := rt.op.AudioLength; al != nil {
		secs, limit, fixed := al.Seconds(f)
		if !fixed && limit > 0 && secs > limit {
			s.writeValidation(ex, problem{Loc: []any{"body", al.Field}, Msg: fmt.Sprintf("Input should be less than or equal to %v%s", limit, unless(al)), Type: "less_than_equal"})
			return
		}
		if math.IsNaN(secs) || secs < 0 || secs > maxAudio.Seconds() {
			s.writeValidation(ex, problem{Loc: []any{"body", al.Field}, Msg: fmt.Sprintf("Input should be from 0 to %v: cambmock serves audio of at most an hour", maxAudio.Seconds()), Type: "less_than_equal"})
			return
		}
		length = time.Duration(secs * float64(time.Second))
	}
	audioType, _ := f["audio_type"].(string)
	if audioType == "" {
		audioType = schemaDefault(rt.op, "audio_type")
	}
	strs := texts(f, "")
	sc, ok := s.chooseScenario(ex, r, strs)
	if !ok {
		return
	}
	ex.scenario = sc
	ex.script = "create"
	if len(sc.Create) > 0 {
		st, index, n, scripted, err := s.store.createStep(r.Context(), sc)
		if err != nil {
			s.storeFailed(ex, err)
			return
		}
		if scripted { // a normal step waits too
			ex.step = index + 1
			ex.fault = st.Fault
			if !s.wait(ex, r, st.Latency.Draw(sc.LatencySeed("create", n))) {
				return
			}
			if !st.Normal {
				s.play(ex, r, st, []byte(`{"task_id":"`+newTaskID()+`"}`))
				return
			}
			ex.fault = ""
		}
	}
	h := fnv.New64a()
	for _, t := range strs {
		h.Write([]byte(t.value))
		h.Write([]byte{0})
	}
	items := 0
	if list, ok := f[rt.kind.itemsField].([]any); ok {
		items = len(list)
	}
	meta, err := s.store.create(r.Context(), taskSpec{scenario: sc.index, kind: rt.kind.index, audioType: audioType, seed: h.Sum64(), length: length, items: items})
	if err != nil {
		s.storeFailed(ex, err)
		return
	}
	ex.taskID = meta.id
	g := generator{s: s, task: meta.id, run: meta.runID, base: requestBase(r)}
	s.answer(ex, http.StatusOK, ctJSON, g.json(rt.kind.createOK), "")
}

// unless words the cases in which an audio length has no maximum.
func unless(al *cambmock.AudioLength) string {
	var parts []string
	for _, c := range al.Cases {
		if c.Fixed == 0 && c.Max != 0 {
			continue
		}
		keys := make([]string, 0, len(c.When))
		for k := range c.When {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var conds []string
		for _, k := range keys {
			conds = append(conds, k+" is "+c.When[k])
		}
		parts = append(parts, strings.Join(conds, " and "))
	}
	if len(parts) == 0 {
		return ""
	}
	return " unless " + strings.Join(parts, " or ")
}

// schemaDefault returns the default of a string property of op's JSON
// request body, or "".
func schemaDefault(op *cambmock.Operation, prop string) string {
	if op.Op.RequestBody == nil || op.Op.RequestBody.Value == nil {
		return ""
	}
	for _, mt := range op.Op.RequestBody.Value.Content {
		if mt.Schema == nil || mt.Schema.Value == nil {
			continue
		}
		if p := mt.Schema.Value.Properties[prop]; p != nil && p.Value != nil {
			if d, ok := p.Value.Default.(string); ok {
				return d
			}
		}
	}
	return ""
}

// storeFailed answers a request the store could not serve.
func (s *Server) storeFailed(ex *exchange, err error) {
	switch {
	case errors.Is(err, ErrFull):
		s.writeError(ex, nil, http.StatusServiceUnavailable, err.Error())
	case errors.Is(err, errStoreDown):
		s.writeError(ex, nil, http.StatusServiceUnavailable, err.Error(), "Retry-After", "1")
	default:
		s.writeError(ex, nil, http.StatusInternalServerError, "cambmock: "+err.Error())
	}
}

// errStoreDown is wrapped by the errors of a store that cannot be reached.
var errStoreDown = errors.New("the task store cannot be reached")

// chooseScenario picks the scenario of a new task: the header, else a
// [scenario:NAME] token in a text field of the body, else the default.
func (s *Server) chooseScenario(ex *exchange, r *http.Request, strs []text) (*scenario, bool) {
	name, from := r.Header.Get(ScenarioHeader), "the "+ScenarioHeader+" header"
	if name == "" {
		for _, t := range strs {
			if m := scenarioToken.FindStringSubmatch(t.value); m != nil {
				name, from = m[1], "the [scenario:NAME] token in the "+t.field
				break
			}
		}
	}
	if name == "" {
		return s.def, true
	}
	sc, err := s.lookupScenario(name)
	if err != nil {
		s.writeError(ex, nil, http.StatusBadRequest, fmt.Sprintf("%s names an %v", from, err))
		return nil, false
	}
	return sc, true
}

// servePoll is the hot path: the status poll.
func (s *Server) servePoll(ex *exchange, r *http.Request, rt *apiRoute, id string) {
	if r.URL.RawQuery != "" && !s.validRunIDQuery(ex, r) {
		return
	}
	tk, err := s.store.poll(r.Context(), id, rt.kind.index)
	if err != nil {
		switch {
		case errors.Is(err, ErrNoTask):
			s.writeError(ex, nil, http.StatusNotFound, "Task not found: no task with id "+strconv.Quote(id)+" on this server")
		case errors.Is(err, errWrongKind):
			s.writeError(ex, nil, http.StatusNotFound, "Task not found: "+err.Error()+"; poll it at its own kind's status endpoint")
		default:
			s.storeFailed(ex, err)
		}
		return
	}
	sc := s.scenarios[tk.meta.scenario]
	st := sc.Poll[tk.index]
	ex.tk, ex.task, ex.taskID = tk, true, tk.meta.id
	ex.scenario, ex.script, ex.step, ex.fault = sc, "poll", tk.index+1, st.Fault
	ex.trusted = !sc.OffSpec && s.strict.exactRunIDs
	if st.Latency != (scenarios.Latency{}) && !s.wait(ex, r, st.Latency.Draw(sc.LatencySeed("poll", tk.n))) {
		return
	}
	if st.Reply != nil {
		ex.status = st.Reply.Status
		body := sc.replies[tk.index]
		if tail := sc.tails[tk.index]; tail != nil {
			b := make([]byte, 0, len(body)+20+len(tail))
			b = append(b, body...)
			b = strconv.AppendInt(b, tk.meta.runID, 10)
			body = append(b, tail...)
		}
		s.answer(ex, http.StatusOK, ctJSON, body, "")
		return
	}
	s.play(ex, r, st, s.pendingBody)
}

// validRunIDQuery checks the optional run_id query parameter of a poll.
func (s *Server) validRunIDQuery(ex *exchange, r *http.Request) bool {
	q := r.URL.Query()
	if v, ok := q["run_id"]; ok {
		if _, err := strconv.ParseInt(v[0], 10, 64); err != nil {
			s.writeValidation(ex, problem{Loc: []any{"query", "run_id"}, Msg: "Input should be a valid integer, unable to parse string as an integer", Type: "int_parsing"})
			return false
		}
	}
	return true
}

// play answers with a step's error or fault. partial is what a truncated
// fault sends part of.
func (s *Server) play(ex *exchange, r *http.Request, st scenarios.Step, partial []byte) {
	ex.trusted = true // scenario steps are checked when they load
	switch {
	case st.Error != nil:
		h := ex.Header()
		for k, v := range st.Error.Header {
			h[k] = v
		}
		h.Set("Content-Length", strconv.Itoa(len(st.Error.Body)))
		ex.WriteHeader(st.Error.Code)
		io.WriteString(ex, st.Error.Body)
	case st.Fault == scenarios.FaultTruncated:
		s.truncate(ex, r, partial)
	case st.Fault != "":
		s.fault(ex, r, st.Fault)
	default:
		s.writeError(ex, nil, http.StatusInternalServerError, "cambmock: step has nothing to answer")
	}
}

// wait holds the answer for a step's latency d, or until the client
// leaves. It reports whether to go on. On a manual clock it does not wait:
// the history records the answer as sent d later.
func (s *Server) wait(ex *exchange, r *http.Request, d time.Duration) bool {
	ex.latency = d
	if s.manual != nil || d <= 0 {
		return true
	}
	timer := time.NewTimer(time.Duration(float64(d) * s.scale))
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

func (s *Server) serveResult(ex *exchange, r *http.Request, rt *apiRoute, param string) {
	run, err := strconv.ParseInt(param, 10, 64)
	if err != nil {
		s.writeValidation(ex, problem{Loc: []any{"path", rt.op.Param}, Msg: "Input should be a valid integer, unable to parse string as an integer", Type: "int_parsing"})
		return
	}
	if r.URL.RawQuery != "" && !s.validateRequest(ex, r, rt, nil) {
		return
	}
	tk, err := s.store.result(r.Context(), run, rt.kind.resultKinds, false)
	switch {
	case errors.Is(err, errNoRun):
		s.writeError(ex, nil, http.StatusNotFound, fmt.Sprintf("Run not found: no run with id %d on this server", run))
		return
	case errors.Is(err, errWrongKind):
		s.writeError(ex, nil, http.StatusBadRequest, fmt.Sprintf("Run %d is not a %s run: %v", run, rt.kind.Name, err))
		return
	case err != nil:
		s.storeFailed(ex, err)
		return
	}
	sc := s.scenarios[tk.meta.scenario]
	ex.tk, ex.task, ex.taskID, ex.scenario, ex.script = tk, true, tk.meta.id, sc, "result"
	if !tk.ready {
		ex.early = true
		s.writeError(ex, nil, http.StatusNotFound, fmt.Sprintf("Run not found: run %d has no result yet; its task has not reported SUCCESS", run))
		return
	}
	k := rt.kind
	// The result is JSON when the kind has no audio, or when the request
	// asks for JSON as the operation's x-cambmock-json-when says.
	asJSON := k.resultJSON != nil && (k.audioType == "" || matchesQuery(rt.op.JSONWhen, r))
	resultJSON := func() []byte {
		g := generator{s: s, task: tk.meta.id, run: run, base: requestBase(r), single: k.resultURLs == 1,
			itemsField: k.itemsField, items: tk.meta.items}
		return g.json(k.resultJSON)
	}
	if tk.index >= 0 {
		st := sc.Result[tk.index]
		ex.step, ex.fault = tk.index+1, st.Fault
		if !s.wait(ex, r, st.Latency.Draw(sc.LatencySeed("result", tk.n))) {
			return
		}
		if !st.Normal {
			switch {
			case st.Fault == scenarios.FaultTruncated && asJSON:
				// Half of the JSON the result would have been.
				s.play(ex, r, st, resultJSON())
			case st.Fault == scenarios.FaultTruncated && k.audioType != "":
				s.serveAudio(ex, r, k.audioType, tk.meta, "", true)
			default:
				s.play(ex, r, st, []byte(`{}`))
			}
			return
		}
		ex.fault = ""
	}
	if asJSON {
		s.answer(ex, http.StatusOK, ctJSON, resultJSON(), "")
		return
	}
	s.serveAudio(ex, r, k.audioType, tk.meta, "", false)
}

// matchesQuery reports whether r's query has every parameter of when with
// its value.
func matchesQuery(when map[string]string, r *http.Request) bool {
	if len(when) == 0 {
		return false
	}
	q := r.URL.Query()
	for k, v := range when {
		if q.Get(k) != v {
			return false
		}
	}
	return true
}

// serveAudio streams a task's WAV file; name picks one of several files
// of a result. With truncate it sends the headers and half the body, then
// drops the connection.
func (s *Server) serveAudio(ex *exchange, r *http.Request, contentType string, meta taskMeta, name string, truncate bool) {
	seed := meta.seed
	if name != "" {
		seed ^= wav.Seed(name)
	}
	f := wav.NewSeeded(seed, meta.length)
	ex.streamed = true
	h := ex.Header()
	if contentType == "" {
		contentType = "audio/wav"
	}
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.FormatInt(f.Size(), 10))
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%d.wav"`, meta.runID))
	if s.cfg.strict && ex.op != nil && !truncate && !s.strictOK(ex, http.StatusOK, []string{contentType}, nil, "audio", nil) {
		return
	}
	ex.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if truncate {
		io.CopyN(ex, f, f.Size()/2)
		ex.flush()
		s.fault(ex, r, scenarios.FaultTruncated)
		return
	}
	io.Copy(ex, f)
}

func (s *Server) serveBulk(ex *exchange, r *http.Request, rt *apiRoute) {
	body, ok := s.readBody(ex, r)
	if !ok || !s.validateRequest(ex, r, rt, body) {
		return
	}
	var runs []int64
	for _, v := range runIDsOf(fields(r, body)) {
		tk, err := s.store.result(r.Context(), v, rt.kind.bulkKinds, true)
		if err == nil && tk.ready {
			runs = append(runs, v)
		} else if err != nil && !errors.Is(err, errNoRun) && !errors.Is(err, errWrongKind) {
			s.storeFailed(ex, err)
			return
		}
	}
	g := generator{s: s, base: requestBase(r), single: rt.kind.bulkURLs == 1}
	s.answer(ex, http.StatusOK, ctJSON, g.bulk(runs, rt.kind.bulkEntry), "")
}

// runIDsOf returns the run ids a bulk body asks for: the integers of its
// one list of integers (run_ids in camb.ai's API).
func runIDsOf(f map[string]any) []int64 {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		list, ok := f[k].([]any)
		if !ok {
			continue
		}
		var out []int64
		for _, v := range list {
			if n, ok := v.(float64); ok && n == math.Trunc(n) {
				out = append(out, int64(n))
			}
		}
		return out
	}
	return nil
}

// serveFile serves the audio behind a file URL: /__files/RUN.wav or
// /__files/RUN/NAME.wav, with the token the URL was handed out with.
func (s *Server) serveFile(ex *exchange, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/__files/")
	runText, name, _ := strings.Cut(strings.TrimSuffix(rest, ".wav"), "/")
	run, err := strconv.ParseInt(runText, 10, 64)
	if err != nil || !strings.HasSuffix(rest, ".wav") || strings.Contains(name, "/") {
		writeError(ex, http.StatusNotFound, "no such file")
		return
	}
	if tok := r.URL.Query().Get("token"); !hmacEqual(tok, s.fileToken(run, name)) {
		writeError(ex, http.StatusForbidden, "the file URL's token is missing or wrong; use the URL the result endpoint returned")
		return
	}
	all := make([]uint8, len(s.kinds))
	for i := range all {
		all[i] = uint8(i)
	}
	tk, err := s.store.result(r.Context(), run, all, true)
	if errors.Is(err, errStoreDown) {
		writeError(ex, http.StatusServiceUnavailable, err.Error(), "Retry-After", "1")
		return
	}
	if err != nil {
		writeError(ex, http.StatusNotFound, fmt.Sprintf("no file for run %d on this server; it may have been reset or expired", run))
		return
	}
	ex.tk, ex.task, ex.taskID, ex.script = tk, true, tk.meta.id, "file"
	ex.scenario = s.scenarios[tk.meta.scenario]
	k := s.kinds[tk.meta.kind]
	ct := k.audioType
	if ct == "" {
		ct = "audio/wav"
	}
	s.serveAudio(ex, r, ct, tk.meta, name, false)
}
