package mockserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cambmock/cambmock"
)

// MatrixConfig says how to run a client through scenarios with [RunMatrix].
type MatrixConfig struct {
	// Scenarios to run; nil means every scenario of a server made with
	// Options.
	Scenarios []string
	// Deadline bounds each run; zero means 30 s. A client that has not
	// ended by then is stopped, and the run is marked timed out.
	Deadline time.Duration
	// Rules judge each run's polling; the zero Rules are the defaults.
	Rules Rules
	// Parallel is how many runs go at once; zero means 4.
	Parallel int
	// Options configure each run's server, beside the default scenario
	// RunMatrix sets. They might add scenarios, or a time scale.
	Options []Option
}

// MatrixEnv is what a client run is given: a fresh server playing one
// scenario for every task.
type MatrixEnv struct {
	Scenario string
	BaseURL  string // such as http://127.0.0.1:41234/apis
	AdminURL string // such as http://127.0.0.1:41234/__admin
	APIKey   string // a key the server accepts
	Server   *Server
}

// MatrixRun is how a client fared against one scenario.
type MatrixRun struct {
	Scenario string `json:"scenario"`
	OffSpec  bool   `json:"off_spec"`
	// Err is what the client returned (for a command, its exit status).
	Err      error  `json:"-"`
	Error    string `json:"error,omitempty"`
	ExitCode int    `json:"exit_code"` // for commands: -1 when stopped at the deadline
	TimedOut bool   `json:"timed_out"` // the client did not end within the deadline
	// Ended is the terminal status the mock served the client's last
	// task, if any: how the run ended, as far as the API knows.
	Ended      cambmock.Status `json:"ended,omitempty"`
	Tasks      int             `json:"tasks"`
	Polls      int             `json:"polls"`
	Violations []string        `json:"violations"` // the discipline violations of all its tasks, each "name: what"
	Wall       Duration        `json:"wall"`
	Discipline []Discipline    `json:"discipline"`
	Output     string          `json:"output,omitempty"` // for commands: the end of what they printed
}

// Passed reports whether the client survived the scenario: it ended on
// its own within the deadline, created a task, exited as the scenario
// allows, and polled by the rules.
func (r *MatrixRun) Passed() bool { return !r.TimedOut && len(r.Violations) == 0 }

// Verdict words the run's discipline: "clean", or the names of the rules
// it broke.
func (r *MatrixRun) Verdict() string {
	if len(r.Violations) == 0 {
		if r.TimedOut {
			return "timed out"
		}
		return "clean"
	}
	var names []string
	for _, d := range r.Discipline {
		for _, n := range d.ViolationNames() {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	for _, v := range r.Violations {
		for _, n := range []string{ViolationUnknownRun, ViolationNoTask, ViolationExit} {
			if strings.HasPrefix(v, n+":") && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	return strings.Join(names, ", ")
}

// RunMatrix runs client once per scenario, each time against a fresh
// server on 127.0.0.1 whose every task plays that scenario, and returns how
// each run went, in the order of cfg.Scenarios. The error is non-nil only
// when the matrix could not run (a bad option, an unknown scenario, no
// port). Runs go in parallel; client must be safe for that.
func RunMatrix(ctx context.Context, cfg MatrixConfig, client func(ctx context.Context, env MatrixEnv) error) ([]MatrixRun, error) {
	if client == nil {
		return nil, errors.New("RunMatrix: client is nil")
	}
	if cfg.Deadline < 0 || cfg.Parallel < 0 {
		return nil, errors.New("RunMatrix: Deadline and Parallel must not be negative")
	}
	deadline := cfg.Deadline
	if deadline == 0 {
		deadline = 30 * time.Second
	}
	parallel := cfg.Parallel
	if parallel == 0 {
		parallel = 4
	}
	probe, err := New(cfg.Options...)
	if err != nil {
		return nil, fmt.Errorf("RunMatrix: %w", err)
	}
	names := cfg.Scenarios
	if names == nil {
		for _, sc := range probe.Scenarios() {
			names = append(names, sc.Name)
		}
	}
	for _, n := range names {
		if _, err := probe.lookupScenario(n); err != nil {
			return nil, fmt.Errorf("RunMatrix: %w", err)
		}
	}
	runs := make([]MatrixRun, len(names))
	errs := make([]error, len(names))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			runs[i], errs[i] = runOne(ctx, cfg, name, deadline, probe.byName[name].OffSpec, client)
		}()
	}
	wg.Wait()
	return runs, errors.Join(errs...)
}

func runOne(ctx context.Context, cfg MatrixConfig, name string, deadline time.Duration, offSpec bool, client func(context.Context, MatrixEnv) error) (MatrixRun, error) {
	run := MatrixRun{Scenario: name, OffSpec: offSpec, Violations: []string{}, Discipline: []Discipline{}}
	opts := append(slices.Clone(cfg.Options), WithDefaultScenario(name))
	srv, err := New(opts...)
	if err != nil {
		return run, fmt.Errorf("RunMatrix: scenario %s: %w", name, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return run, fmt.Errorf("RunMatrix: %w", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer func() {
		srv.Close()
		hs.Close()
	}()
	base := "http://" + ln.Addr().String()
	env := MatrixEnv{Scenario: name, BaseURL: base + srv.base, AdminURL: base + "/__admin", APIKey: "cambmock-matrix-key", Server: srv}
	if len(srv.cfg.keys) > 0 {
		env.APIKey = srv.cfg.keys[0]
	}

	rctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	start := time.Now()
	err = client(rctx, env)
	run.Wall = Duration(time.Since(start))
	run.Err = err
	if err != nil {
		run.Error = err.Error()
	}
	var ee interface{ ExitCode() int }
	if errors.As(err, &ee) {
		run.ExitCode = ee.ExitCode()
	}
	if rctx.Err() != nil && ctx.Err() == nil {
		run.TimedOut = true
		run.ExitCode = -1
	}
	tasks := srv.Tasks()
	run.Tasks = len(tasks)
	for _, t := range tasks {
		d := t.Discipline(cfg.Rules)
		run.Polls += d.Polls
		run.Discipline = append(run.Discipline, d)
		for _, v := range d.Violations {
			run.Violations = append(run.Violations, "task "+shortID(t.ID())+": "+v)
		}
	}
	if n := srv.UnknownRunRequests(); n > 0 {
		run.Violations = append(run.Violations, fmt.Sprintf("%s: %d result request(s) for run ids the server never gave", ViolationUnknownRun, n))
	}
	succeeded := false
	if n := len(tasks); n > 0 {
		last := run.Discipline[n-1]
		if last.Terminal != "" {
			run.Ended = last.Terminal
		} else if last.Unknown != "" {
			run.Ended = last.Unknown
		}
		sn, err := srv.store.task(context.Background(), tasks[n-1].ID())
		succeeded = err == nil && sn.succeeded && run.Ended != "" && srv.spec.KnownStatus(run.Ended)
	}
	if !run.TimedOut && ctx.Err() == nil {
		switch {
		case len(tasks) == 0:
			// A client that never ran (no such file, exit 0 at once) made
			// no request: it must not pass every scenario.
			run.Violations = append(run.Violations, fmt.Sprintf("%s: the client created no task%s", ViolationNoTask, exitWords(run)))
		case err != nil && succeeded:
			run.Violations = append(run.Violations, fmt.Sprintf("%s: the client failed (%v) although its task reported %s with a run id", ViolationExit, err, run.Ended))
		}
	}
	return run, nil
}

func exitWords(r MatrixRun) string {
	switch {
	case r.Err == nil:
		return " and exited 0"
	case r.ExitCode != 0:
		return fmt.Sprintf(" and exited %d", r.ExitCode)
	}
	return ": " + r.Error
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
