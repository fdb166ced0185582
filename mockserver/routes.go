package mockserver

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/mockserver/dashboard"
)

// apiRouter finds the operation of an API request without regular
// expressions: every path the family declares is /NAME or /NAME/{param},
// so the first segment after the base path picks a short list of routes.
type apiRouter struct {
	bySegment map[string][]apiRoute
}

type apiRoute struct {
	method string
	param  bool // the path has a parameter after the segment
	op     *cambmock.Operation
	kind   *kind
}

// handler serves one API operation; param is the path parameter's
// decoded value, or "".
type handler func(s *Server, ex *exchange, r *http.Request, rt *apiRoute, param string)

func (s *Server) routes() {
	s.api.bySegment = map[string][]apiRoute{}
	for _, k := range s.kinds {
		for _, op := range k.Operations() {
			seg, _, hasParam := strings.Cut(strings.TrimPrefix(op.Path, "/"), "/")
			s.api.bySegment[seg] = append(s.api.bySegment[seg], apiRoute{method: op.Method, param: hasParam, op: op, kind: k})
		}
	}

	r := mux.NewRouter()
	r.SkipClean(true)
	r.NotFoundHandler = http.HandlerFunc(s.notFound)
	r.MethodNotAllowedHandler = http.HandlerFunc(s.adminMethodNotAllowed)
	// The dashboard, before the admin API's subrouter, whose own 404
	// would answer its paths.
	ui := dashboard.Handler(s.adminGuard())
	r.Handle(strings.TrimSuffix(dashboard.Path, "/"), ui)
	r.PathPrefix(dashboard.Path).Handler(ui)
	admin := r.PathPrefix("/__admin").Subrouter()
	admin.NotFoundHandler = r.NotFoundHandler
	admin.MethodNotAllowedHandler = r.MethodNotAllowedHandler
	admin.Use(s.guard)
	admin.HandleFunc("/health", s.adminHealth).Methods(http.MethodGet)
	admin.HandleFunc("/openapi.yaml", s.adminSpec).Methods(http.MethodGet)
	admin.HandleFunc("/scenarios", s.adminScenarios).Methods(http.MethodGet)
	admin.HandleFunc("/kinds", s.adminKinds).Methods(http.MethodGet)
	admin.HandleFunc("/tasks", s.adminCreateTask).Methods(http.MethodPost)
	admin.HandleFunc("/tasks", s.adminListTasks).Methods(http.MethodGet)
	admin.HandleFunc("/tasks/{task_id}", s.adminGetTask).Methods(http.MethodGet)
	admin.HandleFunc("/tasks/{task_id}/discipline", s.adminDiscipline).Methods(http.MethodGet)
	admin.HandleFunc("/tasks/{task_id}/history", s.adminHistory).Methods(http.MethodGet)
	admin.HandleFunc("/tasks/{task_id}/timeline", s.adminTimeline).Methods(http.MethodGet)
	admin.HandleFunc("/tasks/{task_id}/wait", s.adminWaitTask).Methods(http.MethodGet)
	admin.HandleFunc("/wait", s.adminWaitTasks).Methods(http.MethodGet)
	admin.HandleFunc("/reset", s.adminReset).Methods(http.MethodPost)
	admin.HandleFunc("/clock", s.adminGetClock).Methods(http.MethodGet)
	admin.HandleFunc("/clock", s.adminAdvanceClock).Methods(http.MethodPost)
	admin.HandleFunc("/requests", s.adminRequests).Methods(http.MethodGet)
	admin.HandleFunc("/events", s.adminEvents).Methods(http.MethodGet)
	s.admin = r
}

// route serves one request: the API by its own router, the files and the
// admin API by gorilla/mux.
func (s *Server) route(ex *exchange, r *http.Request) {
	path := r.URL.Path
	rest, ok := strings.CutPrefix(path, s.baseSlash)
	if !ok {
		if strings.HasPrefix(path, "/__files/") {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				writeError(ex, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+path+"; use GET, HEAD", "Allow", "GET, HEAD")
				return
			}
			s.serveFile(ex, r)
			return
		}
		s.admin.ServeHTTP(ex, r)
		return
	}
	seg, param, hasParam := strings.Cut(rest, "/")
	routes := s.api.bySegment[seg]
	var shaped []*apiRoute
	for i := range routes {
		rt := &routes[i]
		if rt.param != hasParam || hasParam && (param == "" || strings.Contains(param, "/")) {
			continue
		}
		if rt.method == r.Method {
			ex.op = rt.op
			if !s.authenticate(ex, r, rt) {
				return
			}
			switch rt.op.Role {
			case cambmock.RoleStatus:
				s.servePoll(ex, r, rt, param)
			case cambmock.RoleCreate:
				s.serveCreate(ex, r, rt)
			case cambmock.RoleResult:
				s.serveResult(ex, r, rt, param)
			case cambmock.RoleBulk:
				s.serveBulk(ex, r, rt)
			}
			return
		}
		shaped = append(shaped, rt)
	}
	if len(shaped) > 0 {
		var allow []string
		for _, rt := range shaped {
			allow = append(allow, rt.method)
		}
		slices.Sort(allow)
		allow = slices.Compact(allow)
		a := strings.Join(allow, ", ")
		s.writeError(ex, nil, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+path+"; use "+a, "Allow", a)
		return
	}
	s.notFound(ex, r)
}

// authenticate checks the API key header: missing is a 401, a key the
// server was not given is a 403.
func (s *Server) authenticate(ex *exchange, r *http.Request, rt *apiRoute) bool {
	key := r.Header[s.keyHeader]
	switch {
	case len(key) == 0 || key[0] == "":
		s.writeError(ex, rt.op, http.StatusUnauthorized, "Not authenticated: send your API key in the "+s.spec.APIKeyHeader()+" header")
		return false
	case s.keys != nil:
		if _, ok := s.keys[key[0]]; !ok {
			s.writeError(ex, rt.op, http.StatusForbidden, "Invalid API key")
			return false
		}
	}
	return true
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	ex := exchangeOf(w)
	if strings.HasPrefix(r.URL.Path, "/__admin/") && allowed(s.admin.(*mux.Router), r) != "" {
		// mux loses a method mismatch when a later route of the same
		// subrouter shares the prefix, and calls this handler.
		s.adminMethodNotAllowed(w, r)
		return
	}
	example := ""
	if k := s.spec.DefaultKind(); k != nil {
		example = fmt.Sprintf(" (for example %s %s%s)", k.Create.Method, s.base, k.Create.Path)
	}
	detail := "no route for " + r.Method + " " + r.URL.Path + "; the API is under " + s.base + example +
		", the admin API under /__admin/; did you leave " + s.base + " out of the base URL?"
	s.writeError(ex, nil, http.StatusNotFound, detail)
}

func (s *Server) adminMethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	allow := allowed(s.admin.(*mux.Router), r)
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
