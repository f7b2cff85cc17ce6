package upcallecho

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/bsdnet/bsdnet/local"
	"github.com/bsdnet/bsdnet/socket"
)

// TestTenThousandConnections serves 10,000 concurrent PF_LOCAL connections
// with a handful of workers: every connection is open at once, each echoes
// its own message, and the server runs no goroutine per connection.
func TestTenThousandConnections(t *testing.T) {
	const nconn = 10000
	v := socket.NewVnet()
	defer v.Close()
	if _, err := local.Attach(v, local.DefaultTunables()); err != nil {
		t.Fatal(err)
	}
	if err := v.SetSomaxconn(nconn); err != nil {
		t.Fatal(err)
	}
	cred := socket.UserCred(1000, 1000)
	ls, err := v.Create(socket.PF_LOCAL, socket.SOCK_STREAM, 0, cred)
	if err != nil {
		t.Fatal(err)
	}
	if err := ls.Bind(socket.SockaddrUnix{Path: "/echo"}); err != nil {
		t.Fatal(err)
	}
	if err := ls.Listen(-1); err != nil {
		t.Fatal(err)
	}
	g0 := runtime.NumGoroutine()
	const workers = 4
	srv, err := Serve(ls, workers)
	if err != nil {
		t.Fatal(err)
	}
	clients := make([]*socket.Socket, nconn)
	for i := range clients {
		c, err := v.Create(socket.PF_LOCAL, socket.SOCK_STREAM, 0, cred)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Connect(socket.SockaddrUnix{Path: "/echo"}); err != nil {
			t.Fatalf("connect %d: %v", i, err)
		}
		clients[i] = c
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			mine := clients[w*nconn/8 : (w+1)*nconn/8]
			for i, c := range mine {
				msg := []byte(fmt.Sprintf("hello from %d/%d", w, i))
				u := socket.UioBuf(msg)
				if err := c.Send(ctx, nil, &u, nil, nil, 0); err != nil {
					errs <- err
					return
				}
			}
			for i, c := range mine {
				want := []byte(fmt.Sprintf("hello from %d/%d", w, i))
				got := make([]byte, len(want))
				u := socket.UioBuf(got)
				f := socket.MSG_WAITALL
				if err := c.Receive(ctx, nil, &u, nil, nil, &f); err != nil || u.Resid != 0 || !bytes.Equal(got, want) {
					errs <- fmt.Errorf("echo %d/%d: %q, %v", w, i, got, err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := srv.Conns(); got != nconn {
		t.Errorf("server holds %d connections, want %d", got, nconn)
	}
	if extra := runtime.NumGoroutine() - g0; extra > workers {
		t.Errorf("%d goroutines for %d connections, want at most %d", extra, nconn, workers)
	}
	for _, c := range clients {
		c.Close()
	}
	srv.Close()
	if n := v.Stats.Sockets.Load(); n != 0 {
		t.Errorf("%d sockets left after close", n)
	}
}
