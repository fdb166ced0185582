// Package dashboard serves cambmock's live dashboard: one page, at
// /__admin/ui/, that shows what a server has seen as it happens. It lists
// the tasks (kind, scenario, status, polls, step, age; newest first,
// filtered, paged), draws each task's polling as a timeline, shows the
// request journal and the scenario catalogue, and moves the manual clock
// or resets the server. The mock (cambmock serve) and the checking proxy
// (cambmock proxy, record) serve it; the page hides what a server lacks,
// as GET /__admin/health's "service" names the server.
//
// The page is plain HTML, CSS and JavaScript embedded in the binary: it
// loads nothing from anywhere else (its Content-Security-Policy says so),
// and nothing needs building. It reads only the admin API of the server
// that serves it, so [Handler] is mounted beside that API, behind the
// same [adminguard.Guard]. It updates itself from the server-sent events
// of GET /__admin/events, and polls every two seconds when those cannot
// be had (or when the page is opened with ?live=poll). The list is paged
// by the server, so a page of 50 tasks costs the same with 10,000.
//
// # What the page reads
//
//	GET  /__admin/health                 which server this is ("service", "clock")
//	GET  /__admin/tasks?limit=&offset=&status=&scenario=&kind=&history=true&verdicts=true
//	GET  /__admin/tasks/{id}/timeline    the selected task: events, steps, marks, discipline
//	GET  /__admin/requests?limit=1000    the journal
//	GET  /__admin/events                 live updates
//	GET  /__admin/scenarios, /__admin/kinds, /__admin/clock   (the mock only)
//	POST /__admin/clock {"by": "30s"}, POST /__admin/reset    (the mock only)
//
// # Hooks for tests
//
// These attributes are kept stable, so that tests driving a browser can
// find what the page shows:
//
//   - [data-task-id="ID"]: one element per task on the current page of
//     the list, whose text holds the task's status and scenario names; it
//     also carries data-status (empty before the first poll is answered),
//     data-scenario and data-kind.
//   - svg[data-timeline="ID"]: the task's timeline, inside its
//     [data-task-id] element: a compact one in the list, the full one once
//     the task is clicked (never both at once). It holds one [data-poll]
//     element per status poll the task's history keeps, whose
//     data-poll attribute is the poll's sequence number, with
//     data-status, data-code and data-fault saying what it was served.
//   - [data-journal]: the request journal, with one [data-request]
//     element per request it shows, newest first. Requests to the admin
//     API (the page's own among them) are shown only when the journal's
//     "admin API" box is ticked.
//   - [data-action="advance"]: buttons that move the manual clock; each
//     fixed step has data-by (such as "10s"); the one without reads the
//     custom duration from [data-input="advance-by"]. [data-action="reset"]
//     resets the server. Both are hidden on a server without them (a real
//     clock, the proxy).
//   - [data-live]: the state of live updates: "events", "polling" or
//     "offline".
//
// Inside a full timeline (svg.big[data-timeline]) there are also: one
// [data-step="N"] band per step of the scenario's poll script that has
// begun; one [data-retry-after="SEQ"] window per answer that advised a
// Retry-After, with data-early="true" when the next poll came inside it;
// data-marks on a [data-poll] naming the rules broken there (such as
// "retry-after after-terminal"); one [data-result="SEQ"] per result or
// file request.
//
// # The admin token
//
// With a token ([adminguard.Guard.Token]), a person opens
// /__admin/ui/?token=TOKEN once: the answer sets the guard's cookie
// (HttpOnly, SameSite=Strict, Path=/__admin/) and redirects to the page
// without the token, and the page's requests carry the cookie from then
// on. The page never sees the token, nor an API key: the admin API
// redacts them.
package dashboard

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/cambmock/cambmock/mockserver/adminguard"
)

// Path is where the dashboard is served.
const Path = "/__admin/ui/"

//go:embed ui
var files embed.FS

// csp lets the page load its own files and talk to its own server only.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

type file struct {
	body  []byte
	ctype string
	etag  string
}

// Handler returns the handler of the dashboard's files, under [Path], for
// the requests g lets through; it also serves g's token exchange
// (?token=TOKEN, see [adminguard.Guard.Login]). Mount it on the same
// server as the admin API, for /__admin/ui and everything under it.
func Handler(g adminguard.Guard) http.Handler {
	// Read and hashed at the first request for a file, not at every
	// start of a server whose dashboard may never be opened.
	ui := sync.OnceValue(uiFiles)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.Login(w, r) {
			return
		}
		if code, why := g.Check(r); code != 0 {
			if code == http.StatusUnauthorized {
				why = "this dashboard needs the admin token: open " + Path + "?token=TOKEN once, with the token given to --admin-token or $CAMBMOCK_ADMIN_TOKEN"
			}
			writeError(w, code, why)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+"; use GET, HEAD")
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, Path)
		if !ok {
			http.Redirect(w, r, Path, http.StatusMovedPermanently)
			return
		}
		if name == "" {
			name = "index.html"
		}
		f, ok := ui()[name]
		if !ok {
			writeError(w, http.StatusNotFound, "the dashboard has no file "+strconv.Quote(name)+"; open "+Path)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.ctype)
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", f.etag)
		if r.Header.Get("If-None-Match") == f.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Length", strconv.Itoa(len(f.body)))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			w.Write(f.body)
		}
	})
}

func writeError(w http.ResponseWriter, code int, detail string) {
	b, _ := json.Marshal(map[string]string{"detail": detail})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	w.Write(b)
}

// uiFiles reads the dashboard's files, with their types and ETags.
func uiFiles() map[string]file {
	byName := map[string]file{}
	sub, _ := fs.Sub(files, "ui")
	fs.WalkDir(sub, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		// The files' own types, not mime.TypeByExtension's: its first call
		// reads the system's MIME tables, some milliseconds of start-up
		// and half a megabyte the collector would scan for good.
		var ctype string
		switch path.Ext(name) {
		case ".html":
			ctype = "text/html; charset=utf-8"
		case ".js":
			ctype = "text/javascript; charset=utf-8"
		case ".css":
			ctype = "text/css; charset=utf-8"
		case ".svg":
			ctype = "image/svg+xml"
		default:
			ctype = mime.TypeByExtension(path.Ext(name))
		}
		byName[name] = file{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	return byName
}
