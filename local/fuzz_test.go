package local_test

import (
	"encoding/binary"
	"errors"
	"syscall"
	"testing"

	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

// FuzzSendControl sends arbitrary control bytes with a datagram and a
// stream message: the send either succeeds or fails with one of the errnos
// unp_internalize gives; nothing panics and nothing stays in flight.
func FuzzSendControl(f *testing.F) {
	f.Add(socket.AppendCmsg(nil, socket.SOL_SOCKET, socket.SCM_CREDS, nil), false)
	f.Add(socket.AppendCmsg(nil, socket.SOL_SOCKET, socket.SCM_RIGHTS, make([]byte, 4)), true)
	f.Add(socket.AppendCmsg(nil, 6, 1, []byte{1, 2, 3}), false)
	f.Add([]byte{12, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}, false)
	bad := socket.AppendCmsg(nil, socket.SOL_SOCKET, socket.SCM_TIMESTAMP, nil)
	binary.NativeEndian.PutUint32(bad, 1000)
	f.Add(bad, false)
	f.Fuzz(func(t *testing.T, ctl []byte, withRights bool) {
		e := newEnv(t)
		a, b := e.pair(socket.SOCK_DGRAM)
		c, d := e.pair(socket.SOCK_STREAM)
		carried := e.socket(socket.SOCK_STREAM)
		base := e.v.Stats.Sockets.Load()
		for _, so := range []*socket.Socket{a, c} {
			m := e.v.Pool.CopyIn(mbuf.MT_CONTROL, ctl, 0)
			if withRights {
				carried.Hold()
				m.Obj = socket.Rights{carried}
			}
			_, err := sendto(so, []byte("x"), nil, m, 0)
			switch {
			case err == nil,
				errors.Is(err, syscall.EINVAL), errors.Is(err, syscall.EBADF),
				errors.Is(err, syscall.EMSGSIZE), errors.Is(err, syscall.ENOBUFS):
			default:
				t.Fatalf("send with control %x: %v", ctl, err)
			}
		}
		for _, so := range []*socket.Socket{b, d} {
			m, err := recvmsg(so, 16, socket.MSG_DONTWAIT)
			if err == nil {
				e.v.DisposeControl(m.control)
			}
		}
		for _, so := range []*socket.Socket{a, b, c, d} {
			so.Close()
		}
		carried.Close()
		e.d.GC()
		if n := e.d.Inflight(); n != 0 {
			t.Fatalf("%d sockets still in flight", n)
		}
		if n := e.v.Stats.Sockets.Load(); n != base-5 {
			t.Fatalf("%d sockets left, want %d", n, base-5)
		}
	})
}
