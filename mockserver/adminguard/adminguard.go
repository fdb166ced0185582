// Package adminguard protects cambmock's admin APIs (/__admin/ of the mock
// and of the proxy) from the two ways a stranger reaches a local server:
// a web page in the user's browser that posts to it (cross-site request
// forgery, or DNS rebinding a host name to 127.0.0.1), and other machines
// when the server listens beyond loopback.
//
// A [Guard] refuses any request that a browser marks as coming from
// another site (an Origin that is not the request's host, or
// Sec-Fetch-Site: cross-site) and any write whose body is not JSON. Then,
// with a token, every request must carry it; without one, only loopback
// clients that name a loopback host are served, so a server on 127.0.0.1
// needs no setup and a rebound name reaches nothing.
package adminguard

import (
	"crypto/subtle"
	"encoding/json"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// CookieName is the cookie a browser holds the token in, once it has
// opened the dashboard with ?token=TOKEN.
const CookieName = "cambmock_admin"

// A Guard decides which requests an admin API serves. The zero Guard
// serves loopback clients only.
type Guard struct {
	// Token, if not empty, must come with every request: as
	// "Authorization: Bearer TOKEN", an X-Cambmock-Admin-Token header, or
	// the [CookieName] cookie.
	Token string
	// Open lists paths served to anyone, such as /__admin/health for
	// container health checks. They must hold nothing secret. Only GET
	// and HEAD requests are open.
	Open []string
}

// Check returns 0 if r may be served, else the status to refuse it with
// and why, worded for the one who sent it.
func (g Guard) Check(r *http.Request) (int, string) {
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return http.StatusForbidden, "the admin API refuses requests from other origins (this one came from " + strconv.Quote(o) + "); call it from a program, not a web page"
		}
	} else if o == "null" {
		return http.StatusForbidden, "the admin API refuses requests from other origins (this one came from an opaque origin); call it from a program, not a web page"
	}
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return http.StatusForbidden, "the admin API refuses requests a browser marks as cross-site; call it from a program, not a web page"
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		ct := r.Header.Get("Content-Type")
		media, _, _ := mime.ParseMediaType(ct)
		empty := r.ContentLength == 0 && ct == ""
		if media != "application/json" && !empty {
			return http.StatusUnsupportedMediaType, "the admin API takes writes only as JSON; send Content-Type: application/json (this request sent " + strconv.Quote(ct) + ")"
		}
	}
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && g.open(r.URL.Path) {
		return 0, ""
	}
	if g.Token != "" {
		if !g.hasToken(r) {
			return http.StatusUnauthorized, "the admin API needs its token: send Authorization: Bearer TOKEN (the token given to --admin-token or $CAMBMOCK_ADMIN_TOKEN)"
		}
		return 0, ""
	}
	if !loopbackAddr(r.RemoteAddr) || !loopbackHost(r.Host) {
		return http.StatusForbidden, "the admin API answers only clients on this machine that name it as localhost or 127.0.0.1 (this request came from " +
			strconv.Quote(hostOf(r.RemoteAddr)) + " for host " + strconv.Quote(r.Host) + "); to reach it from elsewhere, start cambmock with --admin-token TOKEN and send Authorization: Bearer TOKEN"
	}
	return 0, ""
}

func (g Guard) open(path string) bool {
	for _, p := range g.Open {
		if path == p {
			return true
		}
	}
	return false
}

// HasToken reports whether r carries the guard's token.
func (g Guard) hasToken(r *http.Request) bool {
	var got string
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
		got = strings.TrimPrefix(a, "Bearer ")
	} else if h := r.Header.Get("X-Cambmock-Admin-Token"); h != "" {
		got = h
	} else if c, err := r.Cookie(CookieName); err == nil {
		got = c.Value
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(g.Token)) == 1
}

// Wrap serves next only to the requests Check lets through, answering the
// others with a JSON error {"detail": "..."}.
func (g Guard) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code, why := g.Check(r); code != 0 {
			b, _ := json.Marshal(map[string]string{"detail": why})
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.WriteHeader(code)
			w.Write(b)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

func loopbackAddr(addr string) bool {
	ip := net.ParseIP(hostOf(addr))
	return ip != nil && ip.IsLoopback()
}

// loopbackHost reports whether a Host header names this machine by a
// loopback name or address, as a DNS-rebound name does not.
func loopbackHost(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if strings.EqualFold(h, "localhost") || strings.HasSuffix(strings.ToLower(h), ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
