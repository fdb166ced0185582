package cambmock_test

import (
	"testing"

	"github.com/cambmock/cambmock"
)

func TestLoadSpec(t *testing.T) {
	if _, err := cambmock.LoadSpec(); err != nil {
		t.Fatal(err)
	}
}
