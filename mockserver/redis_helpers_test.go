package mockserver_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
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
	tls      bool   // serve TLS only, with a self-signed certificate in dir
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

// startTLSRedis starts a redis-server that speaks only TLS, with a
// self-signed certificate, and a password.
func startTLSRedis(t testing.TB, password string) *testRedis {
	t.Helper()
	return startRedisWith(t, &testRedis{password: password, fsync: "everysec", tls: true})
}

func startRedisFsync(t testing.TB, password, fsync string) *testRedis {
	t.Helper()
	return startRedisWith(t, &testRedis{password: password, fsync: fsync})
}

func startRedisWith(t testing.TB, r *testRedis) *testRedis {
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
	r.t, r.dir, r.port = t, t.TempDir(), port
	if r.tls {
		writeCert(t, r.dir)
	}
	r.Start()
	t.Cleanup(func() { r.Kill() })
	return r
}

// URL is the store URL of the server, with its password.
func (r *testRedis) URL() string {
	scheme, query := "redis", ""
	if r.tls {
		// The certificate is self-signed.
		scheme, query = "rediss", "?skip_verify=true"
	}
	if r.password != "" {
		return fmt.Sprintf("%s://:%s@127.0.0.1:%d/0%s", scheme, r.password, r.port, query)
	}
	return fmt.Sprintf("%s://127.0.0.1:%d/0%s", scheme, r.port, query)
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key to
// dir, as cert.pem and key.pem.
func writeCert(t testing.TB, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
}

// Start starts the server (again), on its port and its append-only file,
// and waits until it answers.
func (r *testRedis) Start() {
	r.t.Helper()
	port := []string{"--port", strconv.Itoa(r.port)}
	if r.tls {
		port = []string{"--port", "0", "--tls-port", strconv.Itoa(r.port), "--tls-cert-file", filepath.Join(r.dir, "cert.pem"),
			"--tls-key-file", filepath.Join(r.dir, "key.pem"), "--tls-auth-clients", "no"}
	}
	args := []string{"--bind", "127.0.0.1", "--dir", r.dir, "--appendonly", "yes",
		"--appendfsync", r.fsync, "--save", "", "--daemonize", "no", "--logfile", filepath.Join(r.dir, "redis.log")}
	if r.password != "" {
		args = append(args, "--requirepass", r.password)
	}
	args = append(args, port...)
	r.cmd = exec.Command("redis-server", args...)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("starting redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", r.port), time.Second)
		if err == nil && r.tls {
			conn = tls.Client(conn, &tls.Config{InsecureSkipVerify: true})
		}
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
