package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// startRedisServer starts a redis-server with a password on a free port
// of 127.0.0.1, its files in t.TempDir(), until the test ends, and returns
// its port. It skips the test when redis-server is not installed.
func startRedisServer(t *testing.T, password string) int {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed, and the fleet's tests run a real one: apt-get install redis-server (.ci/run does)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", t.TempDir(),
		"--appendonly", "yes", "--save", "", "--requirepass", password)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		if conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			fmt.Fprintf(conn, "PING\r\n")
			line, _ := bufio.NewReader(conn).ReadString('\n')
			conn.Close()
			if line != "" {
				return port
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on port %d did not answer in 10s", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeFleet: three cambmock serve processes (in process) given one
// Redis with --store and CAMBMOCK_STORE are one mock over HTTP: a task
// created on one is polled on the others and waited for on a third; the
// manual clock moved on one moves them all. Their logs name the store
// without its password.
func TestServeFleet(t *testing.T) {
	const password = "fleet-password-1234"
	port := startRedisServer(t, password)
	url := fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", password, port)
	var replicas []*serving
	for i := range 3 {
		if i == 0 {
			replicas = append(replicas, startServe(t, map[string]string{"CAMBMOCK_STORE": url}, "--addr", "127.0.0.1:0", "--clock", "manual", "--scenario", "slow-success"))
		} else {
			replicas = append(replicas, startServe(t, nil, "--addr", "127.0.0.1:0", "--clock", "manual", "--scenario", "slow-success", "--store", url))
		}
	}
	code, body := replicas[0].do(t, "POST", "/apis/text-to-sound", "k", nil, `{"prompt":"rain","duration":2}`)
	var created struct {
		TaskID string `json:"task_id"`
	}
	if code != 200 || json.Unmarshal(body, &created) != nil {
		t.Fatalf("create on replica 0: %d %s", code, body)
	}
	var wg sync.WaitGroup
	var waited int
	var waitedBody []byte
	wg.Go(func() {
		waited, waitedBody = replicas[2].do(t, "GET", "/__admin/tasks/"+created.TaskID+"/wait?status=SUCCESS&timeout=10s", "", nil, "")
	})
	poll := func(i int) string {
		code, body := replicas[i].do(t, "GET", "/apis/text-to-sound/"+created.TaskID, "k", nil, "")
		if code != 200 {
			t.Fatalf("poll on replica %d: %d %s", i, code, body)
		}
		var st struct {
			Status string `json:"status"`
		}
		json.Unmarshal(body, &st)
		return st.Status
	}
	if got := poll(1); got != "PENDING" {
		t.Errorf("the first poll, on replica 1, served %s; want PENDING", got)
	}
	if code, body := replicas[2].do(t, "POST", "/__admin/clock", "", nil, `{"by":"10s"}`); code != 200 {
		t.Fatalf("moving the clock on replica 2: %d %s", code, body)
	}
	if got := poll(0); got != "SUCCESS" {
		t.Errorf("after replica 2 moved the clock 10s, a poll on replica 0 served %s; want SUCCESS", got)
	}
	wg.Wait()
	if waited != 200 {
		t.Errorf("the long poll on replica 2: %d %s", waited, waitedBody)
	}
	// A replica that stops writes the polls it served and leaves the fleet
	// at once.
	const polls = 30
	for range polls {
		poll(1)
	}
	health := func(i int) (h struct {
		Replicas int `json:"replicas"`
	}) {
		code, body := replicas[i].do(t, "GET", "/__admin/health", "", nil, "")
		if code != 200 || json.Unmarshal(body, &h) != nil {
			t.Fatalf("health on replica %d: %d %s", i, code, body)
		}
		return h
	}
	if got := health(2).Replicas; got != 3 {
		t.Errorf("health on replica 2 counts %d replicas; want 3", got)
	}
	if err := replicas[1].stop(t); err != nil {
		t.Errorf("replica 1: %v", err)
	}
	if got := health(2).Replicas; got != 2 {
		t.Errorf("once replica 1 stopped, health on replica 2 counts %d replicas; want 2", got)
	}
	code, body = replicas[2].do(t, "GET", "/__admin/tasks/"+created.TaskID, "", nil, "")
	var task struct {
		Polls int `json:"polls"`
	}
	if code != 200 || json.Unmarshal(body, &task) != nil {
		t.Fatalf("the task on replica 2: %d %s", code, body)
	}
	if want := 2 + polls; task.Polls != want {
		t.Errorf("the task's history on replica 2 holds %d polls; want %d (replica 1 stopped right after serving %d of them)", task.Polls, want, polls)
	}
	for i, r := range replicas {
		if i != 1 {
			if err := r.stop(t); err != nil {
				t.Errorf("replica %d: %v", i, err)
			}
		}
		logs := r.logs.String()
		if strings.Contains(logs, password) {
			t.Errorf("replica %d logged the store's password:\n%s", i, logs)
		}
		if want := fmt.Sprintf("store=redis://:xxxxx@127.0.0.1:%d/0", port); !strings.Contains(logs, want) {
			t.Errorf("replica %d's logs do not say %s:\n%s", i, want, logs)
		}
	}
}

// TestServeStoreUnreachable: serve with a store it cannot reach ends at
// once, naming the store without its password.
func TestServeStoreUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	start := time.Now()
	r := runCmd(t, nil, "serve", "--addr", "127.0.0.1:0", "--store", fmt.Sprintf("redis://:topsecret99@127.0.0.1:%d/0", port))
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("serve took %v to give up on the store", took)
	}
	if r.code == 0 || strings.Contains(r.stderr, "topsecret99") || !strings.Contains(r.stderr, fmt.Sprintf("redis://:xxxxx@127.0.0.1:%d/0", port)) ||
		!strings.Contains(r.stderr, "cannot be reached") {
		t.Errorf("serve with an unreachable store: exit %d, stderr %q; want a failure naming the store, its password hidden", r.code, r.stderr)
	}
	// go-redis's own words go to serve's log, in its format.
	r = runCmd(t, nil, "serve", "--addr", "127.0.0.1:0", "--log-level", "debug", "--log-format", "json", "--store", fmt.Sprintf("redis://127.0.0.1:%d/0", port))
	if !strings.Contains(r.stderr, `{"time":`) || !strings.Contains(r.stderr, `"msg":"go-redis","message":"redis: connection pool: failed to dial`) {
		t.Errorf("serve --log-format json with an unreachable store logged %q; want go-redis's dial failure as a JSON line", r.stderr)
	}
	if r := runCmd(t, nil, "serve", "--store", "memcached://x"); r.code != 2 || !strings.Contains(r.stderr, "is not a redis:// or rediss:// URL") {
		t.Errorf("serve --store memcached://x: exit %d, %q", r.code, r.stderr)
	}
}
