package mockserver

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
)

// problem is one entry of a FastAPI validation error (a 422 body).
type problem struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

// writeError writes every error the server answers: a JSON body in the
// spec's shape ({"detail": "..."}), with the headers given as pairs.
func writeError(w http.ResponseWriter, code int, detail string, headers ...string) {
	h := w.Header()
	for i := 0; i+1 < len(headers); i += 2 {
		h.Set(headers[i], headers[i+1])
	}
	body, _ := json.Marshal(struct {
		Detail string `json:"detail"`
	}{detail})
	writeJSON(w, code, body)
}

// writeValidation writes a 422 in FastAPI's shape. A problem listed twice
// (kin-openapi reports exclusiveMinimum and minimum alike) is listed once.
func writeValidation(w http.ResponseWriter, problems ...problem) {
	list := make([]json.RawMessage, 0, len(problems))
	for _, p := range problems {
		b, _ := json.Marshal(p)
		if !slices.ContainsFunc(list, func(q json.RawMessage) bool { return string(q) == string(b) }) {
			list = append(list, b)
		}
	}
	body, _ := json.Marshal(struct {
		Detail []json.RawMessage `json:"detail"`
	}{list})
	writeJSON(w, http.StatusUnprocessableEntity, body)
}

// writeJSON writes a complete JSON response.
func writeJSON(w http.ResponseWriter, code int, body []byte) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(code)
	w.Write(body)
}

// writeValue writes v as a JSON response.
func writeValue(w http.ResponseWriter, code int, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		writeError(w, http.StatusInternalServerError, "cambmock could not encode its answer: "+err.Error())
		return
	}
	writeJSON(w, code, append(body, '\n'))
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if allowed(s.router, r) != "" {
		// mux loses a method mismatch when a later route of the same
		// subrouter shares the prefix, and calls this handler.
		s.methodNotAllowed(w, r)
		return
	}
	writeError(w, http.StatusNotFound, "no route for "+r.Method+" "+r.URL.Path+
		"; the API is under /apis (for example POST /apis/text-to-sound), the admin API under /__admin/; did you leave /apis out of the base URL?")
}

func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	allow := allowed(s.router, r)
	writeError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+"; use "+allow, "Allow", allow)
}

// allowed names the methods r's URL is served with, or "" if none. It
// asks the router for each method: mux answers 404 rather than 405 when a
// later route of the same subrouter shares the path's prefix.
func allowed(router *mux.Router, r *http.Request) string {
	var out []string
	for _, m := range [...]string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		var match mux.RouteMatch
		if router.Match(probe, &match) && match.MatchErr == nil && match.Route != nil && match.Route.GetHandler() != nil {
			out = append(out, m)
		}
	}
	return strings.Join(out, ", ")
}
