package socket_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bsdnet/bsdnet/socket"
)

// Concurrency: meant for go test -race.

func TestConcurrentPairs(t *testing.T) {
	e := newEnv(t)
	const pairs, writers, msgs = 8, 3, 200
	var wg sync.WaitGroup
	errs := make(chan error, pairs*(writers+1))
	for p := 0; p < pairs; p++ {
		typ := socket.SOCK_STREAM
		if p%2 == 1 {
			typ = socket.SOCK_SEQPACKET
		}
		a, b := e.pair(typ)
		// Several writers on one socket: each send is whole (the I/O lock
		// serializes them), so 8-byte messages never interleave.
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				var m [8]byte
				for i := 0; i < msgs; i++ {
					binary.BigEndian.PutUint32(m[:4], uint32(w))
					binary.BigEndian.PutUint32(m[4:], uint32(i))
					if n, err := send(a, m[:], 0); err != nil || n != 8 {
						errs <- fmt.Errorf("send: %d, %v", n, err)
						return
					}
				}
			}(w)
		}
		wg.Add(1)
		go func(typ int) {
			defer wg.Done()
			next := make([]uint32, writers)
			var buf []byte
			for got := 0; got < writers*msgs; {
				d, _, err := recv(b, 8*16, 0)
				if err != nil {
					errs <- fmt.Errorf("recv: %v", err)
					return
				}
				if typ == socket.SOCK_SEQPACKET && len(d) != 8 {
					errs <- fmt.Errorf("seqpacket record of %d bytes", len(d))
					return
				}
				buf = append(buf, d...)
				for len(buf) >= 8 {
					w, i := binary.BigEndian.Uint32(buf), binary.BigEndian.Uint32(buf[4:])
					buf = buf[8:]
					if int(w) >= writers || i != next[w] {
						errs <- fmt.Errorf("writer %d message %d, want %d", w, i, next[w])
						return
					}
					next[w]++
					got++
				}
			}
		}(typ)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestConcurrentBulkBothWays(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_STREAM)
	data := bytes.Repeat([]byte("abcdefghijklmnopqrstuvwxyz"), 20000)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	fail := func(f string, args ...any) {
		mu.Lock()
		failures = append(failures, fmt.Sprintf(f, args...))
		mu.Unlock()
	}
	for _, dir := range [][2]*socket.Socket{{a, b}, {b, a}} {
		from, to := dir[0], dir[1]
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := send(from, data, 0); err != nil {
				fail("send: %v", err)
			}
		}()
		go func() {
			defer wg.Done()
			var got []byte
			for len(got) < len(data) {
				d, _, err := recv(to, 50000, 0)
				if err != nil {
					fail("recv: %v", err)
					return
				}
				got = append(got, d...)
			}
			if !bytes.Equal(got, data) {
				fail("data differs")
			}
		}()
	}
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
}

func TestCloseWhileBlocked(t *testing.T) {
	type op struct {
		name string
		want error // nil: end of file or success
		run  func(e *env) (blocked func() error, closer func())
	}
	ops := []op{
		{"recv, close self", nil, func(e *env) (func() error, func()) {
			_, b := e.pair(socket.SOCK_STREAM)
			return func() error { _, _, err := recv(b, 10, 0); return err }, func() { b.Close() }
		}},
		{"recv, close peer", nil, func(e *env) (func() error, func()) {
			a, b := e.pair(socket.SOCK_STREAM)
			return func() error { _, _, err := recv(b, 10, 0); return err }, func() { a.Close() }
		}},
		{"recv dgram, close self", nil, func(e *env) (func() error, func()) {
			d := e.local(socket.SOCK_DGRAM)
			d.Bind(socket.SockaddrUnix{Path: "/d"})
			return func() error { _, _, err := recv(d, 10, 0); return err }, func() { d.Close() }
		}},
		{"send, close self", syscall.EPIPE, func(e *env) (func() error, func()) {
			a, _ := e.pair(socket.SOCK_STREAM)
			fill(e.t, a)
			return func() error { _, err := send(a, []byte("x"), 0); return err }, func() { a.Close() }
		}},
		{"send, close peer", syscall.EPIPE, func(e *env) (func() error, func()) {
			a, b := e.pair(socket.SOCK_STREAM)
			fill(e.t, a)
			return func() error { _, err := send(a, []byte("x"), 0); return err }, func() { b.Close() }
		}},
		{"accept, close listener", syscall.ECONNABORTED, func(e *env) (func() error, func()) {
			l := e.listener(socket.SOCK_STREAM, "/l", 5)
			return func() error { _, err := l.ListenDequeue(bg, 0); return err }, func() { l.Close() }
		}},
		{"connect wait, close self", nil, func(e *env) (func() error, func()) {
			e.tp.set(func(tp *tproto) { tp.connectAsync = true })
			so := e.test(socket.SOCK_STREAM)
			so.Connect(taddr("far"))
			return func() error { return so.WaitConnected(bg) }, func() { so.Close() }
		}},
	}
	for _, o := range ops {
		t.Run(o.name, func(t *testing.T) {
			e := newEnv(t)
			blocked, closer := o.run(e)
			res := make(chan error, 1)
			go func() {
				defer func() {
					if r := recover(); r != nil {
						res <- fmt.Errorf("panic: %v", r)
					}
				}()
				res <- blocked()
			}()
			time.Sleep(20 * time.Millisecond)
			select {
			case err := <-res:
				t.Fatalf("operation did not block: %v", err)
			default:
			}
			closer()
			err := within(t, res, 10*time.Second, o.name)
			if err != nil && strings.HasPrefix(err.Error(), "panic") {
				t.Fatal(err)
			}
			wantErr(t, o.name, err, o.want)
			if n := e.v.Stats.Sockets.Load(); n < 0 {
				t.Fatalf("Stats.Sockets went negative: %d", n)
			}
		})
	}
}

func TestConcurrentCloseAndIO(t *testing.T) {
	// Racing closes against sends and receives on many pairs: no panic,
	// no race, every call returns, every socket is freed.
	e := newEnv(t)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		a, b := e.pair(socket.SOCK_STREAM)
		wg.Add(4)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				if _, err := send(a, []byte("data"), 0); err != nil {
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for {
				d, _, err := recv(b, 100, 0)
				if err != nil || len(d) == 0 {
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			time.Sleep(time.Millisecond)
			a.Close()
		}()
		go func() {
			defer wg.Done()
			time.Sleep(2 * time.Millisecond)
			b.Close()
		}()
	}
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	within(t, ch, 20*time.Second, "racing closes and I/O")
	if n := e.v.Stats.Sockets.Load(); n != 0 {
		t.Fatalf("Stats.Sockets = %d after every socket closed", n)
	}
}

func TestConcurrentConnectAccept(t *testing.T) {
	e := newEnv(t)
	const clients, acceptors = 100, 4
	l := e.listener(socket.SOCK_STREAM, "/l", socket.SOMAXCONN)
	var wg sync.WaitGroup
	accepted := make(chan *socket.Socket, clients)
	acceptErr := make(chan error, acceptors)
	var acceptWG sync.WaitGroup
	for i := 0; i < acceptors; i++ {
		acceptWG.Add(1)
		go func() {
			defer acceptWG.Done()
			for {
				so, err := l.ListenDequeue(bg, 0)
				if err != nil {
					if !errors.Is(err, syscall.ECONNABORTED) {
						acceptErr <- err
					}
					return
				}
				accepted <- so
			}
		}()
	}
	connectErrs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := e.v.Create(socket.PF_LOCAL, socket.SOCK_STREAM, 0, testCred)
			if err != nil {
				connectErrs <- err
				return
			}
			if err := c.Connect(socket.SockaddrUnix{Path: "/l"}); err != nil {
				connectErrs <- fmt.Errorf("connect %d: %w", i, err)
				return
			}
			msg := fmt.Sprintf("client %03d", i)
			if _, err := send(c, []byte(msg), 0); err != nil {
				connectErrs <- err
				return
			}
			got, _, err := recv(c, 100, 0)
			if err != nil || string(got) != "echo "+msg {
				connectErrs <- fmt.Errorf("client %d got %q, %v", i, got, err)
			}
		}(i)
	}
	// Echo on every accepted socket.
	var echoWG sync.WaitGroup
	seen := make(map[string]bool)
	var seenMu sync.Mutex
	for i := 0; i < clients; i++ {
		var so *socket.Socket
		select {
		case so = <-accepted:
		case err := <-acceptErr:
			t.Fatalf("accept: %v", err)
		case err := <-connectErrs:
			t.Fatalf("%v", err)
		case <-time.After(20 * time.Second):
			t.Fatalf("only %d of %d connections accepted", i, clients)
		}
		echoWG.Add(1)
		go func() {
			defer echoWG.Done()
			d, _, err := recv(so, len("client 000"), socket.MSG_WAITALL)
			if err != nil {
				connectErrs <- err
				return
			}
			seenMu.Lock()
			seen[string(d)] = true
			seenMu.Unlock()
			send(so, append([]byte("echo "), d...), 0)
		}()
	}
	wg.Wait()
	echoWG.Wait()
	l.Shutdown(socket.SHUT_RDWR)
	l.Close()
	acceptWG.Wait()
	close(connectErrs)
	for err := range connectErrs {
		t.Error(err)
	}
	if len(seen) != clients {
		t.Errorf("%d distinct clients served, want %d", len(seen), clients)
	}
	if n := e.v.Stats.ListenOverflows.Load(); n != 0 {
		t.Errorf("ListenOverflows = %d", n)
	}
}

func TestConcurrentOptionsAndPoll(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_STREAM)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for _, f := range []func(){
		func() { a.SetOptInt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096+int(time.Now().UnixNano()%4096)) },
		func() { a.GetOptInt(socket.SOL_SOCKET, socket.SO_RCVBUF) },
		func() { a.SetOptInt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1) },
		func() { a.Poll(socket.POLLIN|socket.POLLOUT, socket.NewPoller()) },
		func() { var x socket.Xsocket; a.ToXsocket(&x) },
		func() { e.v.Xsockets() },
		func() { send(b, []byte("x"), socket.MSG_DONTWAIT) },
		func() { recv(a, 10, socket.MSG_DONTWAIT) },
	} {
		wg.Add(1)
		go func(f func()) {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					f()
				}
			}
		}(f)
	}
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
}
