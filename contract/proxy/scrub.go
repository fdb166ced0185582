package proxy

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// redacted stands in for a secret wherever the proxy or the recorder
// shows text, as [cambmock.APIKey] does in logs.
const redacted = "[redacted]"

// minSecretLen is the length below which a key is not scrubbed: the mock
// accepts any non-empty key, and placeholders such as "x" or "any" are
// not secrets, while replacing them would mangle ordinary text.
const minSecretLen = 4

// percentHex matches a percent-encoded byte, to spell it in lower case.
var percentHex = regexp.MustCompile(`%[0-9A-F]{2}`)

// secretForms returns the spellings of secret that text may hold: as
// sent, URL-encoded (query and path escaping, in upper- and lower-case
// hex), JSON-escaped (with and without HTML escaping) and Go-quoted.
func secretForms(secret string) []string {
	if len(secret) < minSecretLen {
		return nil
	}
	forms := []string{secret, url.QueryEscape(secret), url.PathEscape(secret)}
	for _, f := range forms[1:] {
		forms = append(forms, percentHex.ReplaceAllStringFunc(f, strings.ToLower))
	}
	if q := strconv.Quote(secret); q != `"`+secret+`"` {
		forms = append(forms, q[1:len(q)-1]) // as %q shows it
	}
	if b, err := json.Marshal(secret); err == nil {
		forms = append(forms, string(b[1:len(b)-1]))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(secret) == nil {
		b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		forms = append(forms, string(b[1:len(b)-1]))
	}
	return forms
}

// A scrubber replaces secrets in text with [redacted]. The zero scrubber
// replaces nothing.
type scrubber struct {
	forms []string // longest first, so a form never leaves part of a longer one
}

// newScrubber returns a scrubber of secrets; empty and short ones are
// left out (see minSecretLen).
func newScrubber(secrets ...string) scrubber {
	var forms []string
	for _, s := range secrets {
		forms = append(forms, secretForms(s)...)
	}
	slices.SortFunc(forms, func(a, b string) int { return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b)) })
	return scrubber{forms: slices.Compact(forms)}
}

func (s scrubber) String(x string) string {
	for _, f := range s.forms {
		x = strings.ReplaceAll(x, f, redacted)
	}
	return x
}

// Bytes returns b with the secrets replaced; b itself is left alone.
func (s scrubber) Bytes(b []byte) []byte {
	for _, f := range s.forms {
		if bytes.Contains(b, []byte(f)) {
			b = bytes.ReplaceAll(b, []byte(f), []byte(redacted))
		}
	}
	return b
}

// JSON scrubs every string and object key of a decoded JSON value.
func (s scrubber) JSON(v any) any {
	switch v := v.(type) {
	case string:
		return s.String(v)
	case []any:
		for i := range v {
			v[i] = s.JSON(v[i])
		}
		return v
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[s.String(k)] = s.JSON(e)
		}
		return out
	}
	return v
}

// maxKeys bounds how many distinct API keys a [Proxy] remembers to scrub
// from what it serves and logs.
const maxKeys = 64

// keyring remembers the API keys most recently forwarded, most recent
// last, so that what the proxy serves and logs later (its summary of
// findings, whose examples quote upstream answers) can be scrubbed of
// them. It is safe for concurrent use.
type keyring struct {
	mu   sync.Mutex
	keys []string
}

func (k *keyring) add(key string) {
	if len(key) < minSecretLen {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if i := slices.Index(k.keys, key); i >= 0 {
		k.keys = slices.Delete(k.keys, i, i+1)
	} else if len(k.keys) >= maxKeys {
		k.keys = slices.Delete(k.keys, 0, 1)
	}
	k.keys = append(k.keys, key)
}

func (k *keyring) all() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.keys)
}

// userinfoSecrets returns the user name and password of u's userinfo.
func userinfoSecrets(u *url.URL) []string {
	if u == nil || u.User == nil {
		return nil
	}
	pass, _ := u.User.Password()
	return []string{u.User.Username(), pass}
}

// redactURL shows u with its userinfo, if any, replaced by [redacted].
func redactURL(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	c.User = nil
	scheme, rest, _ := strings.Cut(c.String(), "://")
	return scheme + "://" + redacted + "@" + rest
}

// redactURLString shows s, a URL that may not parse, with anything
// before an "@" in its authority replaced by [redacted].
func redactURLString(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return redactURL(u)
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		scheme, rest = "", s
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return s
	}
	out := redacted + rest[at:]
	if ok {
		out = scheme + "://" + out
	}
	return out
}
