package scenarios_test

import (
	"fmt"
	"time"

	"github.com/cambmock/cambmock"
	"github.com/cambmock/cambmock/scenarios"
)

func ExampleParse() {
	const file = `description: PENDING for 2 polls, then SUCCESS
poll:
  - status: PENDING
    polls: 2
  - status: SUCCESS
`
	sc, err := scenarios.Parse("two-polls.yaml", []byte(file))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sc.Name)
	fmt.Println(sc.Description)
	for i, st := range sc.Poll {
		lasts := "forever"
		switch {
		case st.Polls > 0:
			lasts = fmt.Sprintf("for %d polls", st.Polls)
		case st.For > 0:
			lasts = "for " + st.For.String()
		}
		// 1001 stands for the run id the server allocates.
		fmt.Printf("step %d, %s: %s\n", i+1, lasts, st.Reply.Body(1001))
	}
	// Output:
	// two-polls
	// PENDING for 2 polls, then SUCCESS
	// step 1, for 2 polls: {"status":"PENDING","run_id":null,"exception_reason":null,"message":null}
	// step 2, forever: {"status":"SUCCESS","run_id":1001,"exception_reason":null,"message":null}
}

func ExampleParse_errors() {
	const file = `description: a 429, then SUCCESS
poll:
  - error:
      code: 429
      headers:
        Retry-After: "1"
    polls: 2
    for: 5s
  - Status: SUCCESS
`
	_, err := scenarios.Parse("rate-limited.yaml", []byte(file))
	fmt.Println(err)
	// Output:
	// rate-limited.yaml:3:5: poll step 1 has both "polls" and "for"; give one
	// rate-limited.yaml:9:5: unknown key "Status" in poll step 2; did you mean "status"?
}

// Parse takes any status, since which statuses exist is the spec's to say;
// Check refuses one the spec in force does not declare.
func ExampleScenario_Check() {
	const file = `description: QUEUED, then PENDING, then SUCCESS
poll:
  - status: QUEUED
    polls: 1
  - status: PENDING
    polls: 1
  - status: SUCCESS
`
	sc, err := scenarios.Parse("queued.yaml", []byte(file))
	if err != nil {
		fmt.Println(err)
		return
	}
	spec, err := cambmock.LoadSpec()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sc.Check(spec))
	// Output:
	// queued.yaml:3:13: poll step 1: unknown status "QUEUED"; openapi.yaml declares SUCCESS, PENDING, TIMEOUT, ERROR, PAYMENT_REQUIRED; mark the scenario "off_spec: true" to serve it anyway
}

// A scenario built in Go skips Parse; Validate applies Parse's rules to it.
func ExampleScenario_Validate() {
	sc := &scenarios.Scenario{
		Name:        "flaky",
		Description: "a reset, then SUCCESS",
		Poll: scenarios.Script{
			{Polls: 1, Fault: scenarios.FaultReset},
			{Polls: 1}, // answers nothing
		},
	}
	fmt.Println(sc.Validate())
	// Output:
	// scenario "flaky": poll step 2 answers nothing; give it a Reply, an Error or a Fault
	// scenario "flaky": poll step 2 is the last and lasts 1 poll, but the last poll step must last forever, since a task answers every poll; set its Polls to 0
}

// The manual clock plays ten minutes of a task's life in microseconds: a
// client polls every 30 seconds of the clock's time until the task is done.
func ExampleScript_At() {
	sc, err := scenarios.Parse("ten-minutes.yaml", []byte(`description: PENDING for 10 minutes, then SUCCESS
poll:
  - status: PENDING
    for: 10m
  - status: SUCCESS
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	spec, err := cambmock.LoadSpec()
	if err != nil {
		fmt.Println(err)
		return
	}
	clock := scenarios.NewManualClock(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	created := clock.Now()

	var (
		pos    scenarios.Position
		status cambmock.Status
		polls  int
	)
	for {
		elapsed := clock.Now().Sub(created)
		st, next, _ := sc.Poll.At(pos, elapsed)
		pos = next
		polls++
		if st.Reply.Status != status {
			status = st.Reply.Status
			fmt.Printf("after %v: %s\n", elapsed, status)
		}
		if spec.Terminal(status) {
			break
		}
		if _, err := clock.Advance(30 * time.Second); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Println(polls, "polls")
	// Output:
	// after 0s: PENDING
	// after 10m0s: SUCCESS
	// 21 polls
}

func ExampleBuiltins() {
	spec, err := cambmock.LoadSpec()
	if err != nil {
		fmt.Println(err)
		return
	}
	all, err := scenarios.Builtins(spec)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, sc := range all {
		fmt.Printf("%s: %s\n", sc.Name, sc.Description)
	}
	// Output:
	// connection-reset: the connection is reset (TCP RST) on the second poll, then SUCCESS
	// create-rate-limited: the first create request that picks this scenario gets 429 with Retry-After 1; the retry succeeds
	// drift-failed-status: off-spec: status FAILED with a message, as the docs' text-to-sound sample expects
	// drift-html-error: off-spec: a 500 with an HTML page where the spec declares JSON, then SUCCESS
	// drift-missing-retry-after: off-spec: 429 without the Retry-After header the spec declares, then SUCCESS
	// drift-run-id-string: off-spec: SUCCESS with run_id as a string, not an integer
	// drift-success-without-run-id: off-spec: SUCCESS with run_id null, so the client has nothing to fetch
	// drift-terminal-regress: off-spec: SUCCESS once, then back to PENDING forever
	// drift-undeclared-status: off-spec: a 409 the spec does not declare on the first poll, then SUCCESS
	// empty-response: the first poll's connection closes without a byte, then PENDING once, then SUCCESS
	// error: PENDING for 1 poll, then ERROR with exception_reason PROCESSING_ERROR and a message
	// extra-fields: SUCCESS with fields the spec does not list; allowed, reported as drift warnings by verify
	// hang: the first poll is never answered until the client gives up, then SUCCESS
	// harmful-content: ERROR at the first poll because the prompt was flagged (HARMFUL_CONTENT_DETECTED)
	// jittery: PENDING for 3 polls each answered after 20ms to 200ms (seeded), then SUCCESS
	// maintenance: 503 JSON with Retry-After 2 for the first 5 seconds, then PENDING once, then SUCCESS
	// malformed-json: off-spec: the second poll gets a 200 whose JSON body is cut off, then SUCCESS
	// payment-required: PAYMENT_REQUIRED at the first poll, as when the account has run out of credits
	// rate-limited: 429 with Retry-After 1 on the first 2 polls, then PENDING once, then SUCCESS
	// result-server-error: SUCCESS at once, but the first result request gets a 500; the retry gets the audio
	// result-truncated: SUCCESS at once, but the first audio download is cut off mid-body; the retry gets it whole
	// server-error: a 500, then a 503 with an HTML page from a gateway, then PENDING once, then SUCCESS
	// slow-poll: every poll is answered after 250 ms; PENDING for 2 polls, then SUCCESS
	// slow-success: PENDING for 10 seconds of the server's clock, then SUCCESS
	// stuck: PENDING forever; the client must give up on its own deadline
	// success: PENDING for 2 polls, then SUCCESS with a run id and real audio
	// timeout: PENDING for 3 polls, then TIMEOUT
	// unknown-reason: ERROR with an exception_reason the spec does not list; allowed, reported as a drift warning
}
