// Package scenarios is cambmock's scenario model: what a scenario is (the
// plain structs [Scenario], [Script] and [Step]), the YAML file format
// scenarios are written in ([Parse], [Load] and [LoadPath] read it, [Format]
// writes it), the built-in library ([Builtins], [BuiltinFS]) and the pure
// engine that plays them ([Script.At], timed by a [Clock]).
//
// A scenario scripts how camb.ai's API behaves for one task:
// "PENDING for two polls, then SUCCESS", "a 429 with Retry-After, then
// SUCCESS", "the connection is reset on the second poll". Any scenario plays
// on any kind of task the spec declares (text-to-sound, tts, dub and the
// rest of camb.ai's polled-task family): its create, poll and result
// scripts answer that kind's create, status and result operations. The
// package serves no HTTP and starts no goroutines: package mockserver plays
// scenarios on a socket, and package contract uses the off-spec ones to
// prove that its checks can fail.
//
// Loading has two stages. [Parse] checks a file on its own: its YAML, its
// keys, their types and how its steps fit together. [Scenario.Check] then
// compares what the scenario serves with the spec in force (the embedded
// openapi.yaml, or another one given to [cambmock.ParseSpec]), for every
// kind of task it declares; that is also where a status is checked, since
// the statuses are the spec's to declare. [Load], [LoadPath] and [Builtins]
// do both, and report every problem in every file, each as a *[LoadError]
// whose message reads "file:line:column: problem". They read only regular
// files (a symbolic link is followed only to one) of at most [MaxFileSize]
// bytes: a named pipe, a device or a socket is refused without waiting on
// it, and a file too large is refused from its size before it is read.
//
// A scenario built in Go skips Parse, so [Scenario.Validate] applies
// Parse's rules to it. Package mockserver calls Validate on every scenario
// it is given, and Check on every on-spec one, and refuses one that fails.
//
// # Scenario file format
//
// A scenario file is a regular file (or a symbolic link to one) of at most
// [MaxFileSize] bytes (1 MiB) holding one YAML document, a mapping. Every
// key below may appear once in its mapping; any other key is an error, and
// so are YAML anchors and aliases (& and *). [Load] reads the files whose names end in .yaml or .yml, and
// each must define a name that no other file defines.
//
// The top-level keys are:
//
//   - name: the scenario's name, lowercase letters, digits and dashes,
//     starting with a letter or digit. Default: the file's base name without
//     its .yaml or .yml extension; a file whose base name does not make a
//     valid name must give the key.
//   - description: required; one line, not empty, saying what the scenario
//     plays. Spaces around it are dropped.
//   - off_spec: true or false; default false. It says that the scenario
//     serves something the spec forbids, as explained below.
//   - seed: a whole number from 0 to 18446744073709551615; default 0. It
//     picks the latencies drawn from ranges, as explained below.
//   - poll: required; the script of a task's status polls (its kind's
//     status operation, such as GET /text-to-sound/{task_id}).
//   - create: optional; the script of the create requests that choose the
//     scenario (each kind's create operation, such as POST /text-to-sound).
//   - result: optional; the script of a task's result requests (its kind's
//     result operation, such as GET /text-to-sound-result/{run_id}), which
//     begin once the task has succeeded.
//
// A script is a list of at least one step; leave the key out rather than
// give an empty list. A poll script plays once for each task: it counts that
// task's polls, and its time runs from when the task was created. A result
// script does the same for the task's result requests. A create script is
// shared: it counts every create request of the whole server that chooses
// the scenario, and its time runs from when the server started or was last
// reset. When a
// create or result script runs out, its endpoint answers normally; a create
// request that its script answers with an error or a fault creates no task.
//
// A step is a mapping. It gives at most one of these keys, which say how
// long it lasts:
//
//   - polls: a whole number N from 1 to 1000000000. The step answers N
//     requests.
//   - for: a duration above zero, written as Go writes durations
//     (500ms, 2s, 1m30s). The step answers every request that arrives in
//     that time after the step began.
//   - forever: true, which is the same as giving none of the three. The
//     step answers every request from then on.
//
// Only the last step of a script may last forever, and the last step of the
// poll script must, since a task answers every poll.
//
// The steps play in order. A step of polls ends with its N-th request; a
// step of time ends when its time is up, measured from when it began:
//
//   - the first step of a script begins when the script does (for a poll or
//     result script, when the task is created);
//   - a step of time that follows a step of time begins when that one ends,
//     so two such steps cover a fixed stretch of the clock however often the
//     client asks, and a request that arrives late skips every step whose
//     time has passed;
//   - any other step begins with the first request it answers: a "for: 10s"
//     step after "polls: 2" lasts 10 seconds from the third request.
//
// A step gives exactly one of these keys, which say what it answers:
//
//   - status (poll scripts only): a 200 status body.
//   - error: an HTTP error response.
//   - fault: a failure of the connection or the body.
//   - normal: true (create and result scripts only): the endpoint's normal
//     answer, a new task or the audio; a poll has no normal answer.
//
// A status step serves the JSON object
//
//	{"status":…,"run_id":…,"exception_reason":…,"message":…}
//
// with these keys, of which only status is required:
//
//   - status: one of the statuses the spec declares (the enum of
//     components.schemas.TaskStatus; in the embedded openapi.yaml SUCCESS,
//     PENDING, TIMEOUT, ERROR or PAYMENT_REQUIRED). An off-spec scenario
//     may serve any string, such as FAILED. Parse takes any string; loading
//     refuses a status the spec in force does not declare.
//   - run_id: auto, a whole number of 0 or more, or null. auto serves a run
//     id the server allocates for the task, the same on every poll.
//     Default: auto for SUCCESS, null for every other status. An off-spec
//     scenario may serve any YAML value, converted to JSON; in quotes, "auto"
//     and "1001" are strings.
//   - exception_reason: any string, or null (the default).
//   - message: a string, a mapping (served as a JSON object), or null (the
//     default).
//   - extra: a mapping of further fields to serve after the four, in sorted
//     order, each value converted to JSON. It cannot name the four fields.
//
// run_id, exception_reason, message and extra go only with status.
//
// An error is a mapping of:
//
//   - code: required; the HTTP status, from 400 to 599.
//   - headers: a mapping of header names to values, each a single line.
//     A name appears once, whatever its case.
//   - body: a string, served as it is. Default: the spec's shape for the
//     code, {"detail":"<status text>"} such as {"detail":"Too Many Requests"},
//     or for 422 FastAPI's list of problems.
//
// An error without a Content-Type header gets one from its body:
// application/json when the body is valid JSON, "text/html; charset=utf-8"
// when it starts with "<", and "text/plain; charset=utf-8" otherwise
// (spaces around the body are ignored). A 429 needs a Retry-After header to
// be on-spec; none is added for you.
//
// A fault is one of:
//
//   - reset: the connection is closed with a TCP RST before any answer.
//   - empty: the connection is closed without a byte.
//   - malformed-json: a 200 whose JSON body is cut off in the middle.
//     openapi.yaml forbids it, so only off-spec scenarios may play it.
//   - truncated: the headers and part of the body are sent, then the
//     connection is closed, as when a download drops.
//   - hang: the request is never answered, until the client gives up, the
//     server closes or the server's hang limit passes (see "Latency and
//     hang on each clock" below).
//
// Any step may also give latency, how long the answer waits before its headers
// are sent: a duration such as 2s, or a range such as 50ms..400ms (both ends
// included). Durations are from 0s to 1h; a range starts with the smaller.
// Without latency a step answers at once. Each request draws its latency
// from the range with [Latency.Draw], seeded by [Scenario.LatencySeed] from
// the file's seed, the endpoint and the request's number, so every run of
// the scenario draws the same latencies and a different seed draws others.
// The step that answers is chosen when the request arrives; the latency
// delays only its answer.
//
// Loading checks every scenario against the spec, in both directions.
// A scenario without "off_spec: true" is on-spec: it must serve only what
// the spec allows, whatever kind of task plays it. Each status must be one
// the spec declares, and each status body and each error (its code,
// headers, content type and body) one the spec declares for the operation
// its script answers, for every kind (a result script is not checked
// against kinds without a result operation). Beyond the schemas:
//
//   - a SUCCESS must carry an integer run_id, so the client has a result
//     to fetch;
//   - a terminal status (one that TaskStatus's x-in-progress-statuses does
//     not list; in the embedded openapi.yaml any but PENDING) must stay
//     served: it may appear only in the last poll step, which lasts forever;
//   - no step may play the malformed-json fault.
//
// A scenario marked "off_spec: true" must break at least one of these
// rules: off-spec scenarios exist to show how clients and the contract suite
// cope with an API that drifts from its spec, so loading rejects one that
// serves nothing the spec forbids. Marking a scenario off-spec also lets
// status and run_id take values the spec does not allow.
//
// An example: a file named flaky.yaml, which defines the scenario "flaky":
//
//	description: a 429 on the first poll, PENDING for 5 seconds, then SUCCESS
//	seed: 42
//	create:
//	  - error:
//	      code: 503
//	      headers:
//	        Retry-After: "1"
//	    polls: 1
//	poll:
//	  - error:
//	      code: 429
//	      headers:
//	        Retry-After: "1"
//	      body: '{"detail":"Too many requests"}'
//	    polls: 1
//	  - status: PENDING
//	    message: queued
//	    for: 5s
//	    latency: 100ms..300ms
//	  - status: SUCCESS
//	    extra:
//	      progress: 100
//	result:
//	  - fault: truncated
//	    polls: 1
//
// The first create request that chooses it gets a 503 with the body
// {"detail":"Service Unavailable"}; the retry creates the task. Its first
// poll gets the 429. The second poll gets PENDING, and so does every poll in
// the 5 seconds from the second, each after 100 to 300 milliseconds; every
// poll after that gets SUCCESS with an allocated run_id and the extra field
// progress. The first download of the result is cut off; the retry gets it
// whole.
//
// # Latency and hang on each clock
//
// Scripts play by the scenario clock, the [Clock] a server is given. How a
// latency and a hang play depends on that clock:
//
//   - On the real clock ([SystemClock]), a latency waits that long before
//     the answer's headers are sent. A hang ends when the client gives up,
//     the server closes, or the server's hang limit passes
//     (mockserver.WithHangLimit, 2 minutes by default).
//   - With a time scale (mockserver.WithTimeScale, cambmock serve
//     --time-scale), both are scaled: at a scale of 0.01 a latency of 2s
//     waits 20ms. The hang limit is measured on the scenario clock, so a
//     2-minute limit ends a hang after 1.2 seconds.
//   - On a [ManualClock], a latency does not wait: the answer goes out at
//     once, and the task's history records it as delivered that much later
//     on the scenario clock. A hang ends when the client gives up, the
//     server closes, or the manual clock is moved past the hang limit
//     (measured from when the hang began); a bound of the same length in
//     real time also applies, so that nothing hangs forever in a test that
//     never moves the clock.
//
// So a test on a manual clock plays a script's ten minutes, latencies
// included, in microseconds; only a hang needs the clock moved (or a short
// hang limit) to end before the client gives up.
package scenarios
