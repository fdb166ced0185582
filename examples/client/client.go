// Package client is an example client of camb.ai's text-to-sound API,
// written like the docs' sample loop: create a task, poll until a terminal
// status, handle every terminal status (and one it does not know), retry
// on network errors and on 429 and 5xx answers, honour Retry-After, and
// give up on a deadline. Its tests run it against every scenario of the
// mock, as a resilience matrix.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Client calls the text-to-sound API.
type Client struct {
	BaseURL string       // such as https://client.camb.ai/apis
	APIKey  string       // sent in x-api-key
	HTTP    *http.Client // nil: a client with a 30 s timeout per request
	// Interval is the wait between polls; zero means 2 s.
	Interval time.Duration
	// Retries is how many times a failed request is retried; zero means 4.
	Retries int
	// Sleep waits; nil means real time. Tests pass one that moves a mock's
	// manual clock.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Result is how a generation ended.
type Result struct {
	TaskID string
	Status string // the terminal status
	RunID  int64  // set on SUCCESS
	Audio  []byte // the WAV, on SUCCESS
	Polls  int
}

// Errors a caller can branch on.
var (
	ErrFailed        = errors.New("the task failed")
	ErrUnknownStatus = errors.New("the API reported a status this client does not know")
)

// Generate creates a sound task, waits for it and fetches its audio. It
// returns when the task ends, or with ctx's error when ctx ends first.
func (c *Client) Generate(ctx context.Context, prompt string, seconds float64) (*Result, error) {
	body, _ := json.Marshal(map[string]any{"prompt": prompt, "duration": seconds})
	var created struct {
		TaskID string `json:"task_id"`
	}
	if err := c.callJSON(ctx, http.MethodPost, "/text-to-sound", body, &created); err != nil {
		return nil, fmt.Errorf("creating the task: %w", err)
	}
	if created.TaskID == "" {
		return nil, errors.New("creating the task: the answer has no task_id")
	}
	res := &Result{TaskID: created.TaskID}
	for {
		var st struct {
			Status          string          `json:"status"`
			RunID           json.RawMessage `json:"run_id"`
			ExceptionReason *string         `json:"exception_reason"`
			Message         json.RawMessage `json:"message"`
		}
		res.Polls++
		if err := c.callJSON(ctx, http.MethodGet, "/text-to-sound/"+created.TaskID, nil, &st); err != nil {
			return res, fmt.Errorf("polling task %s: %w", created.TaskID, err)
		}
		res.Status = st.Status
		switch st.Status {
		case "PENDING":
			if err := c.sleep(ctx, c.interval()); err != nil {
				return res, fmt.Errorf("waiting for task %s: %w", created.TaskID, err)
			}
			continue
		case "SUCCESS":
			id, err := strconv.ParseInt(string(st.RunID), 10, 64)
			if err != nil {
				return res, fmt.Errorf("task %s succeeded without an integer run_id (%s)", created.TaskID, st.RunID)
			}
			res.RunID = id
			audio, err := c.call(ctx, http.MethodGet, "/text-to-sound-result/"+strconv.FormatInt(id, 10), nil)
			if err != nil {
				return res, fmt.Errorf("fetching run %d: %w", id, err)
			}
			res.Audio = audio
			return res, nil
		case "ERROR", "TIMEOUT", "PAYMENT_REQUIRED":
			reason := ""
			if st.ExceptionReason != nil {
				reason = *st.ExceptionReason
			}
			return res, fmt.Errorf("%w: %s (%s): %s", ErrFailed, st.Status, reason, st.Message)
		default:
			// FAILED, as the docs' sample expects, or anything new: stop
			// rather than poll forever.
			return res, fmt.Errorf("%w: %q: %s", ErrUnknownStatus, st.Status, st.Message)
		}
	}
}

func (c *Client) interval() time.Duration {
	if c.Interval > 0 {
		return c.Interval
	}
	return 2 * time.Second
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		if err := c.Sleep(ctx, d); err != nil {
			return err
		}
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// callJSON calls the API and decodes its JSON answer into v.
func (c *Client) callJSON(ctx context.Context, method, path string, body []byte, v any) error {
	retries := c.retries()
	for attempt := 0; ; attempt++ {
		data, err := c.call(ctx, method, path, body)
		if err != nil {
			return err
		}
		if err = json.Unmarshal(data, v); err == nil {
			return nil
		}
		// A garbled answer: ask again, as for a network error.
		if attempt >= retries {
			return fmt.Errorf("the answer is not valid JSON: %w", err)
		}
		if err := c.sleep(ctx, time.Second); err != nil {
			return err
		}
	}
}

func (c *Client) retries() int {
	if c.Retries > 0 {
		return c.Retries
	}
	return 4
}

// call makes a request, retrying network errors, 429 and 5xx answers.
func (c *Client) call(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	backoff := time.Second
	retries := c.retries()
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("x-api-key", c.APIKey)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		wait := backoff
		resp, err := hc.Do(req)
		if err == nil {
			data, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case rerr != nil:
				err = rerr // a dropped download: retry
			case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
				err = fmt.Errorf("HTTP %d", resp.StatusCode)
				if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s >= 0 {
					wait = time.Duration(s) * time.Second
				}
			case resp.StatusCode >= 400:
				return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(data))
			default:
				return data, nil
			}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if attempt >= retries {
			return nil, fmt.Errorf("after %d attempts: %w", attempt+1, err)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
		backoff *= 2
	}
}
