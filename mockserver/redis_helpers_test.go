package mockserver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cambmock/cambmock/mockserver"
	"github.com/cambmock/cambmock/mockserver/mockservertest"
)

// The helpers of the Redis store's tests: a real redis-server of the
// test's own, on a free port of 127.0.0.1 with its files in t.TempDir(),
// which a test can kill and start again on its append-only file; and a
// fleet of in-process replicas sharing it.

// testRedis is a redis-server of one test.
type testRedis struct {
	t        testing.TB
	dir      string
	port     int
	password string
	fsync    string // appendfsync: everysec, or always
	cmd      *exec.Cmd
}

// startRedis starts a redis-server for the test, with a password if one
// is given, and stops it when the test ends. It skips the test when
// redis-server is not installed.
func startRedis(t testing.TB, password string) *testRedis {
	t.Helper()
	return startRedisFsync(t, password, "everysec")
}

// startDurableRedis starts a redis-server that syncs its append-only file
// at every write, for the tests that kill it and expect nothing lost: with
// everysec, a slow disk postpones the file's writes by up to two seconds,
// and SIGKILL loses them.
func startDurableRedis(t testing.TB) *testRedis {
	t.Helper()
	return startRedisFsync(t, "", "always")
}

func startRedisFsync(t testing.TB, password, fsync string) *testRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed, and the Redis store's tests run a real one: apt-get install redis-server (.ci/run does)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r := &testRedis{t: t, dir: t.TempDir(), port: port, password: password, fsync: fsync}
	r.Start()
	t.Cleanup(func() { r.Kill() })
	return r
}

// URL is the store URL of the server, with its password.
func (r *testRedis) URL() string {
	if r.password != "" {
		return fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", r.password, r.port)
	}
	return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port)
}

// Start starts the server (again), on its port and its append-only file,
// and waits until it answers.
func (r *testRedis) Start() {
	r.t.Helper()
	args := []string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--dir", r.dir, "--appendonly", "yes",
		"--appendfsync", r.fsync, "--save", "", "--daemonize", "no", "--logfile", filepath.Join(r.dir, "redis.log")}
	if r.password != "" {
		args = append(args, "--requirepass", r.password)
	}
	r.cmd = exec.Command("redis-server", args...)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("starting redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", r.port), time.Second)
		if err == nil {
			conn.SetDeadline(time.Now().Add(time.Second))
			fmt.Fprintf(conn, "PING\r\n")
			line, _ := bufio.NewReader(conn).ReadString('\n')
			conn.Close()
			// A password makes PING answer NOAUTH: it answers all the same.
			if strings.HasPrefix(line, "+PONG") || strings.HasPrefix(line, "-NOAUTH") {
				return
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(r.dir, "redis.log"))
			r.t.Fatalf("redis-server on port %d did not answer within 10s; its log:\n%s", r.port, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill kills the server (SIGKILL: nothing is flushed but what fsync
// already wrote) and waits for it to end.
func (r *testRedis) Kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	r.cmd.Process.Kill()
	r.cmd.Wait()
	r.cmd = nil
}

// Pause stops the server's process without closing its connections, as a
// network that drops packets would.
func (r *testRedis) Pause() { r.cmd.Process.Signal(syscall.SIGSTOP) }

// fleet is replicas sharing one Redis, each a test server on its own port
// with its own manual clock.
type fleet struct {
	redis    *testRedis
	replicas []*mockservertest.TestServer
}

// newFleet starts n replicas on r with opts (beside the store and the
// test server's defaults).
func newFleet(t testing.TB, r *testRedis, n int, opts ...mockserver.Option) *fleet {
	t.Helper()
	f := &fleet{redis: r}
	for range n {
		f.replicas = append(f.replicas, mockservertest.NewTestServer(t, append([]mockserver.Option{mockserver.WithStore(r.URL())}, opts...)...))
	}
	return f
}

// root returns replica i's URL, for send.
func (f *fleet) root(i int) string { return f.replicas[i%len(f.replicas)].URL }

// getJSON sends a GET to replica i and decodes its 200 answer into v.
func getJSON(t testing.TB, root, path string, v any) {
	t.Helper()
	a := mustSend(t, http.DefaultClient, root, req{Method: "GET", Path: path})
	if a.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, a.Code, a.Body)
	}
	if err := json.Unmarshal(a.Body, v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, a.Body)
	}
}

// pollOnce polls task id at root and returns the status code and, for a
// 200, the status it served.
func pollOnce(ctx context.Context, root, id string) (int, string, error) {
	a, err := send(ctx, http.DefaultClient, root, req{Method: "GET", Path: "/apis/text-to-sound/" + id})
	if err != nil {
		return 0, "", err
	}
	var body struct {
		Status string `json:"status"`
	}
	json.Unmarshal(a.Body, &body)
	return a.Code, body.Status, nil
}
