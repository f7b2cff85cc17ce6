package socket_test

import (
	"context"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet/socket"
)

// testing/synctest: the socket layer's sleeps are durable blocks in a
// bubble, and its timers run on the bubble's virtual clock.

func TestSynctestReceiveDurablyBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		for _, typ := range []int{socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_SEQPACKET} {
			a, b := e.pair(typ)
			got := make(chan []byte, 1)
			go func() {
				d, _, _ := recv(b, 10, 0)
				got <- d
			}()
			// Wait returns only once the receiver is durably blocked.
			synctest.Wait()
			if done(got) {
				t.Fatalf("type %d: receive on an empty socket returned", typ)
			}
			send(a, []byte("wake"), 0)
			synctest.Wait()
			select {
			case d := <-got:
				if string(d) != "wake" {
					t.Fatalf("type %d: got %q", typ, d)
				}
			default:
				t.Fatalf("type %d: receiver still blocked after the send", typ)
			}
		}
	})
}

func TestSynctestSendDurablyBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		for _, typ := range []int{socket.SOCK_STREAM, socket.SOCK_SEQPACKET} {
			a, b := e.pair(typ)
			fill(t, a)
			sent := make(chan error, 1)
			go func() {
				_, err := send(a, []byte("blocked"), 0)
				sent <- err
			}()
			synctest.Wait()
			if done(sent) {
				t.Fatalf("type %d: send on a full socket returned", typ)
			}
			drain(t, b)
			synctest.Wait()
			select {
			case err := <-sent:
				if err != nil {
					t.Fatalf("type %d: send after the drain: %v", typ, err)
				}
			default:
				t.Fatalf("type %d: sender still blocked after the drain", typ)
			}
		}
	})
}

func TestSynctestAcceptAndConnectDurablyBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		l := e.listener(socket.SOCK_STREAM, "/l", 5)
		acc := make(chan error, 1)
		go func() {
			_, err := l.ListenDequeue(bg, 0)
			acc <- err
		}()
		synctest.Wait()
		if done(acc) {
			t.Fatal("accept returned on an empty queue")
		}
		e.local(socket.SOCK_STREAM).Connect(socket.SockaddrUnix{Path: "/l"})
		synctest.Wait()
		if !done(acc) {
			t.Fatal("accept still blocked after a connection arrived")
		}

		e.tp.set(func(tp *tproto) { tp.connectAsync = true })
		so := e.test(socket.SOCK_STREAM)
		so.Connect(taddr("x"))
		conn := make(chan error, 1)
		go func() { conn <- so.WaitConnected(bg) }()
		synctest.Wait()
		if done(conn) {
			t.Fatal("WaitConnected returned while connecting")
		}
		so.Isconnected()
		synctest.Wait()
		if !done(conn) {
			t.Fatal("WaitConnected still blocked after soisconnected")
		}
	})
}

func TestSynctestRcvtimeoVirtualTime(t *testing.T) {
	realStart := time.Now()
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		_, b := e.pair(socket.SOCK_STREAM)
		if err := setopt(b, socket.SO_RCVTIMEO, socket.Timeval{Sec: 5}.Bytes()); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, _, err := recv(b, 10, 0)
		wantErr(t, "recv with SO_RCVTIMEO 5s", err, syscall.EWOULDBLOCK)
		if d := time.Since(start); d != 5*time.Second {
			t.Fatalf("SO_RCVTIMEO expired after %v of virtual time, want 5s", d)
		}
		// The timeout covers the whole call, not each sleep: wakeups
		// without enough data (at 2s and 4s) do not restart it.
		a2, b2 := e.pair(socket.SOCK_STREAM)
		setopt(b2, socket.SO_RCVTIMEO, socket.Timeval{Sec: 5}.Bytes())
		b2.SetOptInt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, 100)
		go func() {
			for i := 0; i < 2; i++ {
				time.Sleep(2 * time.Second)
				send(a2, []byte("x"), 0)
			}
		}()
		start = time.Now()
		got, _, err := recv(b2, 200, socket.MSG_WAITALL)
		if d := time.Since(start); d != 5*time.Second {
			t.Fatalf("timeout after %v with wakeups in between, want 5s", d)
		}
		wantErr(t, "MSG_WAITALL with SO_RCVTIMEO", err, syscall.EWOULDBLOCK)
		if len(got) != 0 {
			t.Fatalf("got %q below the low watermark", got)
		}
		// A deadline earlier than SO_RCVTIMEO wins.
		ctx, cancel := context.WithTimeout(bg, time.Second)
		defer cancel()
		start = time.Now()
		_, _, err = recvCtx(ctx, b, 10, 0)
		wantErr(t, "recv with a 1s deadline and SO_RCVTIMEO 5s", err, syscall.EWOULDBLOCK)
		if d := time.Since(start); d != time.Second {
			t.Fatalf("deadline after %v, want 1s", d)
		}
	})
	if d := time.Since(realStart); d > 3*time.Second {
		t.Fatalf("the bubble took %v of real time", d)
	}
}

func TestSynctestSndtimeoVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		a, _ := e.pair(socket.SOCK_STREAM)
		setopt(a, socket.SO_SNDTIMEO, socket.Timeval{Sec: 3, Usec: 500000}.Bytes())
		fill(t, a)
		start := time.Now()
		_, err := send(a, []byte("x"), 0)
		wantErr(t, "send with SO_SNDTIMEO", err, syscall.EWOULDBLOCK)
		if d := time.Since(start); d != 3500*time.Millisecond {
			t.Fatalf("SO_SNDTIMEO expired after %v", d)
		}
	})
}
