package socket_test

import (
	"errors"
	"syscall"
	"testing"

	"github.com/bsdnet/bsdnet/local"
	"github.com/bsdnet/bsdnet/socket"
)

// FuzzSockopt sets and gets arbitrary options with arbitrary values: every
// call returns nil or one of the errnos sosetopt and sogetopt give, and
// nothing panics.
func FuzzSockopt(f *testing.F) {
	f.Add(socket.SOL_SOCKET, socket.SO_RCVBUF, []byte{0, 1, 0, 0})
	f.Add(socket.SOL_SOCKET, socket.SO_LINGER, socket.Linger{Onoff: 1, Linger: -1}.Bytes())
	f.Add(socket.SOL_SOCKET, socket.SO_RCVTIMEO, socket.Timeval{Sec: 1, Usec: 2000000}.Bytes())
	f.Add(socket.SOL_SOCKET, socket.SO_ACCEPTFILTER, socket.AcceptFilterArg("dataready", ""))
	f.Add(local.SOL_LOCAL, local.LOCAL_PEERCRED, []byte{})
	f.Add(socket.SOL_SOCKET, socket.SO_SNDLOWAT, []byte{0xff, 0xff, 0xff, 0xff})
	allowed := []syscall.Errno{syscall.EINVAL, syscall.EDOM, syscall.ENOBUFS, syscall.ENOPROTOOPT,
		syscall.EOPNOTSUPP, syscall.ENOENT, syscall.ENOTCONN}
	ok := func(err error) bool {
		if err == nil {
			return true
		}
		for _, e := range allowed {
			if errors.Is(err, e) {
				return true
			}
		}
		return false
	}
	f.Fuzz(func(t *testing.T, level, name int, val []byte) {
		v := socket.NewVnet()
		defer v.Close()
		local.Attach(v, local.DefaultTunables())
		for _, typ := range []int{socket.SOCK_STREAM, socket.SOCK_DGRAM} {
			so, err := v.Create(socket.PF_LOCAL, typ, 0, socket.RootCred())
			if err != nil {
				t.Fatal(err)
			}
			set := &socket.Sockopt{Level: level, Name: name, Val: val, Valsize: len(val)}
			if err := so.SetOpt(set); !ok(err) {
				t.Fatalf("setsockopt(%#x, %#x, %x): %v", level, name, val, err)
			}
			buf := make([]byte, len(val))
			get := &socket.Sockopt{Level: level, Name: name, Val: buf, Valsize: len(buf)}
			if err := so.GetOpt(get); !ok(err) {
				t.Fatalf("getsockopt(%#x, %#x): %v", level, name, err)
			}
			if get.Valsize > len(buf) {
				t.Fatalf("getsockopt reports %d bytes in a %d-byte buffer", get.Valsize, len(buf))
			}
			so.Close()
		}
	})
}
