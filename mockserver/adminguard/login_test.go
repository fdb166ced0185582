package adminguard_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock/mockserver/adminguard"
)

// TestLogin: ?token= with the right token sets the cookie and redirects
// to the URL without it; a wrong one is refused; no token passes through.
func TestLogin(t *testing.T) {
	const token = "0123456789abcdef-token"
	type result struct {
		Answered bool
		Code     int
		Location string
		Cookie   string // as Set-Cookie says it
	}
	tests := []struct {
		name   string
		guard  adminguard.Guard
		method string
		target string
		want   result
	}{
		{name: "the right token", guard: adminguard.Guard{Token: token}, target: "/__admin/ui/?token=" + token,
			want: result{Answered: true, Code: 303, Location: "/__admin/ui/", Cookie: "cambmock_admin=" + token + "; Path=/__admin/; HttpOnly; SameSite=Strict"}},
		{name: "other parameters stay", guard: adminguard.Guard{Token: token}, target: "/__admin/ui/?live=poll&token=" + token,
			want: result{Answered: true, Code: 303, Location: "/__admin/ui/?live=poll", Cookie: "cambmock_admin=" + token + "; Path=/__admin/; HttpOnly; SameSite=Strict"}},
		{name: "a wrong token", guard: adminguard.Guard{Token: token}, target: "/__admin/ui/?token=guess",
			want: result{Answered: true, Code: 401}},
		{name: "an empty token", guard: adminguard.Guard{Token: token}, target: "/__admin/ui/?token=",
			want: result{Answered: true, Code: 401}},
		{name: "no token asked for", guard: adminguard.Guard{}, target: "/__admin/ui/?token=x",
			want: result{Answered: true, Code: 303, Location: "/__admin/ui/"}},
		{name: "no token given", guard: adminguard.Guard{Token: token}, target: "/__admin/ui/",
			want: result{}},
		{name: "not a GET", guard: adminguard.Guard{Token: token}, method: "POST", target: "/__admin/ui/?token=" + token,
			want: result{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.method
			if m == "" {
				m = "GET"
			}
			w := httptest.NewRecorder()
			answered := tt.guard.Login(w, httptest.NewRequest(m, tt.target, nil))
			got := result{Answered: answered}
			if answered {
				got.Code, got.Location, got.Cookie = w.Code, w.Header().Get("Location"), w.Header().Get("Set-Cookie")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Login(%s %s) mismatch (-want +got):\n%s", m, tt.target, diff)
			}
		})
	}
	// Over TLS the cookie is Secure.
	r := httptest.NewRequest("GET", "https://127.0.0.1/__admin/ui/?token="+token, nil)
	w := httptest.NewRecorder()
	adminguard.Guard{Token: token}.Login(w, r)
	if c := w.Result().Cookies(); len(c) != 1 || !c[0].Secure {
		t.Errorf("Login over TLS: cookies %v, want one that is Secure", c)
	}
	if w.Code != http.StatusSeeOther {
		t.Errorf("Login over TLS: %d", w.Code)
	}
}
