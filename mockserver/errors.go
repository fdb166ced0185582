package mockserver

import (
	"encoding/json"
	"net/http"
	"strconv"
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

// writeValidation writes a 422 in FastAPI's shape.
func writeValidation(w http.ResponseWriter, problems ...problem) {
	body, _ := json.Marshal(struct {
		Detail []problem `json:"detail"`
	}{problems})
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
	writeError(w, http.StatusNotFound, "no route for "+r.Method+" "+r.URL.Path+
		"; the API is under /apis (for example POST /apis/text-to-sound), the admin API under /__admin/; did you leave /apis out of the base URL?")
}

func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	allow := allowedMethods(r.URL.Path)
	writeError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+"; use "+allow, "Allow", allow)
}

// allowedMethods names the methods of the route a path matches.
func allowedMethods(path string) string {
	switch {
	case path == "/apis/text-to-sound", path == "/apis/text-to-sound-results",
		path == "/__admin/reset":
		return "POST"
	case path == "/__admin/tasks", path == "/__admin/clock":
		return "GET, POST"
	case len(path) > len("/__files/") && path[:len("/__files/")] == "/__files/":
		return "GET, HEAD"
	}
	return "GET"
}
