package adminguard

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
)

// Login lets a browser in: it answers a GET or HEAD request whose query
// holds token=TOKEN, as a person opens the dashboard
// (/__admin/ui/?token=TOKEN). With the guard's token it sets the
// [CookieName] cookie (HttpOnly, SameSite=Strict, Path=/__admin/, Secure
// over TLS) and redirects to the same URL without the token, so that the
// token stays out of the address bar, the history and the page; with
// another token it answers 401. A guard without a token sets no cookie and
// only redirects.
//
// Login reports whether it answered r: false when r's query holds no
// token, for the caller to serve r as usual.
func (g Guard) Login(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	q := r.URL.Query()
	if !q.Has("token") {
		return false
	}
	got := q.Get("token")
	if g.Token != "" {
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(g.Token)) != 1 {
			refuse(w, http.StatusUnauthorized, "the token in ?token= is not the admin token; open the page with the token given to --admin-token or $CAMBMOCK_ADMIN_TOKEN")
			return true
		}
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: g.Token, Path: "/__admin/", HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	}
	q.Del("token")
	u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
	return true
}

// refuse answers a JSON error {"detail": why}, as [Guard.Wrap] does.
func refuse(w http.ResponseWriter, code int, why string) {
	b, _ := json.Marshal(map[string]string{"detail": why})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	w.Write(b)
}
