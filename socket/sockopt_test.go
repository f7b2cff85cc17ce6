package socket_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/bsdnet/bsdnet/socket"
)

// Socket Options: sosetopt, sogetopt, sooptcopyin, sooptcopyout.

func setopt(so *socket.Socket, name int, val []byte) error {
	return so.SetOpt(&socket.Sockopt{Level: socket.SOL_SOCKET, Name: name, Val: val, Valsize: len(val)})
}

func getopt(so *socket.Socket, name, size int) ([]byte, error) {
	b := make([]byte, size)
	sopt := socket.Sockopt{Level: socket.SOL_SOCKET, Name: name, Val: b, Valsize: size}
	err := so.GetOpt(&sopt)
	return b[:sopt.Valsize], err
}

func intBytes(v int) []byte {
	b := make([]byte, 4)
	binary.NativeEndian.PutUint32(b, uint32(int32(v)))
	return b
}

func TestBoolOptions(t *testing.T) {
	e := newEnv(t)
	names := []struct {
		name string
		opt  int
	}{
		{"SO_DEBUG", socket.SO_DEBUG},
		{"SO_REUSEADDR", socket.SO_REUSEADDR},
		{"SO_KEEPALIVE", socket.SO_KEEPALIVE},
		{"SO_DONTROUTE", socket.SO_DONTROUTE},
		{"SO_BROADCAST", socket.SO_BROADCAST},
		{"SO_USELOOPBACK", socket.SO_USELOOPBACK},
		{"SO_OOBINLINE", socket.SO_OOBINLINE},
		{"SO_REUSEPORT", socket.SO_REUSEPORT},
		{"SO_TIMESTAMP", socket.SO_TIMESTAMP},
		{"SO_NOSIGPIPE", socket.SO_NOSIGPIPE},
		{"SO_BINTIME", socket.SO_BINTIME},
		{"SO_NO_OFFLOAD", socket.SO_NO_OFFLOAD},
		{"SO_NO_DDP", socket.SO_NO_DDP},
		{"SO_REUSEPORT_LB", socket.SO_REUSEPORT_LB},
		{"SO_RERROR", socket.SO_RERROR},
	}
	for _, tc := range names {
		t.Run(tc.name, func(t *testing.T) {
			so := e.local(socket.SOCK_STREAM)
			defer so.Close()
			if v, err := so.GetOptInt(socket.SOL_SOCKET, tc.opt); err != nil || v != 0 {
				t.Fatalf("initial get = %d, %v", v, err)
			}
			for _, on := range []int{1, 42, -1} {
				if err := so.SetOptInt(socket.SOL_SOCKET, tc.opt, on); err != nil {
					t.Fatalf("set %d: %v", on, err)
				}
				v, err := so.GetOptInt(socket.SOL_SOCKET, tc.opt)
				if err != nil || v != tc.opt {
					t.Fatalf("after set %d: get = %#x, %v; want the bit %#x", on, v, err, tc.opt)
				}
				if so.Options()&tc.opt == 0 {
					t.Fatalf("so_options %#x lacks the bit", so.Options())
				}
			}
			if err := so.SetOptInt(socket.SOL_SOCKET, tc.opt, 0); err != nil {
				t.Fatal(err)
			}
			if v, _ := so.GetOptInt(socket.SOL_SOCKET, tc.opt); v != 0 {
				t.Fatalf("after clear: %#x", v)
			}
			// A value shorter than an int is EINVAL; a longer one is cut.
			wantErr(t, "set with 2 bytes", setopt(so, tc.opt, []byte{1, 0}), syscall.EINVAL)
			wantErr(t, "set with nothing", setopt(so, tc.opt, nil), syscall.EINVAL)
			if err := setopt(so, tc.opt, append(intBytes(1), 0, 0, 0, 0)); err != nil {
				t.Fatalf("set with 8 bytes: %v", err)
			}
			if v, _ := so.GetOptInt(socket.SOL_SOCKET, tc.opt); v != tc.opt {
				t.Fatalf("after 8-byte set: %#x", v)
			}
		})
	}
}

func TestAcceptconnOption(t *testing.T) {
	e := newEnv(t)
	so := e.local(socket.SOCK_STREAM)
	if v, err := so.GetOptInt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN); err != nil || v != 0 {
		t.Fatalf("SO_ACCEPTCONN = %d, %v", v, err)
	}
	l := e.listener(socket.SOCK_STREAM, "/l", 1)
	if v, err := l.GetOptInt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN); err != nil || v != socket.SO_ACCEPTCONN {
		t.Fatalf("SO_ACCEPTCONN on a listener = %#x, %v", v, err)
	}
	wantErr(t, "set SO_ACCEPTCONN", so.SetOptInt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN, 1), syscall.ENOPROTOOPT)
}

func TestTimeoOptions(t *testing.T) {
	e := newEnv(t)
	for _, name := range []int{socket.SO_SNDTIMEO, socket.SO_RCVTIMEO} {
		so := e.local(socket.SOCK_STREAM)
		tests := []struct {
			tv   socket.Timeval
			want error
			get  socket.Timeval
		}{
			{socket.Timeval{Sec: -1}, syscall.EDOM, socket.Timeval{}},
			{socket.Timeval{Usec: -1}, syscall.EDOM, socket.Timeval{}},
			{socket.Timeval{Usec: 1000000}, syscall.EDOM, socket.Timeval{}},
			{socket.Timeval{Sec: 1, Usec: 500000}, nil, socket.Timeval{Sec: 1, Usec: 500000}},
			{socket.Timeval{Usec: 999999}, nil, socket.Timeval{Usec: 999999}},
			{socket.Timeval{}, nil, socket.Timeval{}},
			{socket.Timeval{Sec: 7}, nil, socket.Timeval{Sec: 7}},
		}
		for _, tc := range tests {
			err := setopt(so, name, tc.tv.Bytes())
			wantErr(t, "set timeval", err, tc.want)
			if err != nil {
				continue
			}
			b, err := getopt(so, name, socket.TimevalLen)
			if err != nil || len(b) != socket.TimevalLen {
				t.Fatalf("get: %d bytes, %v", len(b), err)
			}
			if got := socket.ParseTimeval(b); got != tc.get {
				t.Errorf("option %#x set %+v: got %+v", name, tc.tv, got)
			}
		}
		// A rejected value leaves the old one.
		setopt(so, name, socket.Timeval{Sec: 3}.Bytes())
		setopt(so, name, socket.Timeval{Sec: -5}.Bytes())
		b, _ := getopt(so, name, socket.TimevalLen)
		if got := socket.ParseTimeval(b); got.Sec != 3 {
			t.Errorf("EDOM changed the timeout to %+v", got)
		}
		// A huge tv_sec is forever, not an overflow into the past.
		if err := setopt(so, name, socket.Timeval{Sec: math.MaxInt64 / 2}.Bytes()); err != nil {
			t.Fatal(err)
		}
		b, _ = getopt(so, name, socket.TimevalLen)
		if got := socket.ParseTimeval(b); got.Sec <= math.MaxInt32 {
			t.Errorf("huge timeout reads back as %+v", got)
		}
		wantErr(t, "timeval too short", setopt(so, name, make([]byte, 8)), syscall.EINVAL)
	}
}

func TestLingerOption(t *testing.T) {
	e := newEnv(t)
	so := e.local(socket.SOCK_STREAM)
	for _, tc := range []struct {
		l    socket.Linger
		want error
	}{
		{socket.Linger{Onoff: 1, Linger: -1}, syscall.EDOM},
		{socket.Linger{Onoff: 1, Linger: math.MaxUint16 + 1}, syscall.EDOM},
		{socket.Linger{Onoff: 1, Linger: math.MaxInt32}, syscall.EDOM},
		{socket.Linger{Onoff: 1, Linger: 10}, nil},
		{socket.Linger{Onoff: 1, Linger: math.MaxUint16}, nil},
		{socket.Linger{Onoff: 0, Linger: 3}, nil},
	} {
		err := setopt(so, socket.SO_LINGER, tc.l.Bytes())
		wantErr(t, "set SO_LINGER", err, tc.want)
		if err != nil {
			continue
		}
		b, err := getopt(so, socket.SO_LINGER, socket.LingerLen)
		if err != nil {
			t.Fatal(err)
		}
		got := socket.ParseLinger(b)
		wantOn := int32(0)
		if tc.l.Onoff != 0 {
			wantOn = socket.SO_LINGER // the bit, not 1
		}
		if got.Onoff != wantOn || got.Linger != tc.l.Linger {
			t.Errorf("set %+v: got %+v, want {%#x %d}", tc.l, got, wantOn, tc.l.Linger)
		}
	}
	wantErr(t, "SO_LINGER too short", setopt(so, socket.SO_LINGER, make([]byte, 4)), syscall.EINVAL)
}

func TestBufferOptions(t *testing.T) {
	e := newEnv(t)
	// sb_max_adj = sb_max * MCLBYTES / (MSIZE + MCLBYTES).
	maxAdj := socket.SB_MAX * 2048 / (256 + 2048)
	for _, tc := range []struct {
		name string
		opt  int
	}{{"SO_SNDBUF", socket.SO_SNDBUF}, {"SO_RCVBUF", socket.SO_RCVBUF}} {
		t.Run(tc.name, func(t *testing.T) {
			so := e.local(socket.SOCK_STREAM)
			for _, c := range []struct {
				v    int
				want error
			}{
				{0, syscall.EINVAL},
				{-1, syscall.EINVAL},
				{maxAdj + 1, syscall.ENOBUFS},
				{math.MaxInt32, syscall.ENOBUFS},
				{1, nil},
				{12345, nil},
				{maxAdj, nil},
			} {
				err := so.SetOptInt(socket.SOL_SOCKET, tc.opt, c.v)
				wantErr(t, "set", err, c.want)
				if err == nil {
					// Read back exactly as set (no Linux-style doubling).
					if v, _ := so.GetOptInt(socket.SOL_SOCKET, tc.opt); v != c.v {
						t.Errorf("set %d, got %d", c.v, v)
					}
				}
			}
			// The stack's limit moves sb_max_adj.
			if err := e.v.SetSbMax(64 * 1024); err != nil {
				t.Fatal(err)
			}
			defer e.v.SetSbMax(socket.SB_MAX)
			adj := 64 * 1024 * 2048 / (256 + 2048)
			wantErr(t, "beyond the lowered sb_max", so.SetOptInt(socket.SOL_SOCKET, tc.opt, adj+1), syscall.ENOBUFS)
			wantErr(t, "at the lowered sb_max", so.SetOptInt(socket.SOL_SOCKET, tc.opt, adj), nil)
			wantErr(t, "SetSbMax too small", e.v.SetSbMax(100), syscall.EINVAL)
		})
	}
}

func TestLowatOptions(t *testing.T) {
	e := newEnv(t)
	so := e.local(socket.SOCK_STREAM)
	// Defaults from soreserve: rcv 1, snd MCLBYTES.
	if v, _ := so.GetOptInt(socket.SOL_SOCKET, socket.SO_RCVLOWAT); v != 1 {
		t.Errorf("default SO_RCVLOWAT %d, want 1", v)
	}
	if v, _ := so.GetOptInt(socket.SOL_SOCKET, socket.SO_SNDLOWAT); v != 2048 {
		t.Errorf("default SO_SNDLOWAT %d, want 2048", v)
	}
	for _, c := range []struct {
		buf, lowat int
		bufopt     int
		lowopt     int
	}{
		{4096, 100, socket.SO_RCVBUF, socket.SO_RCVLOWAT},
		{4096, 100, socket.SO_SNDBUF, socket.SO_SNDLOWAT},
	} {
		so.SetOptInt(socket.SOL_SOCKET, c.bufopt, c.buf)
		wantErr(t, "lowat 0", so.SetOptInt(socket.SOL_SOCKET, c.lowopt, 0), syscall.EINVAL)
		wantErr(t, "lowat -3", so.SetOptInt(socket.SOL_SOCKET, c.lowopt, -3), syscall.EINVAL)
		if err := so.SetOptInt(socket.SOL_SOCKET, c.lowopt, c.lowat); err != nil {
			t.Fatal(err)
		}
		if v, _ := so.GetOptInt(socket.SOL_SOCKET, c.lowopt); v != c.lowat {
			t.Errorf("lowat %d, want %d", v, c.lowat)
		}
		// Clamped to the buffer size.
		if err := so.SetOptInt(socket.SOL_SOCKET, c.lowopt, 10*c.buf); err != nil {
			t.Fatal(err)
		}
		if v, _ := so.GetOptInt(socket.SOL_SOCKET, c.lowopt); v != c.buf {
			t.Errorf("lowat past the buffer: %d, want %d", v, c.buf)
		}
		// Shrinking the buffer clamps it too.
		so.SetOptInt(socket.SOL_SOCKET, c.bufopt, 1000)
		if v, _ := so.GetOptInt(socket.SOL_SOCKET, c.lowopt); v != 1000 {
			t.Errorf("lowat after shrinking the buffer: %d, want 1000", v)
		}
	}
}

func TestErrorOption(t *testing.T) {
	e := newEnv(t)
	so := e.local(socket.SOCK_STREAM)
	if v, err := so.GetOptInt(socket.SOL_SOCKET, socket.SO_ERROR); err != nil || v != 0 {
		t.Fatalf("SO_ERROR = %d, %v", v, err)
	}
	so.SetError(syscall.ECONNRESET)
	so.SetRError(syscall.ENOBUFS)
	if v, _ := so.GetOptInt(socket.SOL_SOCKET, socket.SO_ERROR); syscall.Errno(v) != syscall.ECONNRESET {
		t.Fatalf("SO_ERROR = %d, want ECONNRESET", v)
	}
	// Consumed: next the receive error, then nothing.
	if v, _ := so.GetOptInt(socket.SOL_SOCKET, socket.SO_ERROR); syscall.Errno(v) != syscall.ENOBUFS {
		t.Fatalf("second SO_ERROR = %d, want so_rerror ENOBUFS", v)
	}
	if v, _ := so.GetOptInt(socket.SOL_SOCKET, socket.SO_ERROR); v != 0 {
		t.Fatalf("third SO_ERROR = %d, want 0", v)
	}
	if so.Error() != 0 {
		t.Fatal("so_error still set")
	}
	wantErr(t, "set SO_ERROR", so.SetOptInt(socket.SOL_SOCKET, socket.SO_ERROR, 1), syscall.ENOPROTOOPT)
}

func TestIdentityOptions(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		dom, typ, proto int
		wantProto       int
	}{
		{socket.PF_LOCAL, socket.SOCK_STREAM, 0, 0},
		{socket.PF_LOCAL, socket.SOCK_DGRAM, 0, 0},
		{socket.PF_LOCAL, socket.SOCK_SEQPACKET, 0, 0},
		{testFamily, socket.SOCK_STREAM, 0, tprotoStream},
		{testFamily, socket.SOCK_DGRAM, tprotoDgram, tprotoDgram},
	} {
		so, err := e.v.Create(tc.dom, tc.typ, tc.proto, testCred)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range []struct {
			opt, want int
		}{
			{socket.SO_TYPE, tc.typ},
			{socket.SO_DOMAIN, tc.dom},
			{socket.SO_PROTOCOL, tc.wantProto},
			{socket.SO_PROTOTYPE, tc.wantProto},
		} {
			if v, err := so.GetOptInt(socket.SOL_SOCKET, g.opt); err != nil || v != g.want {
				t.Errorf("dom %d type %d: option %#x = %d, %v; want %d", tc.dom, tc.typ, g.opt, v, err, g.want)
			}
			wantErr(t, "set a get-only option", so.SetOptInt(socket.SOL_SOCKET, g.opt, 1), syscall.ENOPROTOOPT)
		}
		so.Close()
	}
}

func TestMiscOptions(t *testing.T) {
	e := newEnv(t)
	so := e.local(socket.SOCK_STREAM)
	// SO_SETFIB: [0, rt_numfibs) with one fib; set-only.
	wantErr(t, "SO_SETFIB 0", so.SetOptInt(socket.SOL_SOCKET, socket.SO_SETFIB, 0), nil)
	wantErr(t, "SO_SETFIB 1", so.SetOptInt(socket.SOL_SOCKET, socket.SO_SETFIB, 1), syscall.EINVAL)
	wantErr(t, "SO_SETFIB -1", so.SetOptInt(socket.SOL_SOCKET, socket.SO_SETFIB, -1), syscall.EINVAL)
	_, err := so.GetOptInt(socket.SOL_SOCKET, socket.SO_SETFIB)
	wantErr(t, "get SO_SETFIB", err, syscall.ENOPROTOOPT)
	// SO_USER_COOKIE: set-only.
	wantErr(t, "SO_USER_COOKIE", so.SetOptInt(socket.SOL_SOCKET, socket.SO_USER_COOKIE, 77), nil)
	_, err = so.GetOptInt(socket.SOL_SOCKET, socket.SO_USER_COOKIE)
	wantErr(t, "get SO_USER_COOKIE", err, syscall.ENOPROTOOPT)
	// SO_TS_CLOCK: 0..SO_TS_CLOCK_MAX.
	for v := 0; v <= socket.SO_TS_CLOCK_MAX; v++ {
		wantErr(t, "SO_TS_CLOCK", so.SetOptInt(socket.SOL_SOCKET, socket.SO_TS_CLOCK, v), nil)
		if got, _ := so.GetOptInt(socket.SOL_SOCKET, socket.SO_TS_CLOCK); got != v {
			t.Errorf("SO_TS_CLOCK = %d, want %d", got, v)
		}
	}
	wantErr(t, "SO_TS_CLOCK past max", so.SetOptInt(socket.SOL_SOCKET, socket.SO_TS_CLOCK, socket.SO_TS_CLOCK_MAX+1), syscall.EINVAL)
	wantErr(t, "SO_TS_CLOCK -1", so.SetOptInt(socket.SOL_SOCKET, socket.SO_TS_CLOCK, -1), syscall.EINVAL)
	// SO_MAX_PACING_RATE.
	wantErr(t, "SO_MAX_PACING_RATE", so.SetOptInt(socket.SOL_SOCKET, socket.SO_MAX_PACING_RATE, 1<<20), nil)
	if v, _ := so.GetOptInt(socket.SOL_SOCKET, socket.SO_MAX_PACING_RATE); v != 1<<20 {
		t.Errorf("SO_MAX_PACING_RATE = %d", v)
	}
	// MAC labels: not supported.
	wantErr(t, "set SO_LABEL", setopt(so, socket.SO_LABEL, make([]byte, 16)), syscall.EOPNOTSUPP)
	_, err = getopt(so, socket.SO_LABEL, 16)
	wantErr(t, "get SO_LABEL", err, syscall.EOPNOTSUPP)
	_, err = getopt(so, socket.SO_PEERLABEL, 16)
	wantErr(t, "get SO_PEERLABEL", err, syscall.EOPNOTSUPP)
	// Queue introspection is get-only and 0 when not listening.
	for _, o := range []int{socket.SO_LISTENQLIMIT, socket.SO_LISTENQLEN, socket.SO_LISTENINCQLEN} {
		if v, err := so.GetOptInt(socket.SOL_SOCKET, o); err != nil || v != 0 {
			t.Errorf("option %#x on a non-listener: %d, %v", o, v, err)
		}
		wantErr(t, "set queue option", so.SetOptInt(socket.SOL_SOCKET, o, 1), syscall.ENOPROTOOPT)
	}
	// Unknown options.
	for _, o := range []int{0x7777, 0x1100, 0} {
		wantErr(t, "set unknown option", so.SetOptInt(socket.SOL_SOCKET, o, 1), syscall.ENOPROTOOPT)
		_, err := so.GetOptInt(socket.SOL_SOCKET, o)
		wantErr(t, "get unknown option", err, syscall.ENOPROTOOPT)
	}
}

func TestOptCopyInOut(t *testing.T) {
	// sooptcopyin: short -> EINVAL; long -> cut to the buffer.
	for _, tc := range []struct {
		val      []byte
		valsize  int
		buf      int
		minlen   int
		want     error
		wantSize int
	}{
		{[]byte{1, 2}, 2, 4, 4, syscall.EINVAL, 2},
		{[]byte{1, 2, 3, 4}, 3, 4, 4, syscall.EINVAL, 3},
		{[]byte{1, 2, 3, 4}, 4, 4, 4, nil, 4},
		{[]byte{1, 2, 3, 4, 5, 6}, 6, 4, 4, nil, 4},
		{[]byte{1, 2}, 2, 4, 1, nil, 2},
		{nil, 0, 4, 0, nil, 0},
	} {
		sopt := socket.Sockopt{Val: tc.val, Valsize: tc.valsize}
		buf := make([]byte, tc.buf)
		err := sopt.OptCopyIn(buf, tc.minlen)
		wantErr(t, "OptCopyIn", err, tc.want)
		if sopt.Valsize != tc.wantSize {
			t.Errorf("OptCopyIn(%v, buf %d, min %d): Valsize %d, want %d", tc.val, tc.buf, tc.minlen, sopt.Valsize, tc.wantSize)
		}
		if err == nil {
			n := min(tc.wantSize, tc.buf)
			if !slices.Equal(buf[:n], tc.val[:n]) {
				t.Errorf("OptCopyIn copied %v", buf)
			}
		}
	}
	// sooptcopyout: copies min(len, valsize), sets valsize; nil Val copies nothing.
	src := []byte{9, 8, 7, 6, 5, 4, 3, 2}
	for _, tc := range []struct {
		valsize, vallen int
		nilVal          bool
		wantSize        int
	}{
		{8, 8, false, 8},
		{16, 16, false, 8},
		{4, 4, false, 4},
		{0, 0, false, 0},
		{4, 0, true, 4},
	} {
		var val []byte
		if !tc.nilVal {
			val = make([]byte, tc.vallen)
		}
		sopt := socket.Sockopt{Val: val, Valsize: tc.valsize}
		if err := sopt.OptCopyOut(src); err != nil {
			t.Fatal(err)
		}
		if sopt.Valsize != tc.wantSize {
			t.Errorf("OptCopyOut valsize %d: Valsize %d, want %d", tc.valsize, sopt.Valsize, tc.wantSize)
		}
		if !tc.nilVal && !slices.Equal(val[:sopt.Valsize], src[:sopt.Valsize]) {
			t.Errorf("OptCopyOut copied %v", val)
		}
	}
	// Through GetOpt: a short buffer is filled as far as it goes.
	e := newEnv(t)
	so := e.local(socket.SOCK_STREAM)
	setopt(so, socket.SO_RCVTIMEO, socket.Timeval{Sec: 0x0102, Usec: 5}.Bytes())
	b, err := getopt(so, socket.SO_RCVTIMEO, 4)
	if err != nil || len(b) != 4 {
		t.Fatalf("short get: %d bytes, %v", len(b), err)
	}
	if binary.NativeEndian.Uint32(b) != 0x0102 {
		t.Errorf("short get copied %v", b)
	}
	b, err = getopt(so, socket.SO_RCVTIMEO, 64)
	if err != nil || len(b) != socket.TimevalLen {
		t.Fatalf("long get: Valsize %d, %v; want %d", len(b), err, socket.TimevalLen)
	}
	b, err = getopt(so, socket.SO_TYPE, 64)
	if err != nil || len(b) != socket.IntLen {
		t.Fatalf("SO_TYPE with a big buffer: Valsize %d, %v", len(b), err)
	}
}

func TestOtherLevelsGoToProtocol(t *testing.T) {
	e := newEnv(t)
	so := e.test(socket.SOCK_STREAM)
	if err := so.SetOptInt(77, 1, 4242); err != nil {
		t.Fatalf("protocol-level set: %v", err)
	}
	if v, err := so.GetOptInt(77, 1); err != nil || v != 4242 {
		t.Fatalf("protocol-level get: %d, %v", v, err)
	}
	wantErr(t, "unknown protocol option", so.SetOptInt(77, 2, 1), syscall.ENOPROTOOPT)
	_, err := so.GetOptInt(6, 1)
	wantErr(t, "unknown level get", err, syscall.ENOPROTOOPT)

	// A successful SOL_SOCKET set is shown to the protocol; a failed one
	// and a get are not.
	e.tp.set(func(tp *tproto) { tp.ctl = nil })
	so.SetOptInt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
	so.SetOptInt(socket.SOL_SOCKET, socket.SO_SNDBUF, -1)
	so.GetOptInt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
	e.tp.mu.Lock()
	got := slices.Clone(e.tp.ctl)
	e.tp.mu.Unlock()
	want := []ctlRec{{socket.SOPT_SET, socket.SOL_SOCKET, socket.SO_KEEPALIVE}}
	if !slices.Equal(got, want) {
		t.Fatalf("pr_ctloutput saw %+v, want %+v", got, want)
	}

	// PF_LOCAL: level SOL_LOCAL (0) is the protocol's.
	l := e.local(socket.SOCK_STREAM)
	if err := l.SetOptInt(0, 2 /* LOCAL_CREDS */, 1); err != nil {
		t.Fatalf("LOCAL_CREDS: %v", err)
	}
	if v, err := l.GetOptInt(0, 2); err != nil || v != 1 {
		t.Fatalf("get LOCAL_CREDS: %d, %v", v, err)
	}
	_, err = l.GetOptInt(0, 1 /* LOCAL_PEERCRED */)
	wantErr(t, "LOCAL_PEERCRED unconnected", err, syscall.ENOTCONN)
}

func TestListenerOptionsInherited(t *testing.T) {
	e := newEnv(t)
	l := e.listener(socket.SOCK_STREAM, "/l", 5)
	l.SetOptInt(socket.SOL_SOCKET, socket.SO_RCVBUF, 12345)
	l.SetOptInt(socket.SOL_SOCKET, socket.SO_SNDBUF, 23456)
	l.SetOptInt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, 10)
	l.SetOptInt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
	l.SetOptInt(socket.SOL_SOCKET, socket.SO_NOSIGPIPE, 1)
	l.SetOptInt(socket.SOL_SOCKET, socket.SO_DEBUG, 1) // not inherited
	setopt(l, socket.SO_RCVTIMEO, socket.Timeval{Sec: 2}.Bytes())
	setopt(l, socket.SO_LINGER, socket.Linger{Onoff: 1, Linger: 9}.Bytes())
	c := e.local(socket.SOCK_STREAM)
	if err := c.Connect(socket.SockaddrUnix{Path: "/l"}); err != nil {
		t.Fatal(err)
	}
	s, err := l.ListenDequeue(bg, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []struct {
		opt, want int
	}{
		{socket.SO_RCVBUF, 12345},
		{socket.SO_SNDBUF, 23456},
		{socket.SO_RCVLOWAT, 10},
		{socket.SO_KEEPALIVE, socket.SO_KEEPALIVE},
		{socket.SO_NOSIGPIPE, socket.SO_NOSIGPIPE},
		{socket.SO_DEBUG, 0},
		{socket.SO_ACCEPTCONN, 0},
	} {
		if v, _ := s.GetOptInt(socket.SOL_SOCKET, g.opt); v != g.want {
			t.Errorf("accepted socket option %#x = %d, want %d", g.opt, v, g.want)
		}
	}
	b, _ := getopt(s, socket.SO_RCVTIMEO, socket.TimevalLen)
	if tv := socket.ParseTimeval(b); tv.Sec != 2 {
		t.Errorf("SO_RCVTIMEO not inherited: %+v", tv)
	}
	b, _ = getopt(s, socket.SO_LINGER, socket.LingerLen)
	if l := socket.ParseLinger(b); l.Onoff != socket.SO_LINGER || l.Linger != 9 {
		t.Errorf("SO_LINGER not inherited: %+v", l)
	}
}

func TestAcceptFilterOption(t *testing.T) {
	e := newEnv(t)
	arg := socket.AcceptFilterArg("dataready", "")
	so := e.local(socket.SOCK_STREAM)
	wantErr(t, "set on a non-listener", setopt(so, socket.SO_ACCEPTFILTER, arg), syscall.EINVAL)
	_, err := getopt(so, socket.SO_ACCEPTFILTER, socket.AcceptFilterArgLen)
	wantErr(t, "get on a non-listener", err, syscall.EINVAL)
	wantErr(t, "remove on a non-listener", setopt(so, socket.SO_ACCEPTFILTER, nil), syscall.EINVAL)

	l := e.listener(socket.SOCK_STREAM, "/l", 5)
	_, err = getopt(l, socket.SO_ACCEPTFILTER, socket.AcceptFilterArgLen)
	wantErr(t, "get with no filter", err, syscall.EINVAL)
	wantErr(t, "unknown filter", setopt(l, socket.SO_ACCEPTFILTER, socket.AcceptFilterArg("dnsready", "")), syscall.ENOENT)
	wantErr(t, "short argument", setopt(l, socket.SO_ACCEPTFILTER, arg[:100]), syscall.EINVAL)
	wantErr(t, "remove with none set", setopt(l, socket.SO_ACCEPTFILTER, nil), nil)
	if err := setopt(l, socket.SO_ACCEPTFILTER, socket.AcceptFilterArg("dataready", "x")); err != nil {
		t.Fatalf("set dataready: %v", err)
	}
	b, err := getopt(l, socket.SO_ACCEPTFILTER, socket.AcceptFilterArgLen)
	if err != nil || len(b) != socket.AcceptFilterArgLen || string(b[:9]) != "dataready" || b[9] != 0 || b[16] != 'x' {
		t.Fatalf("get filter: %q, %v", b, err)
	}
	err = setopt(l, socket.SO_ACCEPTFILTER, arg)
	if !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.EBUSY) {
		t.Fatalf("second filter: %v, want EINVAL (14) or EBUSY (15)", err)
	}
}

func TestAcceptFilterDataready(t *testing.T) {
	e := newEnv(t)
	l := e.listener(socket.SOCK_STREAM, "/l", 5)
	if err := setopt(l, socket.SO_ACCEPTFILTER, socket.AcceptFilterArg("dataready", "")); err != nil {
		t.Fatal(err)
	}
	c := e.local(socket.SOCK_STREAM)
	if err := c.Connect(socket.SockaddrUnix{Path: "/l"}); err != nil {
		t.Fatal(err)
	}
	if c.State()&socket.SS_ISCONNECTED == 0 {
		t.Fatal("client not connected")
	}
	// Not acceptable until data arrives.
	_, err := l.ListenDequeue(bg, socket.MSG_DONTWAIT)
	wantErr(t, "accept before data", err, syscall.EWOULDBLOCK)
	if qlen, incqlen, _ := l.ListenQueue(); qlen != 0 || incqlen != 1 {
		t.Fatalf("queue %d/%d, want 0 complete, 1 incomplete", qlen, incqlen)
	}
	if v, _ := l.GetOptInt(socket.SOL_SOCKET, socket.SO_LISTENINCQLEN); v != 1 {
		t.Fatalf("SO_LISTENINCQLEN = %d", v)
	}
	if l.Poll(socket.POLLIN, nil) != 0 {
		t.Fatal("listener readable before the filter passed the connection")
	}
	p := socket.NewPoller()
	l.Poll(socket.POLLIN, p)
	if _, err := send(c, []byte("GET /"), 0); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(bg, 5*time.Second); err != nil {
		t.Fatalf("poller not woken when the filter passed the connection: %v", err)
	}
	if qlen, incqlen, _ := l.ListenQueue(); qlen != 1 || incqlen != 0 {
		t.Fatalf("queue %d/%d after data, want 1/0", qlen, incqlen)
	}
	s, err := l.ListenDequeue(bg, socket.MSG_DONTWAIT)
	if err != nil {
		t.Fatalf("accept after data: %v", err)
	}
	if got, _, err := recv(s, 100, 0); err != nil || string(got) != "GET /" {
		t.Fatalf("accepted socket read %q, %v", got, err)
	}
	// A connection closed before sending is passed on too (EOF is ready).
	c2 := e.local(socket.SOCK_STREAM)
	c2.Connect(socket.SockaddrUnix{Path: "/l"})
	c2.Shutdown(socket.SHUT_WR)
	if _, err := l.ListenDequeue(bg, socket.MSG_DONTWAIT); err != nil {
		t.Fatalf("accept of a connection at EOF: %v", err)
	}
}

func TestAcceptFilterRemovalMovesPending(t *testing.T) {
	e := newEnv(t)
	l := e.listener(socket.SOCK_STREAM, "/l", 5)
	setopt(l, socket.SO_ACCEPTFILTER, socket.AcceptFilterArg("dataready", ""))
	for i := 0; i < 2; i++ {
		c := e.local(socket.SOCK_STREAM)
		if err := c.Connect(socket.SockaddrUnix{Path: "/l"}); err != nil {
			t.Fatal(err)
		}
	}
	if qlen, incqlen, _ := l.ListenQueue(); qlen != 0 || incqlen != 2 {
		t.Fatalf("queue %d/%d", qlen, incqlen)
	}
	if err := setopt(l, socket.SO_ACCEPTFILTER, nil); err != nil {
		t.Fatalf("remove filter: %v", err)
	}
	if qlen, incqlen, _ := l.ListenQueue(); qlen != 2 || incqlen != 0 {
		t.Fatalf("queue %d/%d after removing the filter, want 2/0", qlen, incqlen)
	}
	if l.Options()&socket.SO_ACCEPTFILTER != 0 {
		t.Fatal("listener still has SO_ACCEPTFILTER")
	}
	_, err := getopt(l, socket.SO_ACCEPTFILTER, socket.AcceptFilterArgLen)
	wantErr(t, "get after removal", err, syscall.EINVAL)
	for i := 0; i < 2; i++ {
		s, err := l.ListenDequeue(bg, socket.MSG_DONTWAIT)
		if err != nil {
			t.Fatal(err)
		}
		if s.Options()&socket.SO_ACCEPTFILTER != 0 {
			t.Error("accepted socket still marked SO_ACCEPTFILTER")
		}
	}
	// New connections are not filtered any more.
	c := e.local(socket.SOCK_STREAM)
	c.Connect(socket.SockaddrUnix{Path: "/l"})
	if _, err := l.ListenDequeue(bg, socket.MSG_DONTWAIT); err != nil {
		t.Fatalf("accept after the filter was removed: %v", err)
	}
}

func TestAcceptFilterCustom(t *testing.T) {
	e := newEnv(t)
	f := &socket.AcceptFilter{
		Name: "bigready",
		Upcall: func(so *socket.Socket, arg any, _ int) int {
			if so.Rcv.AvailLocked() >= 4 {
				return socket.SU_ISCONNECTED
			}
			return socket.SU_OK
		},
		Create: func(_ *socket.Socket, arg string) (any, error) {
			if arg == "bad" {
				return nil, syscall.EINVAL
			}
			return nil, nil
		},
	}
	if err := e.v.AddAcceptFilter(f); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "register twice", e.v.AddAcceptFilter(f), syscall.EEXIST)
	l := e.listener(socket.SOCK_STREAM, "/l", 5)
	wantErr(t, "accf_create fails", setopt(l, socket.SO_ACCEPTFILTER, socket.AcceptFilterArg("bigready", "bad")), syscall.EINVAL)
	if err := setopt(l, socket.SO_ACCEPTFILTER, socket.AcceptFilterArg("bigready", "")); err != nil {
		t.Fatal(err)
	}
	c := e.local(socket.SOCK_STREAM)
	c.Connect(socket.SockaddrUnix{Path: "/l"})
	send(c, []byte("ab"), 0)
	if _, err := l.ListenDequeue(bg, socket.MSG_DONTWAIT); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Fatalf("accept with 2 of 4 bytes: %v", err)
	}
	send(c, []byte("cd"), 0)
	s, err := l.ListenDequeue(bg, socket.MSG_DONTWAIT)
	if err != nil {
		t.Fatalf("accept with 4 bytes: %v", err)
	}
	if got, _, _ := recv(s, 10, 0); string(got) != "abcd" {
		t.Fatalf("read %q", got)
	}
}

func TestAcceptFilterHTTPReady(t *testing.T) {
	tests := []struct {
		name  string
		parts []string // sent one after another; ready only after the last
	}{
		{"HTTP/1.1 GET waits for the blank line", []string{"GET / HTTP/1.1\r\nHost: a\r\n", "\r\n"}},
		{"HEAD split mid-method", []string{"HE", "AD / HTTP/1.0\r\n", "\r\n"}},
		{"HTTP/0.9 is ready after the request line", []string{"GET /", "x\r\n"}},
		{"POST is ready at once", []string{"POST / HTTP/1.1\r\n"}},
		{"not HTTP is ready at once", []string{"hello"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			path := fmt.Sprintf("/h%d", i)
			l := e.listener(socket.SOCK_STREAM, path, 5)
			if err := setopt(l, socket.SO_ACCEPTFILTER, socket.AcceptFilterArg("httpready", "")); err != nil {
				t.Fatal(err)
			}
			c := e.local(socket.SOCK_STREAM)
			c.Connect(socket.SockaddrUnix{Path: path})
			want := ""
			for j, p := range tc.parts {
				send(c, []byte(p), 0)
				want += p
				s, err := l.ListenDequeue(bg, socket.MSG_DONTWAIT)
				if j < len(tc.parts)-1 {
					if !errors.Is(err, syscall.EWOULDBLOCK) {
						t.Fatalf("after %q: accept %v, want EWOULDBLOCK", want, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("after %q: accept %v", want, err)
				}
				if got, _, _ := recv(s, 100, 0); string(got) != want {
					t.Fatalf("read %q, want %q", got, want)
				}
			}
		})
	}
}
