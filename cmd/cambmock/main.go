// Command cambmock runs a mock of camb.ai's polled-task APIs (text-to-sound,
// tts, dub and the rest of the family openapi.yaml declares) and checks
// APIs against that spec.
//
// Usage:
//
//	cambmock serve [flags]      serve the mock API on 127.0.0.1:8080/apis
//	cambmock scenarios [flags]  list the scenarios the mock can play
//	cambmock verify [flags]     check an API against openapi.yaml
//	cambmock proxy [flags]      forward to the API, checking all traffic
//	cambmock record [flags]     the proxy, recording each task as a scenario
//	cambmock matrix [flags]     run a client against every scenario, judging it
//	cambmock health [flags]     ask a running cambmock whether it is healthy
//	cambmock spec               print the embedded OpenAPI spec
//	cambmock version            print the version
//
// Run "cambmock help COMMAND" or "cambmock COMMAND --help" for the flags of
// a command.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitError is an error with the exit status it calls for.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError is an error in how the command was called: exit status 2.
func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// errHelp means help was asked for and printed: exit status 0.
var errHelp = errors.New("help printed")

func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, errHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "cambmock: %v\n", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

const usage = `cambmock: a mock server and contract-testing kit for camb.ai's task APIs
(text-to-sound, tts, dub, ...: create a task, poll its status, fetch the result)

Usage:
  cambmock serve [flags]       serve the mock API (default http://127.0.0.1:8080/apis)
  cambmock scenarios [flags]   list the scenarios the mock can play
  cambmock verify [flags]      check an API (live, mock, yours) against openapi.yaml
  cambmock proxy [flags]       forward to the API, checking all traffic against openapi.yaml
  cambmock record [flags]      the proxy, writing a scenario file of what each task did
  cambmock matrix [flags]      run your client against every scenario and judge how it polls
  cambmock health [flags]      ask a running cambmock whether it is healthy
  cambmock spec                print the embedded OpenAPI spec (openapi.yaml)
  cambmock version             print the version
  cambmock help [COMMAND]      show this text, or a command's flags

Example:
  cambmock serve --scenario rate-limited
  curl -s -H 'x-api-key: any' -H 'Content-Type: application/json' \
       -d '{"prompt":"rain on a tin roof","duration":3}' \
       http://127.0.0.1:8080/apis/text-to-sound
`

// run is the whole command: main only wires the process to it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError("no command given; run one of serve, scenarios, verify, proxy, record, matrix, health, spec, version")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, stdout, stderr, getenv)
	case "scenarios":
		return listScenarios(rest, stdout, stderr, getenv)
	case "verify":
		return verify(ctx, rest, stdout, stderr, getenv)
	case "proxy", "record":
		return runProxy(ctx, cmd, rest, stdout, stderr, getenv)
	case "matrix":
		return matrix(ctx, rest, stdout, stderr, getenv)
	case "health":
		return health(ctx, rest, stdout, getenv)
	case "spec":
		return printSpec(rest, stdout, getenv)
	case "version":
		fmt.Fprintln(stdout, "cambmock", version())
		return nil
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 && rest[0] != "help" {
			return run(ctx, []string{rest[0], "--help"}, stdout, stderr, getenv)
		}
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError("unknown command %q; run one of serve, scenarios, verify, proxy, record, matrix, health, spec, version", cmd)
}
