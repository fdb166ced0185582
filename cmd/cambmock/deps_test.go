package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryLinksNoTestCode: the command does not link the testing
// package, httpmock or go-cmp; those belong to the test helpers
// (mockserver/mockservertest, contract/contracttest) and the tests.
func TestBinaryLinksNoTestCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list cannot run here: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "testing" || strings.HasPrefix(dep, "github.com/jarcoal/httpmock") || strings.HasPrefix(dep, "github.com/google/go-cmp") {
			t.Errorf("cambmock links %s", dep)
		}
	}
}
