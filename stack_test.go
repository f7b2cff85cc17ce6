package bsdnet_test

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"testing/synctest"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/socket"
)

// Two stacks share nothing: the same path binds in both, and a client in
// one cannot reach a listener in the other.
func TestStacksShareNothing(t *testing.T) {
	a, b := bsdnet.NewStack(), bsdnet.NewStack()
	defer a.Close()
	defer b.Close()
	cred := socket.RootCred()
	for _, st := range []*bsdnet.Stack{a, b} {
		ls, err := st.Socket(socket.PF_LOCAL, socket.SOCK_STREAM, 0, cred)
		if err != nil {
			t.Fatal(err)
		}
		if err := ls.Bind(socket.SockaddrUnix{Path: "/same"}); err != nil {
			t.Fatalf("bind in its own stack: %v", err)
		}
	}
	c, _ := a.Socket(socket.PF_LOCAL, socket.SOCK_STREAM, 0, cred)
	if err := c.Connect(socket.SockaddrUnix{Path: "/elsewhere"}); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("connect to a name of no stack: %v, want ENOENT", err)
	}
}

// Close frees every socket the stack holds, wakes calls blocked in it, and
// leaves later calls with EBADF.
func TestStackCloseFreesAll(t *testing.T) {
	synctest.Test(t, testStackCloseFreesAll)
}

func testStackCloseFreesAll(t *testing.T) {
	st := bsdnet.NewStack()
	cred := socket.RootCred()
	x, y, err := st.Socketpair(socket.PF_LOCAL, socket.SOCK_STREAM, 0, cred)
	if err != nil {
		t.Fatal(err)
	}
	ls, _ := st.Socket(socket.PF_LOCAL, socket.SOCK_SEQPACKET, 0, cred)
	ls.Bind(socket.SockaddrUnix{Path: "/l"})
	ls.Listen(5)
	c, _ := st.Socket(socket.PF_LOCAL, socket.SOCK_SEQPACKET, 0, cred)
	if err := c.Connect(socket.SockaddrUnix{Path: "/l"}); err != nil {
		t.Fatal(err)
	}
	// A socket in flight, held only by a message.
	inflight, _ := st.Socket(socket.PF_LOCAL, socket.SOCK_DGRAM, 0, cred)
	u := socket.UioBuf([]byte("fd"))
	if err := x.Send(context.Background(), nil, &u, nil, st.Vnet().NewRightsControl(inflight), 0); err != nil {
		t.Fatal(err)
	}
	inflight.Close()
	done := make(chan error)
	go func() {
		buf := make([]byte, 10)
		u := socket.UioBuf(buf)
		done <- c.Receive(context.Background(), nil, &u, nil, nil, nil)
	}()
	synctest.Wait() // the receive is asleep
	if n := st.Vnet().Stats.Sockets.Load(); n != 6 {
		t.Fatalf("%d sockets before Close, want 6", n)
	}
	st.Close()
	// The listener goes first (sockets close oldest first) and aborts the
	// connection it held unaccepted, so the client learns ECONNRESET.
	if err := <-done; !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("blocked receive ended with %v, want ECONNRESET", err)
	}
	if n := st.Vnet().Stats.Sockets.Load(); n != 0 {
		t.Errorf("%d sockets after Close, want 0", n)
	}
	u = socket.UioBuf([]byte("x"))
	if err := y.Send(context.Background(), nil, &u, nil, nil, 0); !errors.Is(err, syscall.EBADF) {
		t.Errorf("send after Close: %v, want EBADF", err)
	}
	if _, err := st.Socket(socket.PF_LOCAL, socket.SOCK_STREAM, 0, cred); err == nil {
		t.Error("socket made on a closed stack")
	}
}
