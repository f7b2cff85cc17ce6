package local_test

import (
	"encoding/binary"
	"errors"
	"syscall"
	"testing"

	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

// channels are the socket kinds SCM_RIGHTS is carried over.
var rightsChannels = []struct {
	name string
	make func(e *env) (tx, rx *socket.Socket)
}{
	{"stream", func(e *env) (*socket.Socket, *socket.Socket) { return e.pair(socket.SOCK_STREAM) }},
	{"seqpacket", func(e *env) (*socket.Socket, *socket.Socket) { return e.pair(socket.SOCK_SEQPACKET) }},
	{"dgram", func(e *env) (*socket.Socket, *socket.Socket) { return e.pair(socket.SOCK_DGRAM) }},
	{"dgram-sendto", func(e *env) (*socket.Socket, *socket.Socket) {
		rx := e.bound(socket.SOCK_DGRAM, "/rx")
		tx := e.socket(socket.SOCK_DGRAM)
		if err := tx.Connect(un("/rx")); err != nil {
			e.t.Fatal(err)
		}
		return tx, rx
	}},
}

// unix_passfd simple_send_fd / send_and_close: the socket received is the
// socket sent; it works (send through it, read at its peer); the message
// counts in net.local.inflight until received.
func TestPassSocket(t *testing.T) {
	for _, ch := range rightsChannels {
		for _, closeAfterSend := range []bool{false, true} {
			name := ch.name
			if closeAfterSend {
				name += "/close-after-send"
			}
			t.Run(name, func(t *testing.T) {
				e := newEnv(t)
				tx, rx := ch.make(e)
				x, y := e.pair(socket.SOCK_STREAM)
				e.sendRights(tx, x)
				if got := e.d.Inflight(); got != 1 {
					t.Fatalf("inflight after send = %d, want 1", got)
				}
				if got := x.Holders(); got != 2 {
					t.Fatalf("holders of the carried socket = %d, want 2 (ours + the message)", got)
				}
				if closeAfterSend {
					x.Close()
				}
				got := e.recvRights(rx)
				if len(got) != 1 || got[0] != x {
					t.Fatalf("received %v, want the socket sent", got)
				}
				if n := e.d.Inflight(); n != 0 {
					t.Fatalf("inflight after receive = %d", n)
				}
				if _, err := send(got[0], []byte("via passed"), 0); err != nil {
					t.Fatal(err)
				}
				if d, _, err := recv(y, 100, 0); err != nil || string(d) != "via passed" {
					t.Fatalf("peer of the passed socket got %q, %v", d, err)
				}
				got[0].Close()
				if !closeAfterSend {
					if x.Holders() != 1 {
						t.Fatalf("holders = %d, want 1", x.Holders())
					}
					x.Close()
				}
				// The passed socket is closed now: its peer sees EOF.
				if d, _, err := recv(y, 100, 0); err != nil || len(d) != 0 {
					t.Fatalf("peer after the last close = %q, %v; want EOF", d, err)
				}
			})
		}
	}
}

// unix_passfd two_files: several messages, and several sockets in one
// message, arrive in order.
func TestPassSeveral(t *testing.T) {
	e := newEnv(t)
	tx, rx := e.pair(socket.SOCK_STREAM)
	p, _ := e.pair(socket.SOCK_STREAM)
	q, _ := e.pair(socket.SOCK_DGRAM)
	r := e.socket(socket.SOCK_SEQPACKET)
	e.sendRights(tx, p)
	e.sendRights(tx, q, r, p)
	if n := e.d.Inflight(); n != 4 {
		t.Fatalf("inflight = %d, want 4", n)
	}
	got1 := e.recvRights(rx)
	got2 := e.recvRights(rx)
	if len(got1) != 1 || got1[0] != p {
		t.Fatalf("first message carried %v", got1)
	}
	if len(got2) != 3 || got2[0] != q || got2[1] != r || got2[2] != p {
		t.Fatalf("second message carried %v", got2)
	}
	if p.Holders() != 3 {
		t.Fatalf("p holders = %d, want 3", p.Holders())
	}
	for _, so := range append(got1, got2...) {
		so.Close()
	}
}

// A stream reader that asks for less than the whole message still gets
// the rights with the first byte, and the rest of the data afterwards.
func TestPassStreamPartialRead(t *testing.T) {
	e := newEnv(t)
	tx, rx := e.pair(socket.SOCK_STREAM)
	x := e.socket(socket.SOCK_STREAM)
	if _, err := sendto(tx, []byte("payload"), nil, e.v.NewRightsControl(x), 0); err != nil {
		t.Fatal(err)
	}
	m, err := recvmsg(rx, 3, 0)
	if err != nil || string(m.data) != "pay" {
		t.Fatalf("recvmsg = %q, %v", m.data, err)
	}
	r := socket.ControlRights(m.control)
	if len(r) != 1 || r[0] != x {
		t.Fatalf("rights = %v", r)
	}
	m, err = recvmsg(rx, 100, 0)
	if err != nil || string(m.data) != "load" || m.control != nil {
		t.Fatalf("rest = %q control %v, %v", m.data, m.control, err)
	}
	r[0].Close()
}

// unix_passfd send_and_cancel / devfs_orphan: rights queued at a receiver
// that closes without reading are released; the carried socket closes with
// its last holder (its peer sees EOF) and nothing is left over.
func TestPassReceiverClosesUnread(t *testing.T) {
	for _, ch := range rightsChannels {
		t.Run(ch.name, func(t *testing.T) {
			e := newEnv(t)
			base := e.counts()
			tx, rx := ch.make(e)
			x, y := e.pair(socket.SOCK_STREAM)
			e.sendRights(tx, x)
			x.Close()
			if x.Holders() != 1 {
				t.Fatalf("carried socket holders = %d, want 1 (the message)", x.Holders())
			}
			rx.Close()
			if n := e.d.Inflight(); n != 0 {
				t.Fatalf("inflight after the receiver closed = %d", n)
			}
			if x.Holders() != 0 {
				t.Fatalf("carried socket still held: %d", x.Holders())
			}
			if d, _, err := recv(y, 10, socket.MSG_DONTWAIT); err != nil || len(d) != 0 {
				t.Fatalf("peer of the released socket = %q, %v; want EOF", d, err)
			}
			tx.Close()
			y.Close()
			if got := e.counts(); got != base {
				t.Fatalf("counts %+v, want %+v", got, base)
			}
		})
	}
}

// unix_passfd send_and_shutdown: shutdown(SHUT_RD) disposes of the rights
// waiting in the receive buffer at once.
func TestPassShutdownRead(t *testing.T) {
	for _, ch := range rightsChannels {
		t.Run(ch.name, func(t *testing.T) {
			e := newEnv(t)
			tx, rx := ch.make(e)
			x, y := e.pair(socket.SOCK_STREAM)
			vnetBefore := e.v.Stats.Sockets.Load()
			e.sendRights(tx, x)
			x.Close()
			if got := e.v.Stats.Sockets.Load(); got != vnetBefore {
				t.Fatalf("sockets %d, want %d (the message keeps x open)", got, vnetBefore)
			}
			rx.Shutdown(socket.SHUT_RD)
			if n := e.d.Inflight(); n != 0 {
				t.Fatalf("inflight after SHUT_RD = %d", n)
			}
			if got := e.v.Stats.Sockets.Load(); got != vnetBefore-1 {
				t.Fatalf("sockets %d, want %d (x closed)", got, vnetBefore-1)
			}
			if d, _, err := recv(y, 10, socket.MSG_DONTWAIT); err != nil || len(d) != 0 {
				t.Fatalf("peer = %q, %v; want EOF", d, err)
			}
		})
	}
}

// MSG_PEEK never hands out rights (a peek would otherwise duplicate them);
// the real read does, once.
func TestPassPeek(t *testing.T) {
	for _, ch := range rightsChannels {
		t.Run(ch.name, func(t *testing.T) {
			e := newEnv(t)
			tx, rx := ch.make(e)
			x := e.socket(socket.SOCK_STREAM)
			e.sendRights(tx, x)
			for i := 0; i < 2; i++ {
				m, err := recvmsg(rx, 10, socket.MSG_PEEK)
				if err != nil || string(m.data) != "R" {
					t.Fatalf("peek = %q, %v", m.data, err)
				}
				if r := socket.ControlRights(m.control); len(r) != 0 {
					t.Fatalf("peek delivered rights %v", r)
				}
				e.v.DisposeControl(m.control)
				if x.Holders() != 2 || e.d.Inflight() != 1 {
					t.Fatalf("after peek: holders %d inflight %d, want 2, 1", x.Holders(), e.d.Inflight())
				}
			}
			r := e.recvRights(rx)
			if len(r) != 1 || r[0] != x {
				t.Fatalf("read delivered %v", r)
			}
			r[0].Close()
			x.Close()
		})
	}
}

// A receiver that asks for no control: the rights are released, not
// leaked (soreceive frees control when controlp is NULL).
func TestPassNoControlWanted(t *testing.T) {
	for _, ch := range rightsChannels {
		t.Run(ch.name, func(t *testing.T) {
			e := newEnv(t)
			tx, rx := ch.make(e)
			x, y := e.pair(socket.SOCK_STREAM)
			e.sendRights(tx, x)
			x.Close()
			if d, _, err := recv(rx, 10, 0); err != nil || string(d) != "R" {
				t.Fatalf("recv = %q, %v", d, err)
			}
			if e.d.Inflight() != 0 || x.Holders() != 0 {
				t.Fatalf("inflight %d holders %d after a receive without control", e.d.Inflight(), x.Holders())
			}
			if d, _, err := recv(y, 10, socket.MSG_DONTWAIT); err != nil || len(d) != 0 {
				t.Fatalf("peer = %q, %v; want EOF", d, err)
			}
		})
	}
}

// cmsghdr builds one control message with an explicit cmsg_len.
func cmsghdr(clen, level, typ int, data []byte, total int) []byte {
	b := make([]byte, total)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(clen))
	ne.PutUint32(b[4:], uint32(int32(level)))
	ne.PutUint32(b[8:], uint32(int32(typ)))
	copy(b[socket.CmsgHdrLen:], data)
	return b
}

// unp_internalize: malformed control is EINVAL, an SCM_RIGHTS message that
// names no sockets EBADF, more than 254 EMSGSIZE; nothing is sent, and any
// sockets the message held are released.
func TestPassBadControl(t *testing.T) {
	tests := []struct {
		name    string
		control func(e *env, x *socket.Socket) *mbuf.Mbuf
		want    error
	}{
		{"level not SOL_SOCKET", func(e *env, x *socket.Socket) *mbuf.Mbuf {
			return e.v.NewControl(socket.SOL_SOCKET-1, socket.SCM_RIGHTS, make([]byte, 4))
		}, syscall.EINVAL},
		{"level 0 with rights attached", func(e *env, x *socket.Socket) *mbuf.Mbuf {
			m := e.v.NewRightsControl(x)
			binary.NativeEndian.PutUint32(m.Data()[4:], 0)
			return m
		}, syscall.EINVAL},
		{"unknown type", func(e *env, x *socket.Socket) *mbuf.Mbuf {
			return e.v.NewControl(socket.SOL_SOCKET, 99, make([]byte, 4))
		}, syscall.EINVAL},
		{"buffer shorter than a cmsghdr", func(e *env, x *socket.Socket) *mbuf.Mbuf {
			return e.rawControl(make([]byte, 8))
		}, syscall.EINVAL},
		{"cmsg_len = sizeof(cmsghdr) < CMSG_LEN(0)", func(e *env, x *socket.Socket) *mbuf.Mbuf {
			return e.rawControl(cmsghdr(12, socket.SOL_SOCKET, socket.SCM_RIGHTS, nil, socket.CmsgSpace(0)))
		}, syscall.EINVAL},
		{"cmsg_len past the buffer", func(e *env, x *socket.Socket) *mbuf.Mbuf {
			return e.rawControl(cmsghdr(socket.CmsgLen(64), socket.SOL_SOCKET, socket.SCM_RIGHTS, nil, socket.CmsgSpace(4)))
		}, syscall.EINVAL},
		{"valid message then garbage", func(e *env, x *socket.Socket) *mbuf.Mbuf {
			b := socket.AppendCmsg(nil, socket.SOL_SOCKET, socket.SCM_TIMESTAMP, make([]byte, 16))
			b = append(b, 1, 2, 3, 4)
			return e.rawControl(b)
		}, syscall.EINVAL},
		{"SCM_RIGHTS without sockets", func(e *env, x *socket.Socket) *mbuf.Mbuf {
			return e.v.NewControl(socket.SOL_SOCKET, socket.SCM_RIGHTS, make([]byte, 8))
		}, syscall.EBADF},
		{"SCM_RIGHTS count differs from the sockets", func(e *env, x *socket.Socket) *mbuf.Mbuf {
			m := e.v.NewRightsControl(x)
			m2 := e.rawControl(socket.AppendCmsg(nil, socket.SOL_SOCKET, socket.SCM_RIGHTS, make([]byte, 8)))
			m2.Obj = m.Obj
			m.Obj = nil
			mbuf.FreeChain(m)
			return m2
		}, syscall.EBADF},
		{"255 sockets", func(e *env, x *socket.Socket) *mbuf.Mbuf {
			socks := make([]*socket.Socket, 255)
			for i := range socks {
				socks[i] = x
			}
			return e.v.NewRightsControl(socks...)
		}, syscall.EMSGSIZE},
	}
	for _, ch := range rightsChannels {
		for _, tc := range tests {
			t.Run(ch.name+"/"+tc.name, func(t *testing.T) {
				e := newEnv(t)
				tx, rx := ch.make(e)
				x := e.socket(socket.SOCK_STREAM)
				n, err := sendto(tx, []byte("data"), nil, tc.control(e, x), 0)
				if !errors.Is(err, tc.want) {
					t.Fatalf("send = %d, %v; want %v", n, err, tc.want)
				}
				expectNothing(t, rx)
				if x.Holders() != 1 || e.d.Inflight() != 0 {
					t.Fatalf("after the failed send: holders %d inflight %d, want 1, 0", x.Holders(), e.d.Inflight())
				}
				// The channel still works.
				e.sendRights(tx, x)
				r := e.recvRights(rx)
				if len(r) != 1 || r[0] != x {
					t.Fatalf("channel broken after the failure: %v", r)
				}
				r[0].Close()
			})
		}
	}
}

// unix_passfd send_a_lot: 254 sockets, the most one message may carry,
// go through; empty SCM_RIGHTS messages are skipped (empty_rights_message).
func TestPassLimits(t *testing.T) {
	e := newEnv(t)
	tx, rx := e.pair(socket.SOCK_STREAM)
	x := e.socket(socket.SOCK_STREAM)
	socks := make([]*socket.Socket, 254)
	for i := range socks {
		socks[i] = x
	}
	e.sendRights(tx, socks...)
	if n := e.d.Inflight(); n != 254 {
		t.Fatalf("inflight = %d, want 254", n)
	}
	r := e.recvRights(rx)
	if len(r) != 254 {
		t.Fatalf("received %d, want 254", len(r))
	}
	for _, so := range r {
		so.Close()
	}
	if x.Holders() != 1 {
		t.Fatalf("holders = %d", x.Holders())
	}
	// An empty rights message, then a real one, in one buffer.
	b := socket.AppendCmsg(nil, socket.SOL_SOCKET, socket.SCM_RIGHTS, nil)
	empty := e.rawControl(b)
	empty.Next = e.v.NewRightsControl(x)
	if _, err := sendto(tx, nil, nil, empty, 0); err != nil {
		t.Fatalf("send of an empty then a full rights message: %v", err)
	}
	m, err := recvmsg(rx, 10, socket.MSG_DONTWAIT)
	if err != nil {
		t.Fatal(err)
	}
	if r := socket.ControlRights(m.control); len(r) != 1 || r[0] != x {
		t.Fatalf("rights = %v", r)
	} else {
		r[0].Close()
	}
	// Only the empty message: accepted, nothing carried.
	if _, err := sendto(tx, []byte("e"), nil, e.rawControl(b), 0); err != nil {
		t.Fatalf("send of an empty rights message: %v", err)
	}
	m, err = recvmsg(rx, 10, socket.MSG_DONTWAIT)
	if err != nil || string(m.data) != "e" || len(socket.ControlRights(m.control)) != 0 {
		t.Fatalf("recv = %q %v, %v", m.data, m.control, err)
	}
}

// unix_passfd send_overflow: a datagram with rights refused by a full
// receiver (ENOBUFS) releases them: no leak, nothing in flight.
func TestPassSendFailsReleases(t *testing.T) {
	e := newEnv(t)
	e.bound(socket.SOCK_DGRAM, "/full")
	s := e.socket(socket.SOCK_DGRAM)
	fill := make([]byte, 1000)
	for {
		if _, err := sendto(s, fill, un("/full"), nil, 0); err != nil {
			if !errors.Is(err, syscall.ENOBUFS) {
				t.Fatal(err)
			}
			break
		}
	}
	x, y := e.pair(socket.SOCK_STREAM)
	_, err := sendto(s, fill, un("/full"), e.v.NewRightsControl(x), 0)
	if !errors.Is(err, syscall.ENOBUFS) {
		t.Fatalf("send with rights to a full receiver = %v, want ENOBUFS", err)
	}
	if e.d.Inflight() != 0 || x.Holders() != 1 {
		t.Fatalf("after ENOBUFS: inflight %d holders %d, want 0, 1", e.d.Inflight(), x.Holders())
	}
	x.Close()
	if d, _, err := recv(y, 10, socket.MSG_DONTWAIT); err != nil || len(d) != 0 {
		t.Fatalf("x not closed: peer got %q, %v", d, err)
	}
	// Stream to a closed peer: EPIPE, and the rights are released too.
	a, b := e.pair(socket.SOCK_STREAM)
	b.Close()
	z := e.socket(socket.SOCK_STREAM)
	if _, err := sendto(a, []byte("x"), nil, e.v.NewRightsControl(z), 0); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("send with rights to a closed peer = %v, want EPIPE", err)
	}
	if e.d.Inflight() != 0 || z.Holders() != 1 {
		t.Fatalf("after EPIPE: inflight %d holders %d, want 0, 1", e.d.Inflight(), z.Holders())
	}
}

// A listening socket can be passed, and accepts through the received copy.
func TestPassListener(t *testing.T) {
	e := newEnv(t)
	tx, rx := e.pair(socket.SOCK_STREAM)
	l := e.listener(socket.SOCK_STREAM, "/passed", 5)
	e.sendRights(tx, l)
	l.Close()
	r := e.recvRights(rx)
	if len(r) != 1 || r[0] != l || !r[0].Listening() {
		t.Fatalf("received %v", r)
	}
	c := e.socket(socket.SOCK_STREAM)
	wantErr(t, "connect to the passed listener", c.Connect(un("/passed")), nil)
	s := e.accept(r[0])
	send(c, []byte("hi"), 0)
	if d, _, err := recv(s, 10, 0); err != nil || string(d) != "hi" {
		t.Fatalf("recv = %q, %v", d, err)
	}
}
