package sys

import (
	"encoding/binary"
	"time"

	"github.com/bsdnet/bsdnet/local"
	"github.com/bsdnet/bsdnet/socket"
)

// Linger is struct linger, the value of SO_LINGER: Onoff not 0 turns
// lingering on, for Linger seconds. Read back, Onoff is SO_LINGER's bit
// (0x80), not 1, as on FreeBSD.
type Linger struct {
	Onoff  int32
	Linger int32
}

// Timeval is struct timeval (LP64), the value of SO_RCVTIMEO and
// SO_SNDTIMEO.
type Timeval struct {
	Sec  int64
	Usec int64
}

// Unix returns the time as seconds and nanoseconds.
func (tv *Timeval) Unix() (sec int64, nsec int64) { return tv.Sec, tv.Usec * 1000 }

// Nano returns the time in nanoseconds.
func (tv *Timeval) Nano() int64 { return tv.Sec*1e9 + tv.Usec*1000 }

// NsecToTimeval converts nanoseconds to a Timeval, rounding down to the
// microsecond.
func NsecToTimeval(nsec int64) Timeval {
	d := socket.NsecToTimeval(time.Duration(nsec))
	return Timeval{Sec: d.Sec, Usec: d.Usec}
}

// Xucred is struct xucred, the value of LOCAL_PEERCRED: the peer's
// effective uid and groups (Groups[0] is its effective gid) and its pid.
type Xucred struct {
	Version uint32
	Uid     uint32
	Ngroups int16
	Groups  [16]uint32
	Pid     int32
}

// getsockopt is getsockopt(2) into buf; it returns the bytes written.
func (p *Proc) getsockopt(fd, level, opt int, buf []byte) (int, error) {
	so, err := p.get(fd)
	if err != nil {
		return 0, err
	}
	defer put(so)
	sopt := socket.Sockopt{Level: level, Name: opt, Val: buf, Valsize: len(buf)}
	if err := so.GetOpt(&sopt); err != nil {
		return 0, err
	}
	return sopt.Valsize, nil
}

// setsockopt is setsockopt(2) with the value buf.
func (p *Proc) setsockopt(fd, level, opt int, buf []byte) error {
	so, err := p.get(fd)
	if err != nil {
		return err
	}
	defer put(so)
	return so.SetOpt(&socket.Sockopt{Level: level, Name: opt, Val: buf, Valsize: len(buf)})
}

// GetsockoptInt gets an int option (getsockopt(2)). Boolean SOL_SOCKET
// options read back as their bit (SO_REUSEADDR gives 4), as on FreeBSD.
func (p *Proc) GetsockoptInt(fd, level, opt int) (value int, err error) {
	var b [4]byte
	n, err := p.getsockopt(fd, level, opt, b[:])
	if err != nil {
		return -1, err
	}
	if n < 4 {
		clear(b[n:])
	}
	return int(int32(binary.NativeEndian.Uint32(b[:]))), nil
}

// SetsockoptInt sets an int option (setsockopt(2)).
func (p *Proc) SetsockoptInt(fd, level, opt int, value int) error {
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], uint32(int32(value)))
	return p.setsockopt(fd, level, opt, b[:])
}

// GetsockoptLinger gets a struct linger option (SO_LINGER).
func (p *Proc) GetsockoptLinger(fd, level, opt int) (*Linger, error) {
	var b [socket.LingerLen]byte
	if _, err := p.getsockopt(fd, level, opt, b[:]); err != nil {
		return nil, err
	}
	l := socket.ParseLinger(b[:])
	return &Linger{Onoff: l.Onoff, Linger: l.Linger}, nil
}

// SetsockoptLinger sets a struct linger option (SO_LINGER); a time below 0
// or above 65535 seconds is EDOM.
func (p *Proc) SetsockoptLinger(fd, level, opt int, l *Linger) error {
	if l == nil {
		return EINVAL
	}
	return p.setsockopt(fd, level, opt, socket.Linger{Onoff: l.Onoff, Linger: l.Linger}.Bytes())
}

// GetsockoptTimeval gets a struct timeval option (SO_RCVTIMEO,
// SO_SNDTIMEO).
func (p *Proc) GetsockoptTimeval(fd, level, opt int) (*Timeval, error) {
	var b [socket.TimevalLen]byte
	if _, err := p.getsockopt(fd, level, opt, b[:]); err != nil {
		return nil, err
	}
	tv := socket.ParseTimeval(b[:])
	return &Timeval{Sec: tv.Sec, Usec: tv.Usec}, nil
}

// SetsockoptTimeval sets a struct timeval option; a negative time or a
// microsecond count of a second or more is EDOM. Zero means no timeout.
func (p *Proc) SetsockoptTimeval(fd, level, opt int, tv *Timeval) error {
	if tv == nil {
		return EINVAL
	}
	return p.setsockopt(fd, level, opt, socket.Timeval{Sec: tv.Sec, Usec: tv.Usec}.Bytes())
}

// GetsockoptString gets an option as bytes (up to 256), returned as a
// string cut at the first NUL, as x/sys/unix does (SO_ACCEPTFILTER gives
// the filter's name).
func (p *Proc) GetsockoptString(fd, level, opt int) (string, error) {
	b := make([]byte, 256)
	n, err := p.getsockopt(fd, level, opt, b)
	if err != nil {
		return "", err
	}
	b = b[:n]
	for i, c := range b {
		if c == 0 {
			return string(b[:i]), nil
		}
	}
	return string(b), nil
}

// SetsockoptString sets an option to the bytes of s, as given (no NUL is
// added).
func (p *Proc) SetsockoptString(fd, level, opt int, s string) error {
	return p.setsockopt(fd, level, opt, []byte(s))
}

// GetsockoptXucred gets a struct xucred option: LOCAL_PEERCRED at
// SOL_LOCAL, the credential of a PF_LOCAL socket's peer as it was when the
// connection was made. ENOTCONN on an unconnected stream socket, EINVAL on
// a datagram socket.
func (p *Proc) GetsockoptXucred(fd, level, opt int) (*Xucred, error) {
	b := make([]byte, local.XucredLen)
	if _, err := p.getsockopt(fd, level, opt, b); err != nil {
		return nil, err
	}
	x, err := local.ParseXucred(b)
	if err != nil {
		return nil, err
	}
	out := &Xucred{Version: x.Version, Uid: x.Uid, Ngroups: int16(len(x.Groups)), Pid: x.Pid}
	copy(out.Groups[:], x.Groups)
	return out, nil
}
