package sys_test

import (
	"context"
	"testing"
	"time"

	"github.com/bsdnet/bsdnet/sys"
)

// poll over several descriptors: ready ones are reported, a bad one is
// POLLNVAL, a negative one skipped; with nothing ready the timeout passes
// and 0 is returned.
func TestPoll(t *testing.T) {
	e := newEnv(t)
	p := e.proc()
	a, b := e.pair(p, sys.SOCK_STREAM)
	c, d := e.pair(p, sys.SOCK_DGRAM)
	closed := e.socket(p, sys.AF_UNIX, sys.SOCK_STREAM)
	p.Close(closed)
	e.send(p, a, "ready")
	fds := []sys.PollFd{
		{Fd: int32(b), Events: sys.POLLIN},
		{Fd: int32(d), Events: sys.POLLIN},
		{Fd: int32(c), Events: sys.POLLOUT},
		{Fd: int32(closed), Events: sys.POLLIN},
		{Fd: -1, Events: sys.POLLIN},
	}
	n, err := p.Poll(fds, -1)
	if err != nil || n != 3 {
		t.Fatalf("poll = %d, %v; want 3", n, err)
	}
	want := []int16{sys.POLLIN, 0, sys.POLLOUT, sys.POLLNVAL, 0}
	for i, f := range fds {
		if f.Revents != want[i] {
			t.Errorf("entry %d: revents %#x, want %#x", i, f.Revents, want[i])
		}
	}
	idle := []sys.PollFd{{Fd: int32(d), Events: sys.POLLIN}, {Fd: int32(b), Events: sys.POLLPRI}}
	start := time.Now()
	if n, err := p.Poll(idle, 20); n != 0 || err != nil {
		t.Fatalf("poll with nothing ready = %d, %v; want 0 after the timeout", n, err)
	}
	if time.Since(start) < 20*time.Millisecond {
		t.Fatalf("poll returned before its timeout")
	}
	if n, _ := p.Poll(idle, 0); n != 0 {
		t.Fatalf("poll(0) = %d", n)
	}
}

// A waiting poll wakes when one of its sockets becomes ready, and a
// cancelled context ends it with EINTR. A peer's close is POLLHUP.
func TestPollWakeup(t *testing.T) {
	e := newEnv(t)
	p := e.proc()
	a, b := e.pair(p, sys.SOCK_STREAM)
	c, d := e.pair(p, sys.SOCK_SEQPACKET)
	go func() {
		time.Sleep(10 * time.Millisecond)
		p.Send(c, []byte("wake"), 0)
	}()
	fds := []sys.PollFd{{Fd: int32(b), Events: sys.POLLIN}, {Fd: int32(d), Events: sys.POLLIN}}
	n, err := p.Poll(fds, 5000)
	if err != nil || n != 1 || fds[1].Revents != sys.POLLIN || fds[0].Revents != 0 {
		t.Fatalf("poll = %d, %v, %+v", n, err, fds)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(10 * time.Millisecond)
		cancel()
	}()
	if _, err := p.PollContext(ctx, fds[:1], -1); err != sys.EINTR {
		t.Fatalf("cancelled poll = %v, want EINTR", err)
	}
	p.Close(a)
	fds[0].Events = sys.POLLIN | sys.POLLOUT
	if n, _ := p.Poll(fds[:1], -1); n != 1 || fds[0].Revents&sys.POLLHUP == 0 {
		t.Fatalf("poll after the peer closed = %d, %#x; want POLLHUP", n, fds[0].Revents)
	}
}
