package mockserver

import (
	"crypto/rand"
	"strings"
	"testing"
)

func TestParseUUID(t *testing.T) {
	for range 1000 {
		var u [16]byte
		rand.Read(u[:])
		s := formatUUID(u)
		got, ok := parseUUID(s)
		if !ok || got != u {
			t.Fatalf("parseUUID(%s) = %x, %v; want %x", s, got, ok, u)
		}
		if _, ok := parseUUID(strings.ToUpper(s)); ok && strings.ToUpper(s) != s {
			t.Fatalf("parseUUID took the upper-case %s as canonical", strings.ToUpper(s))
		}
	}
	for _, bad := range []string{"", "x", "2f1c6b0e-8e43-4a55-9b0c-6d2f3f2a9d1", "2f1c6b0e-8e43-4a55-9b0c-6d2f3f2a9d1eg", "2f1c6b0e+8e43-4a55-9b0c-6d2f3f2a9d1e", "2f1c6b0e-8e43-4a55-9b0c-6d2f3f2a9d1g"} {
		if _, ok := parseUUID(bad); ok {
			t.Errorf("parseUUID(%q) took it", bad)
		}
	}
}
