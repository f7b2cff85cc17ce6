package local_test

import (
	"bytes"
	"errors"
	"runtime"
	"syscall"
	"testing"

	"github.com/bsdnet/bsdnet/socket"
)

func TestStreamPairEcho(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_STREAM)
	if n, err := send(a, []byte("hello"), 0); err != nil || n != 5 {
		t.Fatalf("send = %d, %v", n, err)
	}
	got, _, err := recv(b, 100, 0)
	if err != nil || string(got) != "hello" {
		t.Fatalf("recv = %q, %v", got, err)
	}
	a.Close()
	got, _, err = recv(b, 100, 0)
	if err != nil || len(got) != 0 {
		t.Fatalf("recv after close = %q, %v; want EOF", got, err)
	}
	if _, err := send(b, []byte("x"), 0); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("send to closed peer = %v, want EPIPE", err)
	}
}

func TestListenConnectAccept(t *testing.T) {
	e := newEnv(t)
	c, s := e.connected(socket.SOCK_STREAM, "/tmp/sock")
	big := bytes.Repeat([]byte("0123456789abcdef"), 64*1024)
	done := make(chan error)
	go func() {
		_, err := send(c, big, 0)
		done <- err
	}()
	var got []byte
	for len(got) < len(big) {
		b, _, err := recv(s, 100000, 0)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b...)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, big) {
		t.Fatal("data differs")
	}
}

func TestDgramAndSeqpacket(t *testing.T) {
	e := newEnv(t)
	r := e.socket(socket.SOCK_DGRAM)
	if err := r.Bind(socket.SockaddrUnix{Path: "/r"}); err != nil {
		t.Fatal(err)
	}
	s := e.socket(socket.SOCK_DGRAM)
	s.Bind(socket.SockaddrUnix{Path: "/s"})
	for _, m := range []string{"one", "two", ""} {
		if _, err := sendto(s, []byte(m), socket.SockaddrUnix{Path: "/r"}, nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"one", "two", ""} {
		m, err := recvmsg(r, 2, socket.MSG_TRUNC)
		if err != nil {
			t.Fatal(err)
		}
		if m.n != len(want) || m.from.(socket.SockaddrUnix).Path != "/s" {
			t.Fatalf("got %+v want %q", m, want)
		}
	}
	a, b := e.connected(socket.SOCK_SEQPACKET, "/sp")
	send(a, []byte("rec1"), 0)
	send(a, []byte("record2"), 0)
	m, err := recvmsg(b, 100, 0)
	if err != nil || string(m.data) != "rec1" {
		t.Fatalf("seqpacket 1: %q %v", m.data, err)
	}
	m, err = recvmsg(b, 3, 0)
	if err != nil || string(m.data) != "rec" || m.flags&socket.MSG_TRUNC == 0 {
		t.Fatalf("seqpacket 2: %q %#x %v", m.data, m.flags, err)
	}
}

// A writer stopped on a full peer learns of the peer's SHUT_RD instead of
// sleeping for ever.
func TestStoppedWriterSeesShutRD(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_STREAM)
	done := make(chan error, 1)
	go func() {
		_, err := send(a, make([]byte, 1<<20), 0)
		done <- err
	}()
	// Wait until the writer has filled the peer and stopped.
	for {
		b.Rcv.Lock()
		n := b.Rcv.AvailLocked()
		b.Rcv.Unlock()
		if n >= 64*1024 {
			break
		}
		runtime.Gosched()
	}
	if err := b.Shutdown(socket.SHUT_RD); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("stopped writer got %v, want EPIPE", err)
	}
}
