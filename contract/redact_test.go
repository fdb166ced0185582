package contract_test

import (
	"bytes"
	"testing"

	"github.com/cambmock/cambmock/contract"
)

// TestReportScrubsKey runs the suite against a target that quotes the key
// back in its answers (in a field name and a message, as sent and
// URL-encoded): the checks fail as they should, and no report format holds
// any copy of the key.
func TestReportScrubsKey(t *testing.T) {
	t.Parallel()
	r, err := contract.Verify(t.Context(), contract.Target{
		BaseURL: serveFake(t, newFakeAPI("echo-key", echoKey, "")), APIKey: echoKey, Kinds: onlySound(), Sleep: noSleep,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res := r.Result(contract.CheckUnknownTask); res.Outcome != contract.Fail {
		t.Errorf("unknown-task = %s; want fail, the fake answering 200 for a task that does not exist", res.Outcome)
	}
	var b bytes.Buffer
	r.WriteJSON(&b)
	r.WriteText(&b)
	r.WriteJUnit(&b)
	for _, form := range keyForms(echoKey) {
		if bytes.Contains(b.Bytes(), []byte(form)) {
			t.Errorf("a report holds the key as %q:\n%s", form, b.String())
		}
	}
	if !bytes.Contains(b.Bytes(), []byte("your key [redacted] is [redacted] in a URL")) {
		t.Errorf("the reports do not show the echoed key as [redacted]:\n%s", b.String())
	}
}
