package local_test

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
	"testing"

	"github.com/bsdnet/bsdnet/socket"
)

// Many clients connect, exchange a message and close, in parallel, while
// acceptors accept and echo (run under -race). Everything is freed after.
func TestConcurrentConnectAcceptClose(t *testing.T) {
	for _, typ := range []int{socket.SOCK_STREAM, socket.SOCK_SEQPACKET} {
		t.Run(typeName(typ), func(t *testing.T) {
			e := newEnv(t)
			base := e.counts()
			l := e.listener(typ, "/busy", -1)
			const clients, acceptors = 64, 4
			var accWG sync.WaitGroup
			for i := 0; i < acceptors; i++ {
				accWG.Add(1)
				go func() {
					defer accWG.Done()
					for {
						s, err := l.ListenDequeue(bg, 0)
						if err != nil {
							return // the listener was closed
						}
						go func(s *socket.Socket) {
							defer s.Close()
							d, _, err := recv(s, 100, 0)
							if err != nil || len(d) == 0 {
								return
							}
							send(s, d, 0)
						}(s)
					}
				}()
			}
			var wg sync.WaitGroup
			errs := make(chan error, clients)
			for i := 0; i < clients; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					c, err := e.v.Create(socket.PF_LOCAL, typ, 0, socket.UserCred(1000, 1000))
					if err != nil {
						errs <- err
						return
					}
					defer c.Close()
					for {
						err = c.Connect(un("/busy"))
						if !errors.Is(err, syscall.ECONNREFUSED) {
							break
						}
					}
					if err != nil {
						errs <- fmt.Errorf("client %d connect: %w", i, err)
						return
					}
					msg := []byte(fmt.Sprintf("client %d", i))
					if _, err := send(c, msg, 0); err != nil {
						errs <- err
						return
					}
					if d, _, err := recv(c, 100, 0); err != nil || string(d) != string(msg) {
						errs <- fmt.Errorf("client %d echo %q, %v", i, d, err)
					}
				}(i)
			}
			wg.Wait()
			l.Close()
			accWG.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if !eventually(func() bool { return e.counts() == base }) {
				t.Fatalf("counts %+v, want %+v", e.counts(), base)
			}
		})
	}
}

// Both ends of many pairs closed from different goroutines at once, while
// data and rights are moving: no race, no leak.
func TestConcurrentCloseWhileSending(t *testing.T) {
	e := newEnv(t)
	base := e.counts()
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		a, b := e.pair(socket.SOCK_STREAM)
		x := e.socket(socket.SOCK_DGRAM)
		wg.Add(3)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				if _, err := sendto(a, []byte("r"), nil, e.v.NewRightsControl(x), socket.MSG_DONTWAIT); err != nil {
					break
				}
			}
			a.Close()
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				m, err := recvmsg(b, 10, 0)
				if err != nil || m.n == 0 {
					break
				}
				for _, so := range socket.ControlRights(m.control) {
					so.Close()
				}
			}
			b.Close()
		}()
		go func() {
			defer wg.Done()
			x.Close()
		}()
	}
	wg.Wait()
	e.d.GC()
	if !eventually(func() bool { return e.counts() == base }) {
		t.Fatalf("counts %+v, want %+v", e.counts(), base)
	}
}

// Concurrent binds of one name: exactly one wins, the rest get EADDRINUSE.
func TestConcurrentBind(t *testing.T) {
	e := newEnv(t)
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := 0; i < n; i++ {
		so := e.socket(socket.SOCK_DGRAM)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := so.Bind(un("/race"))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, syscall.EADDRINUSE):
				t.Errorf("bind = %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d binds won", wins)
	}
}
