package contract_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cambmock/cambmock/contract"
)

// TestChecksNamed guards the check names: reports and JUnit files refer
// to them, so they must be unique and stable.
func TestChecksNamed(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range contract.Checks() {
		if seen[c.Name] || c.Name == "" || c.Purpose == "" {
			t.Errorf("check %q is repeated or lacks a name or purpose", c.Name)
		}
		seen[c.Name] = true
	}
	if len(seen) != 17 {
		t.Errorf("Checks() has %d checks; update this test when adding one", len(seen))
	}
}

func TestVerifyBadTarget(t *testing.T) {
	tests := []struct {
		name string
		tg   contract.Target
		want string
	}{
		{"no base URL", contract.Target{}, "cannot check the target: no base URL; give one such as https://client.camb.ai/apis"},
		{"not http", contract.Target{BaseURL: "ftp://x/apis"}, `cannot check the target: base URL "ftp://x/apis" is not an http(s) URL such as https://client.camb.ai/apis`},
		{"query", contract.Target{BaseURL: "http://x/apis?a=1"}, `cannot check the target: base URL "http://x/apis?a=1" has a query or fragment; give only scheme, host and path`},
		{"bad task id", contract.Target{BaseURL: "http://x/apis", TaskIDs: []string{"a/b"}}, `cannot check the target: task id "a/b" cannot be used in a URL path`},
		{"bad task id of a kind", contract.Target{BaseURL: "http://x/apis", TaskIDs: []string{"tts/a/b"}}, `cannot check the target: task id "tts/a/b" cannot be used in a URL path`},
		{"unknown kind", contract.Target{BaseURL: "http://x/apis", Kinds: []string{"tts", "speech"}},
			`cannot check the target: unknown kind "speech"; the spec declares text-to-sound, audio-separation, dub, text-to-voice, transcription, translated-tts, translation, tts`},
		{"no kind", contract.Target{BaseURL: "http://x/apis", Kinds: []string{}},
			"cannot check the target: Target.Kinds names no kind; give some of text-to-sound, audio-separation, dub, text-to-voice, transcription, translated-tts, translation, tts, or nil for all"},
		{"task of a kind left out", contract.Target{BaseURL: "http://x/apis", Kinds: []string{"tts"}, TaskIDs: []string{"dub/abc"}},
			`cannot check the target: task id "dub/abc" is a dub task, but Target.Kinds (--kind) leaves dub out; check dub too, or leave the id out`},
		{"bare task id of no kind", contract.Target{BaseURL: "http://x/apis", Kinds: []string{"tts", "dub"}, TaskIDs: []string{"abc"}},
			`cannot check the target: task id "abc" names no kind, and the default kind text-to-sound is not checked; give it as KIND/ID, such as dub/abc`},
		{"pending bound at timeout", contract.Target{BaseURL: "http://x/apis", Timeout: 3 * time.Second, PendingBound: 3 * time.Second},
			"cannot check the target: the pending bound 3s (Target.PendingBound, --pending-bound) is not below the timeout 3s (Target.Timeout, --timeout); give a bound below the timeout, so a task stuck in PENDING is judged before the run ends"},
		{"pending bound above the default timeout", contract.Target{BaseURL: "http://x/apis", PendingBound: 10 * time.Minute},
			"cannot check the target: the pending bound 10m0s (Target.PendingBound, --pending-bound) is not below the timeout 5m0s (Target.Timeout, --timeout); give a bound below the timeout, so a task stuck in PENDING is judged before the run ends"},
		{"unreachable", contract.Target{BaseURL: "http://127.0.0.1:1/apis", APIKey: "k"}, "cannot check the target http://127.0.0.1:1/apis: cannot connect to 127.0.0.1:1: connect: connection refused; is the server running, and is --base-url right?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := tt.tg
			tg.Sleep = func(ctx context.Context, d time.Duration) error { return nil }
			_, err := contract.Verify(t.Context(), tg)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Verify() error = %v, want %q", err, tt.want)
			}
			if !errors.Is(err, contract.ErrTarget) {
				t.Errorf("Verify() error does not wrap ErrTarget")
			}
		})
	}
}
