package examples_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// The fleet's examples (fleet/) cannot be run here, without a Docker
// engine or a cluster: these tests check what can be checked without one.
// Every flag and environment variable they give cambmock is one that
// cambmock serve --help lists (its golden file, which cmd/cambmock's tests
// hold to the real help), the compose file runs three replicas on an
// append-only Redis behind the load balancer its config file names, and
// the manifest runs three replicas, a Redis with a volume, and takes the
// admin token from a Secret.

// serveHelp returns the text of cambmock serve --help.
func serveHelp(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../cmd/cambmock/testdata/serve-help.golden")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkServeArgs fails the test for each CAMBMOCK_ variable or serve flag
// of an example that serve --help does not list.
func checkServeArgs(t *testing.T, file string, env []string, args []string) {
	t.Helper()
	help := serveHelp(t)
	for _, v := range env {
		if strings.HasPrefix(v, "CAMBMOCK_") && !strings.Contains(help, "[$"+v+"]") {
			t.Errorf("%s sets %s, which cambmock serve does not read", file, v)
		}
	}
	for _, a := range args {
		if name, ok := strings.CutPrefix(a, "--"); ok && !strings.Contains(help, "\n  --"+name+" ") && !strings.Contains(help, "\n  --"+name+"\n") {
			t.Errorf("%s gives cambmock serve %s, which it does not take", file, a)
		}
	}
}

func TestFleetCompose(t *testing.T) {
	data, err := os.ReadFile("fleet/docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Build       string            `yaml:"build"`
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
			Volumes     []string          `yaml:"volumes"`
			Deploy      struct {
				Replicas int `yaml:"replicas"`
			} `yaml:"deploy"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatal(err)
	}
	redis, mock, lb := compose.Services["redis"], compose.Services["cambmock"], compose.Services["lb"]
	if !strings.HasPrefix(redis.Image, "redis:7") || !slices.Contains(redis.Command, "--appendonly") || len(redis.Volumes) == 0 {
		t.Errorf("the compose file's redis: %+v; want Redis 7 with an append-only file on a volume", redis)
	}
	if mock.Build != "../.." || mock.Deploy.Replicas != 3 {
		t.Errorf("the compose file's cambmock: %+v; want three replicas of the repository's image", mock)
	}
	if store := mock.Environment["CAMBMOCK_STORE"]; store != "redis://redis:6379/0" {
		t.Errorf("the replicas' CAMBMOCK_STORE is %q, want the redis service", store)
	}
	if !strings.HasPrefix(mock.Environment["CAMBMOCK_ADMIN_TOKEN"], "${CAMBMOCK_ADMIN_TOKEN:?") {
		t.Errorf("the replicas' admin token is %q; want it from the environment, required", mock.Environment["CAMBMOCK_ADMIN_TOKEN"])
	}
	var env []string
	for k := range mock.Environment {
		env = append(env, k)
	}
	checkServeArgs(t, "fleet/docker-compose.yml", env, nil)
	if !slices.Contains(lb.Volumes, "./nginx.conf:/etc/nginx/nginx.conf:ro") {
		t.Fatalf("the load balancer mounts %v; want ./nginx.conf", lb.Volumes)
	}
	conf, err := os.ReadFile("fleet/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^\s*server cambmock:8080;`).Match(conf) || !strings.Contains(string(conf), "proxy_buffering off;") {
		t.Errorf("nginx.conf should send every request to the cambmock service, unbuffered for the event stream")
	}
	if bytes.Count(conf, []byte("{")) != bytes.Count(conf, []byte("}")) {
		t.Errorf("nginx.conf's braces do not balance")
	}
}

// manifest is what the test reads of a Kubernetes object.
type manifest struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Replicas int `yaml:"replicas"`
		Strategy struct {
			Type string `yaml:"type"`
		} `yaml:"strategy"`
		Template struct {
			Spec struct {
				Containers []struct {
					Image string   `yaml:"image"`
					Args  []string `yaml:"args"`
					Env   []struct {
						Name      string `yaml:"name"`
						Value     string `yaml:"value"`
						ValueFrom struct {
							SecretKeyRef struct {
								Name string `yaml:"name"`
								Key  string `yaml:"key"`
							} `yaml:"secretKeyRef"`
						} `yaml:"valueFrom"`
					} `yaml:"env"`
					VolumeMounts []struct {
						MountPath string `yaml:"mountPath"`
					} `yaml:"volumeMounts"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
		VolumeClaimTemplates []any `yaml:"volumeClaimTemplates"`
		Ports                []any `yaml:"ports"`
	} `yaml:"spec"`
}

func TestFleetKubernetes(t *testing.T) {
	f, err := os.Open("fleet/kubernetes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objects := map[string]manifest{}
	dec := yaml.NewDecoder(f)
	for {
		var m manifest
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		objects[m.Kind+"/"+m.Metadata.Name] = m
	}
	for _, want := range []string{"Deployment/cambmock", "Service/cambmock", "StatefulSet/cambmock-redis", "Service/redis"} {
		if _, ok := objects[want]; !ok {
			t.Errorf("the manifest has no %s", want)
		}
	}
	dep := objects["Deployment/cambmock"]
	if dep.Spec.Replicas != 3 || dep.Spec.Strategy.Type != "Recreate" || len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("the Deployment: %+v; want 3 replicas of one container, recreated on a change", dep.Spec)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	var env []string
	vars := map[string]string{}
	secrets := map[string]string{}
	for _, e := range c.Env {
		env = append(env, e.Name)
		vars[e.Name] = e.Value
		secrets[e.Name] = e.ValueFrom.SecretKeyRef.Key
	}
	if c.Args[0] != "serve" {
		t.Errorf("the container runs %v; want cambmock serve", c.Args)
	}
	checkServeArgs(t, "fleet/kubernetes.yaml", env, c.Args[1:])
	if secrets["CAMBMOCK_ADMIN_TOKEN"] != "admin-token" {
		t.Errorf("CAMBMOCK_ADMIN_TOKEN does not come from the Secret's admin-token")
	}
	if vars["CAMBMOCK_STORE"] != "redis://:$(REDIS_PASSWORD)@redis:6379/0" || secrets["REDIS_PASSWORD"] != "redis-password" {
		t.Errorf("CAMBMOCK_STORE is %q; want the redis Service, with the password from the Secret", vars["CAMBMOCK_STORE"])
	}
	redis := objects["StatefulSet/cambmock-redis"]
	rc := redis.Spec.Template.Spec.Containers
	if len(redis.Spec.VolumeClaimTemplates) == 0 || len(rc) != 1 || !slices.Contains(rc[0].Args, "--appendonly") ||
		len(rc[0].VolumeMounts) == 0 || rc[0].VolumeMounts[0].MountPath != "/data" {
		t.Errorf("the Redis StatefulSet should keep an append-only file on a volume at /data: %+v", redis.Spec)
	}
}
