package socket_test

import (
	"bytes"
	"context"
	"slices"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

// Socket I/O: sosend, soreceive (generic, stream, dgram), sopoll.

func TestDontwait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		for _, typ := range []int{socket.SOCK_STREAM, socket.SOCK_SEQPACKET, socket.SOCK_DGRAM} {
			a, b := e.pair(typ)
			start := time.Now()
			_, _, err := recv(b, 10, socket.MSG_DONTWAIT)
			wantErr(t, "recv MSG_DONTWAIT on empty socket", err, syscall.EWOULDBLOCK)
			_, _, err = recv(b, 10, socket.MSG_NBIO)
			wantErr(t, "recv MSG_NBIO on empty socket", err, syscall.EWOULDBLOCK)
			if typ != socket.SOCK_DGRAM {
				fill(t, a)
				_, err = send(a, []byte("x"), socket.MSG_DONTWAIT)
				wantErr(t, "send MSG_DONTWAIT on full socket", err, syscall.EWOULDBLOCK)
			}
			if time.Since(start) != 0 {
				t.Fatal("MSG_DONTWAIT slept")
			}
		}
	})
}

func TestNonblockingSocket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		a, b := e.pair(socket.SOCK_STREAM)
		a.SetNonblocking(true)
		b.SetNonblocking(true)
		if a.State()&socket.SS_NBIO == 0 {
			t.Fatal("SS_NBIO not set")
		}
		_, _, err := recv(b, 10, 0)
		wantErr(t, "recv on empty non-blocking socket", err, syscall.EWOULDBLOCK)
		fill(t, a)
		_, err = send(a, []byte("x"), 0)
		wantErr(t, "send on full non-blocking socket", err, syscall.EWOULDBLOCK)
		// Blocking again: a receive sleeps until data comes.
		drain(t, b)
		b.SetNonblocking(false)
		got := make(chan []byte, 1)
		go func() {
			d, _, _ := recv(b, 10, 0)
			got <- d
		}()
		synctest.Wait()
		if done(got) {
			t.Fatal("blocking recv returned on an empty socket")
		}
		send(a, []byte("late"), 0)
		if d := <-got; string(d) != "late" {
			t.Fatalf("got %q", d)
		}
	})
}

func TestDontwaitBusyIOLock(t *testing.T) {
	// A receive sleeping for data holds the receive I/O lock; another
	// receive with MSG_DONTWAIT does not wait for it, a blocking one waits
	// interruptibly (tools/regression/sockets/sblock).
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		a, b := e.pair(socket.SOCK_STREAM)
		first := make(chan []byte, 1)
		go func() {
			d, _, _ := recv(b, 10, 0)
			first <- d
		}()
		synctest.Wait()
		_, _, err := recv(b, 10, socket.MSG_DONTWAIT)
		wantErr(t, "MSG_DONTWAIT while another receive sleeps", err, syscall.EWOULDBLOCK)
		ctx, cancel := context.WithCancel(bg)
		second := make(chan error, 1)
		go func() {
			_, _, err := recvCtx(ctx, b, 10, 0)
			second <- err
		}()
		synctest.Wait()
		if done(second) {
			t.Fatal("second receive did not wait for the I/O lock")
		}
		cancel()
		wantErr(t, "receive waiting for the I/O lock, cancelled", <-second, syscall.EINTR)
		send(a, []byte("one"), 0)
		if d := <-first; string(d) != "one" {
			t.Fatalf("first receive got %q", d)
		}
	})
}

func TestPeek(t *testing.T) {
	e := newEnv(t)
	for _, typ := range []int{socket.SOCK_STREAM, socket.SOCK_SEQPACKET, socket.SOCK_DGRAM} {
		a, b := e.pair(typ)
		send(a, []byte("hello"), 0)
		send(a, []byte("world"), 0)
		for i := 0; i < 2; i++ {
			got, _, err := recv(b, 3, socket.MSG_PEEK)
			if err != nil || string(got) != "hel" {
				t.Fatalf("type %d: peek %d = %q, %v", typ, i, got, err)
			}
		}
		want := "hello"
		if typ == socket.SOCK_STREAM {
			want = "helloworld"
		}
		got, _, err := recv(b, 100, socket.MSG_PEEK)
		if err != nil || string(got) != want {
			t.Fatalf("type %d: big peek = %q, %v; want %q", typ, got, err, want)
		}
		got, _, err = recv(b, 100, 0)
		if err != nil || string(got) != want {
			t.Fatalf("type %d: read after peek = %q, %v", typ, got, err)
		}
	}
}

func TestWaitall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		a, b := e.pair(socket.SOCK_STREAM)
		type res struct {
			b   []byte
			err error
		}
		ch := make(chan res, 1)
		go func() {
			d, _, err := recv(b, 10, socket.MSG_WAITALL)
			ch <- res{d, err}
		}()
		for _, piece := range []string{"012", "345", "678"} {
			send(a, []byte(piece), 0)
			synctest.Wait()
			if done(ch) {
				t.Fatalf("MSG_WAITALL returned after %q", piece)
			}
		}
		send(a, []byte("9ABC"), 0)
		r := <-ch
		if r.err != nil || string(r.b) != "0123456789" {
			t.Fatalf("MSG_WAITALL got %q, %v", r.b, r.err)
		}
		if got, _, _ := recv(b, 10, 0); string(got) != "ABC" {
			t.Fatalf("rest %q", got)
		}

		// Short count, no error, on EOF.
		go func() {
			d, _, err := recv(b, 10, socket.MSG_WAITALL)
			ch <- res{d, err}
		}()
		send(a, []byte("abc"), 0)
		synctest.Wait()
		if done(ch) {
			t.Fatal("MSG_WAITALL returned early")
		}
		a.Shutdown(socket.SHUT_WR)
		r = <-ch
		if r.err != nil || string(r.b) != "abc" {
			t.Fatalf("MSG_WAITALL at EOF got %q, %v; want a short count", r.b, r.err)
		}

		// On an atomic protocol MSG_WAITALL does not join records.
		c, d := e.pair(socket.SOCK_SEQPACKET)
		send(c, []byte("rec"), 0)
		send(c, []byte("ord"), 0)
		got, _, err := recv(d, 10, socket.MSG_WAITALL)
		if err != nil || string(got) != "rec" {
			t.Fatalf("seqpacket MSG_WAITALL got %q, %v", got, err)
		}
	})
}

func TestTrunc(t *testing.T) {
	e := newEnv(t)
	for _, typ := range []int{socket.SOCK_DGRAM, socket.SOCK_SEQPACKET} {
		a, b := e.pair(typ)
		for i := 0; i < 3; i++ {
			send(a, []byte("0123456789"), 0)
		}
		// Without MSG_TRUNC: the copied length, MSG_TRUNC out, rest dropped.
		got, flags, err := recv(b, 4, 0)
		if err != nil || string(got) != "0123" || flags&socket.MSG_TRUNC == 0 {
			t.Fatalf("type %d: recv 4 = %q flags %#x %v", typ, got, flags, err)
		}
		// With MSG_TRUNC: the real length.
		buf := make([]byte, 4)
		u := socket.UioBuf(buf)
		f := socket.MSG_TRUNC
		if err := b.Receive(bg, nil, &u, nil, nil, &f); err != nil {
			t.Fatal(err)
		}
		if n := len(buf) - u.Resid; n != 10 || f&socket.MSG_TRUNC == 0 || string(buf) != "0123" {
			t.Fatalf("type %d: MSG_TRUNC counted %d, flags %#x, data %q; want 10", typ, n, f, buf)
		}
		// recv(s, NULL, 0, MSG_PEEK|MSG_TRUNC) gives the datagram's size.
		u = socket.UioBuf(nil)
		f = socket.MSG_PEEK | socket.MSG_TRUNC
		if err := b.Receive(bg, nil, &u, nil, nil, &f); err != nil {
			t.Fatal(err)
		}
		if n := -u.Resid; n != 10 {
			t.Fatalf("type %d: PEEK|TRUNC with no buffer counted %d, want 10", typ, n)
		}
		// The peeked record is still there, whole.
		got, flags, _ = recv(b, 100, 0)
		if string(got) != "0123456789" || flags&socket.MSG_TRUNC != 0 {
			t.Fatalf("type %d: after peek got %q flags %#x", typ, got, flags)
		}
	}
}

func TestEORFlag(t *testing.T) {
	e := newEnv(t)
	a, _ := e.pair(socket.SOCK_STREAM)
	_, err := send(a, []byte("x"), socket.MSG_EOR)
	wantErr(t, "MSG_EOR on a stream socket", err, syscall.EINVAL)
	// The test seqpacket protocol marks records with M_EOR: MSG_EOR out.
	c, d := e.tpair(socket.SOCK_SEQPACKET)
	if _, err := send(c, []byte("rec"), socket.MSG_EOR); err != nil {
		t.Fatal(err)
	}
	got, flags, err := recv(d, 10, 0)
	if err != nil || string(got) != "rec" || flags&socket.MSG_EOR == 0 {
		t.Fatalf("got %q flags %#x %v; want MSG_EOR", got, flags, err)
	}
}

func TestRcvlowat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		a, b := e.pair(socket.SOCK_STREAM)
		if err := b.SetOptInt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, 5); err != nil {
			t.Fatal(err)
		}
		send(a, []byte("abc"), 0)
		if b.Poll(socket.POLLIN, nil) != 0 {
			t.Fatal("readable below the low watermark")
		}
		// MSG_DONTWAIT does not wait for the watermark.
		got, _, err := recv(b, 10, socket.MSG_PEEK|socket.MSG_DONTWAIT)
		if err != nil || string(got) != "abc" {
			t.Fatalf("MSG_DONTWAIT below lowat: %q, %v", got, err)
		}
		// A request smaller than what is there is served at once.
		got, _, err = recv(b, 2, socket.MSG_PEEK)
		if err != nil || string(got) != "ab" {
			t.Fatalf("small request below lowat: %q, %v", got, err)
		}
		ch := make(chan []byte, 1)
		go func() {
			d, _, _ := recv(b, 10, 0)
			ch <- d
		}()
		synctest.Wait()
		if done(ch) {
			t.Fatal("stream read returned below SO_RCVLOWAT")
		}
		send(a, []byte("de"), 0)
		if d := <-ch; string(d) != "abcde" {
			t.Fatalf("read %q at the watermark", d)
		}
		// The watermark does not delay EOF.
		send(a, []byte("z"), 0)
		a.Shutdown(socket.SHUT_WR)
		if got, _, err := recv(b, 10, 0); err != nil || string(got) != "z" {
			t.Fatalf("read before EOF %q, %v", got, err)
		}
	})
}

func TestTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		a, b := e.pair(socket.SOCK_STREAM)
		setopt(b, socket.SO_RCVTIMEO, socket.Timeval{Sec: 1, Usec: 250000}.Bytes())
		start := time.Now()
		_, _, err := recv(b, 10, 0)
		wantErr(t, "recv with SO_RCVTIMEO", err, syscall.EWOULDBLOCK)
		if d := time.Since(start); d != 1250*time.Millisecond {
			t.Fatalf("SO_RCVTIMEO expired after %v", d)
		}
		setopt(a, socket.SO_SNDTIMEO, socket.Timeval{Sec: 2}.Bytes())
		fill(t, a)
		start = time.Now()
		_, err = send(a, []byte("x"), 0)
		wantErr(t, "send with SO_SNDTIMEO", err, syscall.EWOULDBLOCK)
		if d := time.Since(start); d != 2*time.Second {
			t.Fatalf("SO_SNDTIMEO expired after %v", d)
		}
		// A timeout of {0, 0} is forever: the deadline of the context ends it.
		setopt(b, socket.SO_RCVTIMEO, socket.Timeval{}.Bytes())
		drain(t, b)
		ctx, cancel := context.WithTimeout(bg, 30*time.Second)
		defer cancel()
		start = time.Now()
		_, _, err = recvCtx(ctx, b, 10, 0)
		wantErr(t, "recv with a deadline", err, syscall.EWOULDBLOCK)
		if d := time.Since(start); d != 30*time.Second {
			t.Fatalf("deadline after %v", d)
		}
	})
}

func TestContextCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		a, b := e.pair(socket.SOCK_STREAM)
		ctx, cancel := context.WithCancel(bg)
		rch := make(chan error, 1)
		go func() {
			_, _, err := recvCtx(ctx, b, 10, 0)
			rch <- err
		}()
		synctest.Wait()
		cancel()
		wantErr(t, "recv cancelled", <-rch, syscall.EINTR)

		fill(t, a)
		ctx, cancel = context.WithCancel(bg)
		sch := make(chan error, 1)
		go func() {
			_, err := sendCtx(ctx, a, []byte("x"), 0)
			sch <- err
		}()
		synctest.Wait()
		cancel()
		wantErr(t, "send cancelled", <-sch, syscall.EINTR)

		dctx, dcancel := context.WithTimeout(bg, time.Second)
		defer dcancel()
		_, err := sendCtx(dctx, a, []byte("x"), 0)
		wantErr(t, "send past the deadline", err, syscall.EWOULDBLOCK)
		// An already-cancelled context with data ready does not fail.
		drain(t, b)
		send(b, []byte("ok"), 0)
		cctx, ccancel := context.WithCancel(bg)
		ccancel()
		if got, _, err := recvCtx(cctx, a, 10, 0); err != nil || string(got) != "ok" {
			t.Fatalf("recv with data ready and a cancelled context: %q, %v", got, err)
		}
	})
}

func TestPartialWrite(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_STREAM)
	big := bytes.Repeat([]byte("0123456789abcdef"), 200*1024/16)
	u := socket.UioBuf(big)
	err := a.Send(bg, nil, &u, nil, nil, socket.MSG_DONTWAIT)
	wantErr(t, "big non-blocking stream send", err, syscall.EWOULDBLOCK)
	sent := len(big) - u.Resid
	if sent <= 0 || sent >= len(big) {
		t.Fatalf("sent %d of %d: want partial progress", sent, len(big))
	}
	var got []byte
	for {
		d, _, err := recv(b, 1<<20, socket.MSG_DONTWAIT)
		if err != nil {
			break
		}
		got = append(got, d...)
	}
	if !bytes.Equal(got, big[:sent]) {
		t.Fatalf("receiver got %d bytes, want exactly the %d sent", len(got), sent)
	}

	// With SO_SNDTIMEO, a partly done blocking send returns EWOULDBLOCK
	// and the count shows the progress.
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		a, b := e.pair(socket.SOCK_STREAM)
		setopt(a, socket.SO_SNDTIMEO, socket.Timeval{Sec: 1}.Bytes())
		u := socket.UioBuf(big)
		err := a.Send(bg, nil, &u, nil, nil, 0)
		wantErr(t, "blocking send timing out", err, syscall.EWOULDBLOCK)
		if sent := len(big) - u.Resid; sent <= 0 || sent >= len(big) {
			t.Fatalf("sent %d of %d", sent, len(big))
		}
		_ = b
	})

	// An atomic protocol sends all or nothing: too big is EMSGSIZE.
	c, _ := e.pair(socket.SOCK_SEQPACKET)
	hiwat := c.Snd.Hiwat()
	u = socket.UioBuf(make([]byte, hiwat+1))
	err = c.Send(bg, nil, &u, nil, nil, 0)
	wantErr(t, "seqpacket record larger than the send buffer", err, syscall.EMSGSIZE)
	if u.Resid != hiwat+1 {
		t.Fatalf("atomic send moved %d bytes", hiwat+1-u.Resid)
	}
}

func TestBlockingSendCompletes(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_STREAM)
	big := bytes.Repeat([]byte("xyz"), 300*1024)
	done := make(chan error, 1)
	go func() {
		_, err := send(a, big, 0)
		done <- err
	}()
	var got []byte
	for len(got) < len(big) {
		d, _, err := recv(b, 70000, 0)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d...)
	}
	if err := within(t, done, 10*time.Second, "send"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, big) {
		t.Fatal("data differs")
	}
}

func TestZeroCopy(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_STREAM)
	payload := []byte("zero-copy payload")
	top := e.v.Pool.Wrap(mbuf.MT_DATA, payload)
	if err := a.Send(bg, nil, nil, top, nil, 0); err != nil {
		t.Fatalf("send of an mbuf chain: %v", err)
	}
	u := socket.UioLen(100)
	var m *mbuf.Mbuf
	flags := 0
	if err := b.Receive(bg, nil, &u, &m, nil, &flags); err != nil {
		t.Fatal(err)
	}
	if m == nil {
		t.Fatal("no mbuf chain returned in mp0")
	}
	if got := mbuf.Bytes(m); !bytes.Equal(got, payload) {
		t.Fatalf("mp0 chain holds %q", got)
	}
	if u.Resid != 100-len(payload) {
		t.Fatalf("uio counted %d bytes, want %d", 100-u.Resid, len(payload))
	}
	if &m.Data()[0] != &payload[0] {
		t.Error("the data was copied on its way through (zero-copy send + mp0 receive)")
	}
	mbuf.FreeChain(m)

	// A partial mp0 receive takes only what was asked.
	send(a, []byte("0123456789"), 0)
	u = socket.UioLen(4)
	if err := b.Receive(bg, nil, &u, &m, nil, &flags); err != nil {
		t.Fatal(err)
	}
	if got := mbuf.Bytes(m); string(got) != "0123" || u.Resid != 0 {
		t.Fatalf("partial mp0 = %q, resid %d", got, u.Resid)
	}
	mbuf.FreeChain(m)
	if got, _, _ := recv(b, 10, 0); string(got) != "456789" {
		t.Fatalf("rest %q", got)
	}

	// An mbuf chain is atomic: too big for the buffer is EMSGSIZE.
	huge := e.v.Pool.CopyIn(mbuf.MT_DATA, make([]byte, a.Snd.Hiwat()+1), 0)
	wantErr(t, "send of an oversized chain", a.Send(bg, nil, nil, huge, nil, 0), syscall.EMSGSIZE)

	// Datagrams too.
	c, d := e.pair(socket.SOCK_DGRAM)
	if err := c.Send(bg, nil, nil, e.v.Pool.CopyIn(mbuf.MT_DATA, []byte("dgram"), 0), nil, 0); err != nil {
		t.Fatal(err)
	}
	u = socket.UioLen(100)
	if err := d.Receive(bg, nil, &u, &m, nil, &flags); err != nil {
		t.Fatal(err)
	}
	if got := mbuf.Bytes(m); string(got) != "dgram" {
		t.Fatalf("dgram mp0 = %q", got)
	}
}

func TestSoErrorOnce(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_STREAM)
	b.SetError(syscall.ECONNRESET)
	_, _, err := recv(b, 10, socket.MSG_PEEK)
	wantErr(t, "peek with so_error", err, syscall.ECONNRESET)
	_, _, err = recv(b, 10, 0)
	wantErr(t, "recv with so_error", err, syscall.ECONNRESET)
	_, _, err = recv(b, 10, socket.MSG_DONTWAIT)
	wantErr(t, "recv after so_error was consumed", err, syscall.EWOULDBLOCK)
	// Data queued before the error is delivered first.
	send(a, []byte("data"), 0)
	b.SetError(syscall.ETIMEDOUT)
	if got, _, err := recv(b, 10, 0); err != nil || string(got) != "data" {
		t.Fatalf("recv with data and so_error: %q, %v", got, err)
	}
	_, _, err = recv(b, 10, 0)
	wantErr(t, "recv after the data", err, syscall.ETIMEDOUT)
	// so_rerror likewise.
	b.SetRError(syscall.ENOBUFS)
	_, _, err = recv(b, 10, 0)
	wantErr(t, "recv with so_rerror", err, syscall.ENOBUFS)
	// Send returns it once too.
	a.SetError(syscall.EHOSTUNREACH)
	_, err = send(a, []byte("x"), 0)
	wantErr(t, "send with so_error", err, syscall.EHOSTUNREACH)
	if _, err := send(a, []byte("x"), 0); err != nil {
		t.Fatalf("send after so_error was consumed: %v", err)
	}
}

func TestSendReceiveStateErrors(t *testing.T) {
	e := newEnv(t)
	l := e.listener(socket.SOCK_STREAM, "/l", 5)
	_, err := send(l, []byte("x"), 0)
	wantErr(t, "send on a listener", err, syscall.ENOTCONN)
	_, _, err = recv(l, 10, 0)
	wantErr(t, "recv on a listener", err, syscall.ENOTCONN)
	s := e.local(socket.SOCK_STREAM)
	_, err = send(s, []byte("x"), 0)
	wantErr(t, "send on an unconnected stream", err, syscall.ENOTCONN)
	_, err = sendto(s, []byte("x"), socket.SockaddrUnix{Path: "/l"}, 0)
	wantErr(t, "sendto on an unconnected stream (no PR_IMPLOPCL)", err, syscall.ENOTCONN)
	_, _, err = recv(s, 10, 0)
	wantErr(t, "recv on an unconnected stream", err, syscall.ENOTCONN)
	// Unconnected datagram socket without an address.
	td := e.test(socket.SOCK_DGRAM)
	_, err = send(td, []byte("x"), 0)
	wantErr(t, "send on an unconnected dgram socket without address", err, syscall.EDESTADDRREQ)
	// Send after the peer closed: EPIPE.
	a, b := e.pair(socket.SOCK_STREAM)
	b.Close()
	_, err = send(a, []byte("x"), 0)
	wantErr(t, "send to a closed peer", err, syscall.EPIPE)
	// PF_LOCAL out-of-band data is not supported.
	c, d := e.pair(socket.SOCK_STREAM)
	_ = c
	_, _, err = recv(d, 10, socket.MSG_OOB)
	wantErr(t, "MSG_OOB recv on PF_LOCAL", err, syscall.EOPNOTSUPP)
	u := socket.UioBuf([]byte("x"))
	wantErr(t, "negative resid", func() error { u.Resid = -1; return c.Send(bg, nil, &u, nil, nil, 0) }(), syscall.EINVAL)
}

func TestReceiveStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		so := e.test(socket.SOCK_STREAM)
		_, _, err := recv(so, 10, 0)
		wantErr(t, "soreceive_stream, never connected", err, syscall.ENOTCONN)
		a, b := e.tpair(socket.SOCK_STREAM)
		_, _, err = recv(b, 0, 0)
		wantErr(t, "soreceive_stream with uio_resid 0", err, syscall.EINVAL)
		_, _, err = recv(b, 10, socket.MSG_DONTWAIT)
		wantErr(t, "soreceive_stream, empty, MSG_DONTWAIT", err, syscall.EWOULDBLOCK)

		send(a, []byte("abc"), 0)
		b.SetOptInt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, 5)
		ch := make(chan []byte, 1)
		go func() {
			d, _, _ := recv(b, 10, 0)
			ch <- d
		}()
		synctest.Wait()
		if done(ch) {
			t.Fatal("soreceive_stream returned below the low watermark")
		}
		send(a, []byte("de"), 0)
		if d := <-ch; string(d) != "abcde" {
			t.Fatalf("got %q", d)
		}
		// Nonblocking: whatever is there.
		send(a, []byte("xy"), 0)
		if d, _, err := recv(b, 10, socket.MSG_DONTWAIT); err != nil || string(d) != "xy" {
			t.Fatalf("non-blocking below lowat: %q, %v", d, err)
		}
		b.SetOptInt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, 1)
		// MSG_WAITALL.
		go func() {
			d, _, _ := recv(b, 6, socket.MSG_WAITALL)
			ch <- d
		}()
		send(a, []byte("123"), 0)
		synctest.Wait()
		if done(ch) {
			t.Fatal("MSG_WAITALL returned early")
		}
		send(a, []byte("456"), 0)
		if d := <-ch; string(d) != "123456" {
			t.Fatalf("MSG_WAITALL got %q", d)
		}
		// pr_rcvd was called (PR_WANTRCVD).
		e.tp.mu.Lock()
		rcvd := e.tp.rcvd
		e.tp.mu.Unlock()
		if rcvd == 0 {
			t.Fatal("pr_rcvd never called by soreceive_stream")
		}
		// so_error: data first, then the error once.
		send(a, []byte("q"), 0)
		b.SetError(syscall.ECONNRESET)
		if d, _, err := recv(b, 10, 0); err != nil || string(d) != "q" {
			t.Fatalf("data before so_error: %q, %v", d, err)
		}
		_, _, err = recv(b, 10, 0)
		wantErr(t, "so_error", err, syscall.ECONNRESET)
		// EOF.
		a.Shutdown(socket.SHUT_WR)
		if d, _, err := recv(b, 10, 0); err != nil || len(d) != 0 {
			t.Fatalf("EOF: %q, %v", d, err)
		}
		// MSG_PEEK goes the generic way and works.
		c, d := e.tpair(socket.SOCK_STREAM)
		send(c, []byte("peek"), 0)
		if got, _, err := recv(d, 10, socket.MSG_PEEK); err != nil || string(got) != "peek" {
			t.Fatalf("peek: %q, %v", got, err)
		}
		if got, _, err := recv(d, 10, 0); err != nil || string(got) != "peek" {
			t.Fatalf("read after peek: %q, %v", got, err)
		}
	})
}

func TestSendDgram(t *testing.T) {
	e := newEnv(t)
	r := e.test(socket.SOCK_DGRAM)
	r.Bind(taddr("r"))
	s := e.test(socket.SOCK_DGRAM)
	s.Bind(taddr("s"))
	// Larger than the send buffer's space: EMSGSIZE at once.
	_, err := sendto(s, make([]byte, s.Snd.Hiwat()+1), taddr("r"), 0)
	wantErr(t, "sosend_dgram larger than the buffer", err, syscall.EMSGSIZE)
	if n, err := sendto(s, []byte("hi"), taddr("r"), 0); err != nil || n != 2 {
		t.Fatalf("sendto: %d, %v", n, err)
	}
	var from socket.Sockaddr
	buf := make([]byte, 10)
	u := socket.UioBuf(buf)
	f := 0
	if err := r.Receive(bg, &from, &u, nil, nil, &f); err != nil {
		t.Fatal(err)
	}
	if string(buf[:10-u.Resid]) != "hi" || from != taddr("s") {
		t.Fatalf("got %q from %v", buf[:10-u.Resid], from)
	}
	// A full receiver: the protocol's ENOBUFS passes through, no wait.
	for i := 0; ; i++ {
		_, err := sendto(s, make([]byte, 1000), taddr("r"), 0)
		if err != nil {
			wantErr(t, "sendto a full receiver", err, syscall.ENOBUFS)
			break
		}
		if i > 100 {
			t.Fatal("receiver never filled")
		}
	}
	// Zero-length datagrams are records too.
	r2 := e.test(socket.SOCK_DGRAM)
	r2.Bind(taddr("r2"))
	if _, err := sendto(s, nil, taddr("r2"), 0); err != nil {
		t.Fatal(err)
	}
	u = socket.UioBuf(buf)
	if err := r2.Receive(bg, &from, &u, nil, nil, &f); err != nil || u.Resid != len(buf) || from != taddr("s") {
		t.Fatalf("zero-length datagram: resid %d from %v, %v", u.Resid, from, err)
	}
}

func TestImplopclAndMsgEOF(t *testing.T) {
	e := newEnv(t)
	// PR_IMPLOPCL: sendto on an unconnected connection-requiring socket
	// passes the address to the protocol (implied connect).
	so := e.test(socket.SOCK_STREAM)
	if _, err := sendto(so, []byte("syn"), taddr("far"), 0); err != nil {
		t.Fatalf("sendto with PR_IMPLOPCL: %v", err)
	}
	log := e.tp.sendLog()
	if len(log) != 1 || log[0].addr != taddr("far") {
		t.Fatalf("pr_send saw %+v", log)
	}
	_, err := send(so, []byte("x"), 0)
	wantErr(t, "send without address, PR_IMPLOPCL, unconnected", err, syscall.ENOTCONN)

	// MSG_EOF: the last pr_send carries PRUS_EOF; the peer reads then EOF.
	a, b := e.tpair(socket.SOCK_STREAM)
	e.tp.set(func(tp *tproto) { tp.sends = nil })
	if _, err := send(a, []byte("bye"), socket.MSG_EOF); err != nil {
		t.Fatal(err)
	}
	log = e.tp.sendLog()
	if len(log) == 0 || log[len(log)-1].flags&socket.PRUS_EOF == 0 {
		t.Fatalf("pr_send flags %+v, want PRUS_EOF on the last", log)
	}
	if got, _, err := recv(b, 10, 0); err != nil || string(got) != "bye" {
		t.Fatalf("peer read %q, %v", got, err)
	}
	if got, _, err := recv(b, 10, 0); err != nil || len(got) != 0 {
		t.Fatalf("peer read after MSG_EOF %q, %v; want EOF", got, err)
	}
	_, err = send(a, []byte("x"), 0)
	wantErr(t, "send after MSG_EOF", err, syscall.EPIPE)

	// Without PR_IMPLOPCL (PF_LOCAL), MSG_EOF is not PRUS_EOF: no shutdown.
	c, d := e.pair(socket.SOCK_STREAM)
	send(c, []byte("x"), socket.MSG_EOF)
	if _, err := send(c, []byte("y"), 0); err != nil {
		t.Fatalf("send after MSG_EOF on a protocol without PR_IMPLOPCL: %v", err)
	}
	if got, _, _ := recv(d, 10, 0); string(got) != "xy" {
		t.Fatalf("got %q", got)
	}
}

func TestOutOfBand(t *testing.T) {
	e := newEnv(t)
	a, b := e.tpair(socket.SOCK_STREAM)
	_ = a
	_, _, err := recv(b, 10, socket.MSG_OOB)
	wantErr(t, "MSG_OOB with none", err, syscall.EINVAL)
	e.tp.set(func(tp *tproto) { tp.oob = []byte("!") })
	got, _, err := recv(b, 10, socket.MSG_OOB|socket.MSG_PEEK)
	if err != nil || string(got) != "!" {
		t.Fatalf("MSG_OOB|MSG_PEEK: %q, %v", got, err)
	}
	got, _, err = recv(b, 10, socket.MSG_OOB)
	if err != nil || string(got) != "!" {
		t.Fatalf("MSG_OOB: %q, %v", got, err)
	}
	_, _, err = recv(b, 10, socket.MSG_OOB)
	wantErr(t, "MSG_OOB after it was read", err, syscall.EINVAL)

	// The out-of-band mark stops a generic read and shows as POLLPRI.
	c, d := e.pair(socket.SOCK_STREAM)
	send(c, []byte("0123456789"), 0)
	p := socket.NewPoller()
	if d.Poll(socket.POLLPRI|socket.POLLRDBAND, p) != 0 {
		t.Fatal("POLLPRI without a mark")
	}
	d.Rcv.Lock()
	d.SetOOBMarkLocked(4)
	d.Rcv.Unlock()
	d.HasOutOfBand()
	if err := p.Wait(bg, 5*time.Second); err != nil {
		t.Fatalf("sohasoutofband did not wake the poller: %v", err)
	}
	if r := d.Poll(socket.POLLPRI|socket.POLLRDBAND, nil); r != socket.POLLPRI|socket.POLLRDBAND {
		t.Fatalf("poll with a mark = %#x", r)
	}
	var x socket.Xsocket
	d.ToXsocket(&x)
	if x.Oobmark != 4 {
		t.Fatalf("xsocket oobmark %d", x.Oobmark)
	}
	if got, _, _ := recv(d, 100, 0); string(got) != "0123" {
		t.Fatalf("read up to the mark = %q, want 0123", got)
	}
	if r := d.Poll(socket.POLLPRI, nil); r != socket.POLLPRI {
		t.Fatalf("at the mark: poll %#x, want POLLPRI (SBS_RCVATMARK)", r)
	}
	if got, _, _ := recv(d, 100, 0); string(got) != "456789" {
		t.Fatalf("read past the mark = %q", got)
	}
	if r := d.Poll(socket.POLLPRI, nil); r != 0 {
		t.Fatalf("past the mark: poll %#x", r)
	}
}

func TestPoll(t *testing.T) {
	e := newEnv(t)
	const in = socket.POLLIN | socket.POLLRDNORM
	const out = socket.POLLOUT | socket.POLLWRNORM
	all := in | out | socket.POLLPRI | socket.POLLRDHUP
	// Unconnected stream socket: not writable, not readable.
	so := e.local(socket.SOCK_STREAM)
	if r := so.Poll(all, nil); r != 0 {
		t.Errorf("unconnected stream: revents %#x, want 0", r)
	}
	// Unconnected datagram socket: writable (no connection needed).
	dg := e.local(socket.SOCK_DGRAM)
	if r := dg.Poll(all, nil); r != out {
		t.Errorf("unconnected dgram: revents %#x, want POLLOUT|POLLWRNORM", r)
	}
	a, b := e.pair(socket.SOCK_STREAM)
	if r := a.Poll(all, nil); r != out {
		t.Errorf("idle connected: revents %#x, want %#x", r, out)
	}
	if r := a.Poll(socket.POLLIN, nil); r != 0 {
		t.Errorf("idle connected POLLIN: %#x", r)
	}
	send(b, []byte("x"), 0)
	if r := a.Poll(all, nil); r != in|out {
		t.Errorf("data waiting: revents %#x, want %#x", r, in|out)
	}
	if r := a.Poll(socket.POLLRDNORM, nil); r != socket.POLLRDNORM {
		t.Errorf("only the requested bits: %#x", r)
	}
	drain(t, a)
	// Peer shuts its writing side: EOF is readable, POLLRDHUP if asked.
	b.Shutdown(socket.SHUT_WR)
	if r := a.Poll(all, nil); r != in|out|socket.POLLRDHUP {
		t.Errorf("after peer SHUT_WR: revents %#x, want %#x", r, in|out|socket.POLLRDHUP)
	}
	if r := a.Poll(in|socket.POLLINIGNEOF, nil); r != 0 {
		t.Errorf("POLLINIGNEOF at EOF: revents %#x, want 0", r)
	}
	// Both directions shut: POLLHUP, even when not requested.
	a.Shutdown(socket.SHUT_WR)
	if r := a.Poll(socket.POLLIN, nil); r != socket.POLLIN|socket.POLLHUP {
		t.Errorf("both shut: revents %#x, want POLLIN|POLLHUP", r)
	}
	// A pending error makes a socket readable and writable.
	c, _ := e.pair(socket.SOCK_STREAM)
	fill(t, c)
	if r := c.Poll(all, nil); r != 0 {
		t.Errorf("full, no data: revents %#x", r)
	}
	c.SetError(syscall.ECONNRESET)
	if r := c.Poll(in|out, nil); r != in|out {
		t.Errorf("so_error: revents %#x, want %#x", r, in|out)
	}
	// Listener: readable when a connection is complete; never writable.
	l := e.listener(socket.SOCK_STREAM, "/l", 5)
	if r := l.Poll(all, nil); r != 0 {
		t.Errorf("empty listener: revents %#x", r)
	}
	e.local(socket.SOCK_STREAM).Connect(socket.SockaddrUnix{Path: "/l"})
	if r := l.Poll(all, nil); r != in {
		t.Errorf("listener with a connection: revents %#x, want %#x", r, in)
	}
	l.ListenDequeue(bg, 0)
	l.Shutdown(socket.SHUT_RDWR)
	if r := l.Poll(socket.POLLIN, nil); r != socket.POLLIN|socket.POLLHUP {
		t.Errorf("shut listener: revents %#x, want POLLIN|POLLHUP", r)
	}
	if r := l.Poll(socket.POLLIN|socket.POLLINIGNEOF, nil); r != 0 {
		t.Errorf("shut listener with POLLINIGNEOF: revents %#x", r)
	}
	// Low watermark of the send buffer: writable only with that much space.
	d, _ := e.pair(socket.SOCK_STREAM)
	d.SetOptInt(socket.SOL_SOCKET, socket.SO_SNDLOWAT, d.Snd.Hiwat())
	if r := d.Poll(out, nil); r != out {
		t.Errorf("empty send buffer at full lowat: %#x", r)
	}
}

func TestPollerWokenBySend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		a, b := e.pair(socket.SOCK_STREAM)
		p := socket.NewPoller()
		if r := b.Poll(socket.POLLIN, p); r != 0 {
			t.Fatalf("revents %#x", r)
		}
		wantErr(t, "Poller.Wait timeout", p.Wait(bg, time.Second), syscall.EWOULDBLOCK)
		woken := make(chan error, 1)
		go func() { woken <- p.Wait(bg, -1) }()
		synctest.Wait()
		if done(woken) {
			t.Fatal("poller woke with nothing to read")
		}
		send(a, []byte("ping"), 0)
		synctest.Wait()
		select {
		case err := <-woken:
			if err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatal("poller not woken by the send")
		}
		if r := b.Poll(socket.POLLIN, nil); r != socket.POLLIN {
			t.Fatalf("after wakeup: revents %#x", r)
		}
		// One poller, many sockets: writability of a full socket.
		c, d := e.pair(socket.SOCK_STREAM)
		fill(t, c)
		p2 := socket.NewPoller()
		if c.Poll(socket.POLLOUT, p2)|b.Poll(socket.POLLRDHUP, p2) != 0 {
			t.Fatal("ready too early")
		}
		go func() { woken <- p2.Wait(bg, -1) }()
		synctest.Wait()
		drain(t, d)
		synctest.Wait()
		if !done(woken) {
			t.Fatal("poller not woken when space opened")
		}
		if c.Poll(socket.POLLOUT, nil) != socket.POLLOUT {
			t.Fatal("not writable after the drain")
		}
		// A cancelled wait: EINTR.
		p3 := socket.NewPoller()
		ctx, cancel := context.WithCancel(bg)
		cancel()
		wantErr(t, "Poller.Wait cancelled", p3.Wait(ctx, -1), syscall.EINTR)
	})
}

func TestVectorIO(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_STREAM)
	u := socket.UioVec([][]byte{[]byte("ab"), nil, []byte("cde"), []byte("f")})
	if u.Resid != 6 {
		t.Fatalf("UioVec resid %d", u.Resid)
	}
	if err := a.Send(bg, nil, &u, nil, nil, 0); err != nil || u.Resid != 0 {
		t.Fatalf("send: %v, resid %d", err, u.Resid)
	}
	x, y := make([]byte, 1), make([]byte, 4)
	v := socket.UioVec([][]byte{x, y})
	f := 0
	if err := b.Receive(bg, nil, &v, nil, nil, &f); err != nil || v.Resid != 0 {
		t.Fatalf("recv: %v, resid %d", err, v.Resid)
	}
	if got := string(x) + string(y); got != "abcde" {
		t.Fatalf("scattered read %q", got)
	}
	if got, _, _ := recv(b, 10, 0); !slices.Equal(got, []byte("f")) {
		t.Fatalf("rest %q", got)
	}
}

func TestTruncFlagOnlyWhenTruncated(t *testing.T) {
	e := newEnv(t)
	for _, typ := range []int{socket.SOCK_DGRAM, socket.SOCK_SEQPACKET} {
		a, b := e.pair(typ)
		send(a, []byte("fits"), 0)
		got, flags, err := recv(b, 100, socket.MSG_TRUNC)
		if err != nil || string(got) != "fits" || flags&socket.MSG_TRUNC != 0 {
			t.Fatalf("type %d: record that fits, MSG_TRUNC in: %q flags %#x %v", typ, got, flags, err)
		}
	}
	// On a stream, MSG_TRUNC changes nothing.
	a, b := e.pair(socket.SOCK_STREAM)
	send(a, []byte("0123456789"), 0)
	got, flags, err := recv(b, 4, socket.MSG_TRUNC)
	if err != nil || string(got) != "0123" || flags&socket.MSG_TRUNC != 0 {
		t.Fatalf("stream with MSG_TRUNC: %q flags %#x %v", got, flags, err)
	}
}

func TestDgramRcvtimeo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		d := e.local(socket.SOCK_DGRAM)
		d.Bind(socket.SockaddrUnix{Path: "/d"})
		setopt(d, socket.SO_RCVTIMEO, socket.Timeval{Sec: 4}.Bytes())
		start := time.Now()
		_, _, err := recv(d, 10, 0)
		wantErr(t, "dgram recv with SO_RCVTIMEO", err, syscall.EWOULDBLOCK)
		if el := time.Since(start); el != 4*time.Second {
			t.Fatalf("expired after %v", el)
		}
		d.SetError(syscall.ECONNRESET)
		_, _, err = recv(d, 10, 0)
		wantErr(t, "dgram recv with so_error", err, syscall.ECONNRESET)
		_, _, err = recv(d, 10, socket.MSG_DONTWAIT)
		wantErr(t, "dgram recv after so_error", err, syscall.EWOULDBLOCK)
	})
}

func TestPollListenerOnlyReadEvents(t *testing.T) {
	// sopoll_generic on a listener: without POLLIN|POLLRDNORM in events
	// the answer is 0, even after shutdown set so_error.
	e := newEnv(t)
	l := e.listener(socket.SOCK_STREAM, "/l", 5)
	l.Shutdown(socket.SHUT_RDWR)
	for _, ev := range []int{socket.POLLOUT, socket.POLLPRI, socket.POLLOUT | socket.POLLWRNORM | socket.POLLRDBAND} {
		if r := l.Poll(ev, nil); r != 0 {
			t.Errorf("shut listener, events %#x: revents %#x, want 0", ev, r)
		}
	}
	if r := l.Poll(socket.POLLRDNORM, nil); r != socket.POLLRDNORM|socket.POLLHUP {
		t.Errorf("shut listener, POLLRDNORM: revents %#x", r)
	}
}

func TestPollRdhupWithIgnoreEOF(t *testing.T) {
	// sopoll_generic reports POLLRDHUP when the receive side is shut
	// whether or not POLLINIGNEOF is asked; POLLINIGNEOF only hides the
	// POLLIN of end of file (and POLLHUP).
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_STREAM)
	b.Shutdown(socket.SHUT_WR)
	if r := a.Poll(socket.POLLIN|socket.POLLRDHUP|socket.POLLINIGNEOF, nil); r != socket.POLLRDHUP {
		t.Errorf("EOF with POLLIN|POLLRDHUP|POLLINIGNEOF: revents %#x, want POLLRDHUP", r)
	}
}
