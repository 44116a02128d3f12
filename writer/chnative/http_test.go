package chnative

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestDialHTTPServer dials an HTTP server as if it were ClickHouse's native
// port: the hello makes it answer at once (its newline ends a request line),
// and Dial says the address is an HTTP port. Without that answer the dial
// would wait out its timeout and fail with a timeout instead.
func TestDialHTTPServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := Dial(ctx, Options{Addr: addr, DialTimeout: time.Minute})
	var hp *HTTPPortError
	if !errors.As(err, &hp) || !strings.HasPrefix(hp.Status, "HTTP/1.1 400") {
		t.Fatalf("dial an HTTP server: %v; want it recognised by its 400 answer", err)
	}
	if !strings.Contains(err.Error(), addr+" is ClickHouse's HTTP port; chload speaks the native protocol") {
		t.Fatalf("dial an HTTP server: %q does not say it is the HTTP port", err)
	}
}

// TestHelloHasNewline checks what lets an HTTP server answer the hello: a
// newline among its first bytes (the length of the client name).
func TestHelloHasNewline(t *testing.T) {
	if len(clientName) != '\n' {
		t.Fatalf("client name %q is %d bytes: its length byte is not a newline, so an HTTP server waits for one", clientName, len(clientName))
	}
}
