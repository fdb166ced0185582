package wav_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/cambmock/cambmock/mockserver/internal/wav"
)

func Example() {
	f := wav.New("a dog barking in the rain", time.Second)
	fmt.Println(f.Size(), wav.Size(time.Second), wav.Samples(time.Second))

	header := make([]byte, 12)
	if _, err := io.ReadFull(f, header); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%q\n", header)
	// Output:
	// 44144 44144 22050
	// "RIFFh\xac\x00\x00WAVE"
}

// The file is an io.ReadSeeker, so http.ServeContent serves it with Range
// requests.
func Example_serveContent() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "audio/wav")
		http.ServeContent(w, r, "sound.wav", time.Time{}, wav.New("rain", 10*time.Minute))
	})
	req := httptest.NewRequest("GET", "/sound.wav", nil)
	req.Header.Set("Range", "bytes=40-47")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("Content-Range"), rec.Body.Len())
	// Output:
	// 206 bytes 40-47/26460044 8
}
