package mockserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/cambmock/cambmock"
)

// rulesFromQuery reads Rules from query parameters: min_interval,
// max_polls, ignore_retry_after, allow_polls_after_terminal and
// allow_polls_after_unknown.
func rulesFromQuery(q url.Values) (Rules, error) {
	var r Rules
	for k := range q {
		switch k {
		case "min_interval", "max_polls", "ignore_retry_after", "allow_polls_after_terminal", "allow_polls_after_unknown":
		default:
			return r, fmt.Errorf("unknown parameter %q; the rules are min_interval, max_polls, ignore_retry_after, allow_polls_after_terminal, allow_polls_after_unknown", k)
		}
	}
	if v := q.Get("min_interval"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return r, fmt.Errorf("min_interval %q is not a duration such as 2s (a negative one turns the rule off)", v)
		}
		r.MinInterval = d
	}
	if v := q.Get("max_polls"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return r, fmt.Errorf("max_polls %q is not a whole number of 0 or more (0: no limit)", v)
		}
		r.MaxPolls = n
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"ignore_retry_after", &r.IgnoreRetryAfter}, {"allow_polls_after_terminal", &r.AllowPollsAfterTerminal}, {"allow_polls_after_unknown", &r.AllowPollsAfterUnknown}} {
		if v := q.Get(b.name); v != "" {
			x, err := strconv.ParseBool(v)
			if err != nil {
				return r, fmt.Errorf("%s %q is not true or false", b.name, v)
			}
			*b.dst = x
		}
	}
	return r, nil
}

func (s *Server) adminDiscipline(w http.ResponseWriter, r *http.Request) {
	t, err := s.Task(mux.Vars(r)["task_id"])
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	rules, err := rulesFromQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeValue(w, http.StatusOK, t.Discipline(rules))
}

// maxWait bounds the admin API's long polls.
const maxWait = 5 * time.Minute

func waitTimeout(q url.Values) (time.Duration, error) {
	v := q.Get("timeout")
	if v == "" {
		return 10 * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > maxWait {
		return 0, fmt.Errorf("timeout %q is not a duration above 0 and at most %v, such as 10s", v, maxWait)
	}
	return d, nil
}

// adminWaitTask is the long poll for a task: ?status=SUCCESS, ?polls=3 or
// ?result=true, and ?timeout=10s. It answers 200 with the task when it
// happens, 408 when the timeout passes first.
func (s *Server) adminWaitTask(w http.ResponseWriter, r *http.Request) {
	t, err := s.Task(mux.Vars(r)["task_id"])
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	q := r.URL.Query()
	timeout, err := waitTimeout(q)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var wait func(ctx context.Context) error
	switch {
	case q.Get("status") != "" && q.Get("polls") == "" && q.Get("result") == "":
		status := cambmock.Status(q.Get("status"))
		wait = func(ctx context.Context) error { return t.WaitForStatus(ctx, status) }
	case q.Get("polls") != "" && q.Get("status") == "" && q.Get("result") == "":
		n, err := strconv.Atoi(q.Get("polls"))
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("polls %q is not a whole number of 1 or more", q.Get("polls")))
			return
		}
		wait = func(ctx context.Context) error { return t.WaitForPolls(ctx, n) }
	case q.Get("result") == "true" && q.Get("status") == "" && q.Get("polls") == "":
		wait = t.WaitForResult
	default:
		writeError(w, http.StatusBadRequest, "give one of status=STATUS, polls=N or result=true to wait for, and optionally timeout=10s")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	s.answerWait(w, r, wait(ctx), func() any { return t.Info() })
}

// adminWaitTasks is the long poll for tasks to be created: ?tasks=N and
// ?timeout=10s. It answers 200 with the tasks, or 408.
func (s *Server) adminWaitTasks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	timeout, err := waitTimeout(q)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	n, err := strconv.Atoi(q.Get("tasks"))
	if err != nil || n < 1 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("tasks %q is not a whole number of 1 or more; give ?tasks=1 to wait for the first task", q.Get("tasks")))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	_, err = s.WaitForTasks(ctx, n)
	s.answerWait(w, r, err, func() any {
		var out []TaskInfo
		for _, t := range s.Tasks() {
			out = append(out, t.Info())
		}
		return out
	})
}

func (s *Server) answerWait(w http.ResponseWriter, r *http.Request, err error, value func() any) {
	switch {
	case err == nil:
		writeValue(w, http.StatusOK, value())
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusRequestTimeout, err.Error())
	case r.Context().Err() != nil:
		// The client has gone.
	default:
		writeError(w, http.StatusServiceUnavailable, err.Error())
	}
}
