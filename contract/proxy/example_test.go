package proxy_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/cambmock/cambmock/contract/proxy"
)

// ExampleProxy_LogSummary puts a proxy in front of an upstream that
// answers every status poll with a status openapi.yaml does not list: the
// violation is logged once, when first seen, and LogSummary gives its
// count.
func ExampleProxy_LogSummary() {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"FAILED","run_id":null,"exception_reason":null,"message":"Sound generation failed."}`)
	}))
	defer upstream.Close()

	// Warnings only, without their times and the problem's wording (it
	// quotes openapi.yaml), so the output is stable.
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelWarn,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "first" || a.Key == "last" || a.Key == "problem" {
				return slog.Attr{}
			}
			return a
		},
	}))
	p, err := proxy.New(upstream.URL+"/apis", proxy.WithLogger(logger))
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(p)
	defer srv.Close()

	for range 3 {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/apis/text-to-sound/task-1", nil)
		req.Header.Set("X-Api-Key", "sk-example")
		resp, err := srv.Client().Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
	}
	p.LogSummary()
	// Output:
	// level=WARN msg=violation check=status-conforms operation=getTextToSoundStatus method=GET path=/apis/text-to-sound/task-1
	// level=WARN msg="violation summary" check=status-conforms operation=getTextToSoundStatus count=3
}
