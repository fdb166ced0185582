package contracttest_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/contract"
	"github.com/cambmock/cambmock/contract/contracttest"
	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
)

const testKey = "contracttest-key-5b1e"

// TestRun runs the suite as subtests against the mock's default scenario,
// for every kind of task, on the mock's manual clock.
func TestRun(t *testing.T) {
	ts := mockservertest.NewTestServer(t, mockserver.WithAPIKeys(testKey))
	r := contracttest.Run(t, contract.Target{
		BaseURL:    ts.BaseURL(),
		APIKey:     testKey,
		AllowSpend: true,
		Sleep: func(_ context.Context, d time.Duration) error {
			_, err := ts.Clock().Advance(d)
			return err
		},
	})
	if r.Failed() {
		t.Errorf("Run(success) failed: %v", r.FailedChecks())
	}
	if got, want := len(r.Results), len(r.Kinds)*len(contract.Checks()); got != want || len(r.Kinds) != 8 {
		t.Errorf("Run returned %d results of %d kinds; want one per check of each of the 8 kinds, %d", got, len(r.Kinds), want)
	}
}

func TestDescribe(t *testing.T) {
	res := contract.Result{Check: contract.Checks()[2], Kind: "text-to-sound", ID: contract.Checks()[2].Name}
	f := contract.Failure{
		Problem:  "a task id that does not exist got 200, as if the task existed",
		Request:  "GET https://client.camb.ai/apis/text-to-sound/x (x-api-key: [redacted])",
		Response: `200 application/json {"status":"PENDING"}`,
		Diff:     "want: 404 and a detail saying why\ngot:  200 null",
		Count:    2,
	}
	want := `unknown-task: a task id that does not exist got 200, as if the task existed: polling a task id that does not exist gets the declared 404 and error body (seen 2 times)
request:  GET https://client.camb.ai/apis/text-to-sound/x (x-api-key: [redacted])
response: 200 application/json {"status":"PENDING"}
want: 404 and a detail saying why
got:  200 null`
	if diff := cmp.Diff(want, contracttest.Describe(res, f)); diff != "" {
		t.Errorf("Describe() mismatch (-want +got):\n%s", diff)
	}
	res.Kind, res.ID = "tts", "tts/"+res.Name
	if got := contracttest.Describe(res, f); !strings.HasPrefix(got, "tts/unknown-task: a task id that does not exist got 200") {
		t.Errorf("Describe() of a tts result = %q; want it to start with the result's ID, tts/unknown-task", got)
	}
}

// TestLive runs the suite against the live API when CAMB_API_KEY is set:
// read-only unless CAMB_ALLOW_SPEND=1 (which creates a task of each kind
// checked), every kind unless CAMB_KINDS names some (tts,dub), the tasks
// of CAMB_TASK_IDS (KIND/ID,...) too.
func TestLive(t *testing.T) {
	key := os.Getenv("CAMB_API_KEY")
	if key == "" {
		t.Skip("CAMB_API_KEY is not set: set it to check the live API (read-only; add CAMB_ALLOW_SPEND=1 to create a task of each kind, which costs credits, and CAMB_KINDS=tts,dub to check only some kinds)")
	}
	tg := contract.Target{BaseURL: cambmock.LiveBaseURL, APIKey: cambmock.APIKey(key), AllowSpend: os.Getenv("CAMB_ALLOW_SPEND") == "1",
		Client: &http.Client{Timeout: time.Minute}}
	if kinds := os.Getenv("CAMB_KINDS"); kinds != "" {
		tg.Kinds = strings.Split(kinds, ",")
	}
	if ids := os.Getenv("CAMB_TASK_IDS"); ids != "" {
		tg.TaskIDs = strings.Split(ids, ",")
	}
	r := contracttest.Run(t, tg)
	var b strings.Builder
	r.WriteText(&b)
	t.Log(b.String())
}
