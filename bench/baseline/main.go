// Command baseline is the bare net/http ceiling that bench/run.sh compares
// cambmock's status poll with: a Go 1.22+ ServeMux pattern answering
// GET /apis/text-to-sound/{task_id} with a fixed JSON status body when an
// x-api-key header is present, and nothing else.
package main

import (
	"flag"
	"log"
	"net/http"
)

var (
	okBody     = []byte(`{"status":"PENDING","run_id":null,"exception_reason":null,"message":null}`)
	unauthBody = []byte(`{"detail":"Not authenticated"}`)
)

func status(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if r.Header.Get("x-api-key") == "" {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write(unauthBody)
		return
	}
	_ = r.PathValue("task_id")
	w.Write(okBody)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address")
	flag.Parse()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /apis/text-to-sound/{task_id}", status)
	log.Fatal(http.ListenAndServe(*addr, mux))
}
