package mockserver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"

	"github.com/cambmock/cambmock"
)

// problem is one entry of a FastAPI validation error (a 422 body).
type problem struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

// Content types, pre-built so that answers share them.
var (
	ctJSON = []string{"application/json"}
)

// The shapes of the answers whose validity depends only on their code and
// shape, which strict mode checks once per operation.
const (
	shapeDetail  = "detail"  // {"detail": "..."}
	shapeFastAPI = "fastapi" // a 422 list of problems
)

// answer writes a complete answer of the API. In strict mode it first
// checks it against the spec (see [WithStrict]); shape, if not "", names a
// body whose validity does not depend on its text, checked once per
// operation and code.
func (s *Server) answer(ex *exchange, code int, ct []string, body []byte, shape string, headers ...string) {
	if s.cfg.strict && ex.op != nil && !ex.trusted && !s.strictOK(ex, code, ct, body, shape, headers) {
		return
	}
	h := ex.Header()
	for i := 0; i+1 < len(headers); i += 2 {
		h.Set(headers[i], headers[i+1])
	}
	// No Content-Length: net/http counts what the handler wrote, and a
	// header the handler does not set is one map entry fewer to copy and
	// sort on every answer.
	h["Content-Type"] = ct
	ex.WriteHeader(code)
	ex.Write(body)
}

// writeError answers an error of the API in the spec's shape, {"detail": ...}.
// op, if not nil, is the operation the request reached.
func (s *Server) writeError(ex *exchange, op *cambmock.Operation, code int, detail string, headers ...string) {
	if op != nil {
		ex.op = op
	}
	s.answer(ex, code, ctJSON, detailBody(detail), shapeDetail, headers...)
}

// writeValidation answers a 422 in FastAPI's shape. A problem listed twice
// (kin-openapi reports exclusiveMinimum and minimum alike) is listed once.
func (s *Server) writeValidation(ex *exchange, problems ...problem) {
	s.answer(ex, http.StatusUnprocessableEntity, ctJSON, validationBody(problems), shapeFastAPI)
}

func detailBody(detail string) []byte {
	b, _ := marshalJSON(struct {
		Detail string `json:"detail"`
	}{detail})
	return b
}

func validationBody(problems []problem) []byte {
	list := make([]json.RawMessage, 0, len(problems))
	for _, p := range problems {
		b, _ := marshalJSON(p)
		if !slices.ContainsFunc(list, func(q json.RawMessage) bool { return string(q) == string(b) }) {
			list = append(list, b)
		}
	}
	b, _ := marshalJSON(struct {
		Detail []json.RawMessage `json:"detail"`
	}{list})
	return b
}

// marshalJSON is json.Marshal without escaping <, > and &, which URLs hold.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// writeError writes an error outside the API (the admin API, files): a
// JSON body {"detail": "..."} with the headers given as pairs.
func writeError(w http.ResponseWriter, code int, detail string, headers ...string) {
	h := w.Header()
	for i := 0; i+1 < len(headers); i += 2 {
		h.Set(headers[i], headers[i+1])
	}
	writeJSON(w, code, detailBody(detail))
}

// writeJSON writes a complete JSON response.
func writeJSON(w http.ResponseWriter, code int, body []byte) {
	h := w.Header()
	h["Content-Type"] = ctJSON
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(code)
	w.Write(body)
}

// writeValue writes v as a JSON response.
func writeValue(w http.ResponseWriter, code int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		writeError(w, http.StatusInternalServerError, "cambmock could not encode its answer: "+err.Error())
		return
	}
	writeJSON(w, code, b.Bytes())
}
