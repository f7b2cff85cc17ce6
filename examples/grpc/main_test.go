package main

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// check compares what the client verified with what cfg asked for.
func check(t *testing.T, cfg config, res result, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"SERVING", "NOT_SERVING"}; !slices.Equal(res.Health, want) {
		t.Errorf("health watch saw %v, want %v", res.Health, want)
	}
	if res.Unary != cfg.Unary {
		t.Errorf("%d unary calls answered, want %d", res.Unary, cfg.Unary)
	}
	if res.ServerStream != 100 {
		t.Errorf("%d server-streaming messages, want 100", res.ServerStream)
	}
	if want := 100 + 100*99*100/2; res.ClientStream != want {
		t.Errorf("server counted %d client-streamed bytes, want %d", res.ClientStream, want)
	}
	if want := cfg.Streams * cfg.Messages; res.Duplex != want {
		t.Errorf("%d bidirectional messages, want %d", res.Duplex, want)
	}
}

// gRPC's server and client on two stacks across a wire: unary calls,
// server, client and bidirectional streams, many at once, on a clean wire
// and on one that delays and loses frames.
func TestGRPCAcrossStacks(t *testing.T) {
	tests := []struct {
		name string
		cfg  config
	}{
		{"clean wire", config{Delay: time.Millisecond, Unary: 300, Streams: 30, Messages: 20, Seed: 1}},
		{"lossy wire", config{Delay: 2 * time.Millisecond, Loss: 0.02, Unary: 100, Streams: 10, Messages: 10, Seed: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := run(context.Background(), tt.cfg)
			check(t, tt.cfg, res, err)
		})
	}
}

// The same inside a testing/synctest bubble, across a wire with 50 ms of
// delay each way: virtual time passes, real time hardly does, and when
// run returns (the server stopped, the client and the network closed) no
// goroutine is left, or synctest.Test would fail.
func TestGRPCSynctest(t *testing.T) {
	cfg := config{Delay: 50 * time.Millisecond, Unary: 100, Streams: 10, Messages: 10, Seed: 3}
	realStart := time.Now()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		res, err := run(t.Context(), cfg)
		check(t, cfg, res, err)
		// Each ping-pong message of a stream costs at least a round trip.
		if d, min := time.Since(start), time.Duration(cfg.Messages)*2*cfg.Delay; d < min {
			t.Errorf("took %v of virtual time, want at least %v", d, min)
		} else {
			t.Logf("%v of virtual time", d)
		}
	})
	t.Logf("real time: %v", time.Since(realStart))
}
