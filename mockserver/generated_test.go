package mockserver_test

import (
	"strings"
	"testing"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/mockserver"
)

// TestGeneratedAnswersConform makes the check New leaves out for the
// embedded spec: every answer the generator builds from it conforms.
func TestGeneratedAnswersConform(t *testing.T) {
	spec, err := cambmock.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := mockserver.New(mockserver.WithSpec(spec))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.CheckGenerated(); err != nil {
		t.Fatal(err)
	}
}

// TestNewRefusesUnsatisfiableSpec gives New a spec whose result schema the
// generator cannot satisfy (a file URL that must be https, where the mock
// serves its own http URLs): New refuses it, naming the kind and the
// operation, rather than serving answers off the spec.
func TestNewRefusesUnsatisfiableSpec(t *testing.T) {
	orig := string(cambmock.SpecYAML())
	old := "        file_url:\n          type: string\n          format: uri\n"
	if n := strings.Count(orig, old); n != 1 {
		t.Fatalf("openapi.yaml holds the file_url schema %d times, want 1", n)
	}
	spec, err := cambmock.ParseSpec([]byte(strings.Replace(orig, old, old+"          pattern: '^https://'\n", 1)))
	if err != nil {
		t.Fatalf("the edited openapi.yaml: %v", err)
	}
	srv, err := mockserver.New(mockserver.WithSpec(spec))
	if err == nil {
		srv.Close()
		t.Fatal("New accepted a spec whose result the generator cannot satisfy")
	}
	for _, want := range []string{"kind text-to-sound", "does not conform", "file_url", "give the schema examples that conform"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
