package dashboard_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/cambmock/cambmock/mockserver/adminguard"
	"github.com/cambmock/cambmock/mockserver/dashboard"
)

// The mock serves the dashboard itself; a server of another kind mounts
// it beside its own admin API, behind the same guard.
func ExampleHandler() {
	mux := http.NewServeMux()
	mux.Handle(dashboard.Path, dashboard.Handler(adminguard.Guard{}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + dashboard.Path)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
	// Output:
	// 200 text/html; charset=utf-8
}
