package contract

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// redacted stands in for whatever is removed from a report.
const redacted = "[redacted]"

// minScrubbed is the shortest API key that is scrubbed from text. A key
// of one to three bytes is no secret, and replacing every copy of it in
// every message would make them unreadable.
const minScrubbed = 4

// A scrubber removes API keys from text: as sent, URL-encoded (with
// either case of hex digit) and JSON-escaped, so that a key an upstream
// echoes in a body, a path or a header never reaches a report. A nil
// scrubber removes nothing. It works out the forms of its keys when first
// used, since most exchanges never need them; it is not safe for
// concurrent use.
type scrubber struct {
	keys  []string
	forms []string // longest first, once ready
	ready bool
}

// newScrubber returns a scrubber of the given keys; those shorter than
// minScrubbed are left alone.
func newScrubber(keys ...string) *scrubber {
	return &scrubber{keys: keys}
}

func (sc *scrubber) prepare() {
	sc.ready = true
	var forms []string
	for _, key := range sc.keys {
		if len(key) < minScrubbed {
			continue
		}
		forms = append(forms, key, url.QueryEscape(key), url.PathEscape(key), lowerHex(url.QueryEscape(key)), lowerHex(url.PathEscape(key)))
		if b, err := json.Marshal(key); err == nil {
			forms = append(forms, string(b[1:len(b)-1]))
		}
		var buf strings.Builder
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if enc.Encode(key) == nil {
			s := strings.TrimSpace(buf.String())
			forms = append(forms, s[1:len(s)-1])
		}
	}
	slices.SortFunc(forms, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	sc.forms = slices.Compact(forms)
}

// lowerHex writes the hex digits of s's percent escapes in lower case.
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = lower(b[i+1]), lower(b[i+2])
			i += 2
		}
	}
	return string(b)
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'F' {
		return c + 'a' - 'A'
	}
	return c
}

// text returns s without the keys.
func (sc *scrubber) text(s string) string {
	if sc == nil {
		return s
	}
	if !sc.ready {
		sc.prepare()
	}
	for _, f := range sc.forms {
		if strings.Contains(s, f) {
			s = strings.ReplaceAll(s, f, redacted)
		}
	}
	return s
}

// failure returns f without the key in any of its texts.
func (sc *scrubber) failure(f Failure) Failure {
	f.Problem = sc.text(f.Problem)
	f.Request = sc.text(f.Request)
	f.Response = sc.text(f.Response)
	f.Diff = sc.text(f.Diff)
	return f
}

// clip cuts s to at most n bytes, on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// secretParam reports whether a query parameter of that name (decoded)
// is likely to hold a secret: a key, a token, a signature or a password.
func secretParam(name, keyHeader string) bool {
	n := strings.ToLower(name)
	if keyHeader != "" && n == strings.ToLower(keyHeader) {
		return true
	}
	for _, w := range []string{"key", "token", "signature", "secret", "password", "passwd", "auth", "credential", "session"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return n == "sig" || strings.HasPrefix(n, "x-amz-") || strings.HasPrefix(n, "x-goog-")
}

// redactQuery rewrites a raw query with the values of secret parameters
// replaced. Names are matched as decoded, in any case, so
// x%2Dapi%2Dkey=... is redacted as x-api-key=... is. Pairs that do not
// decode are dropped rather than shown.
func redactQuery(raw, keyHeader string) string {
	if raw == "" {
		return ""
	}
	q, _ := url.ParseQuery(raw)
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(q)) {
		for _, v := range q[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k) + "=")
			if secretParam(k, keyHeader) {
				b.WriteString(redacted)
			} else {
				b.WriteString(url.QueryEscape(v))
			}
		}
	}
	return b.String()
}

// redactURL shows a URL with its password and secret query values
// redacted, as reports show the URLs a target points at.
func redactURL(raw, keyHeader string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a URL that does not parse)"
	}
	u.RawQuery = redactQuery(u.RawQuery, keyHeader)
	return u.Redacted()
}

// requestSecrets returns the secrets a request carries: its API key (in
// the header named keyHeader) and the values of query parameters whose
// decoded names say they hold secrets.
func requestSecrets(req *http.Request, keyHeader string) []string {
	var out []string
	if keyHeader != "" {
		out = append(out, req.Header.Values(keyHeader)...)
	}
	if req.URL.RawQuery == "" {
		return out
	}
	q, _ := url.ParseQuery(req.URL.RawQuery)
	for k, vs := range q {
		if secretParam(k, keyHeader) {
			out = append(out, vs...)
		}
	}
	return out
}
