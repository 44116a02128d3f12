package chserver

import "testing"

func TestIsLoopback(t *testing.T) {
	for in, want := range map[string]bool{"127.0.0.1:9000": true, "localhost:9000": true, "[::1]:9000": true, "10.0.0.1:9000": false, "ch-1:9000": false} {
		if isLoopback(in) != want {
			t.Errorf("isLoopback(%q) = %v", in, !want)
		}
	}
}
