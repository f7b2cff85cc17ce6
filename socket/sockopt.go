package socket

import (
	"encoding/binary"
	"math"
	"syscall"
	"time"
)

// Sockopt describes a socket-option request (struct sockopt). The caller
// zeroes it and fills in the fields; Val is the caller's buffer: the value
// to set, or the room for the value got, and Valsize its size in bytes, set
// on return of a get to the size copied out.
type Sockopt struct {
	Dir     int // SOPT_GET or SOPT_SET (sopt_dir)
	Level   int // SOL_SOCKET or a protocol level (sopt_level)
	Name    int // the option (sopt_name)
	Val     []byte
	Valsize int
}

// OptCopyIn is sooptcopyin(9): copy the option value into buf, which must
// receive at least minlen bytes (EINVAL if the caller gave fewer); a longer
// value is cut to len(buf).
func (sopt *Sockopt) OptCopyIn(buf []byte, minlen int) error {
	if sopt.Valsize < minlen || len(sopt.Val) < minlen {
		return syscall.EINVAL
	}
	if sopt.Valsize > len(buf) {
		sopt.Valsize = len(buf)
	}
	copy(buf, sopt.Val[:min(sopt.Valsize, len(sopt.Val))])
	return nil
}

// OptCopyOut is sooptcopyout(9): copy buf to the caller's value buffer, cut
// to its size, and set Valsize to the bytes copied.
func (sopt *Sockopt) OptCopyOut(buf []byte) error {
	n := min(len(buf), sopt.Valsize)
	if sopt.Val != nil {
		n = min(n, len(sopt.Val))
		copy(sopt.Val, buf[:n])
	}
	sopt.Valsize = n
	return nil
}

// IntLen is the size of an int option value.
const IntLen = 4

// OptInt reads an int option value (at least 4 bytes, else EINVAL).
func (sopt *Sockopt) OptInt() (int, error) {
	var b [IntLen]byte
	if err := sopt.OptCopyIn(b[:], IntLen); err != nil {
		return 0, err
	}
	return int(int32(binary.NativeEndian.Uint32(b[:]))), nil
}

// OptOutInt copies out an int option value.
func (sopt *Sockopt) OptOutInt(v int) error {
	var b [IntLen]byte
	binary.NativeEndian.PutUint32(b[:], uint32(int32(v)))
	return sopt.OptCopyOut(b[:])
}

// Linger is struct linger.
type Linger struct {
	Onoff  int32 // l_onoff
	Linger int32 // l_linger, in seconds
}

// LingerLen is sizeof(struct linger).
const LingerLen = 8

// Bytes encodes l as the kernel lays it out.
func (l Linger) Bytes() []byte {
	b := make([]byte, LingerLen)
	binary.NativeEndian.PutUint32(b, uint32(l.Onoff))
	binary.NativeEndian.PutUint32(b[4:], uint32(l.Linger))
	return b
}

// ParseLinger decodes a struct linger.
func ParseLinger(b []byte) Linger {
	return Linger{int32(binary.NativeEndian.Uint32(b)), int32(binary.NativeEndian.Uint32(b[4:]))}
}

// Timeval is struct timeval (LP64).
type Timeval struct {
	Sec  int64
	Usec int64
}

// TimevalLen is sizeof(struct timeval).
const TimevalLen = 16

// Bytes encodes tv as the kernel lays it out.
func (tv Timeval) Bytes() []byte {
	b := make([]byte, TimevalLen)
	binary.NativeEndian.PutUint64(b, uint64(tv.Sec))
	binary.NativeEndian.PutUint64(b[8:], uint64(tv.Usec))
	return b
}

// ParseTimeval decodes a struct timeval.
func ParseTimeval(b []byte) Timeval {
	return Timeval{int64(binary.NativeEndian.Uint64(b)), int64(binary.NativeEndian.Uint64(b[8:]))}
}

// NsecToTimeval converts a duration to a timeval.
func NsecToTimeval(d time.Duration) Timeval {
	return Timeval{Sec: int64(d / time.Second), Usec: int64(d%time.Second) / 1000}
}

// foreverTimeo stands for a timeval too large to count (SBT_MAX).
const foreverTimeo = time.Duration(math.MaxInt64)

// AcceptFilterArgLen is sizeof(struct accept_filter_arg): af_name[16] and
// af_arg[240].
const AcceptFilterArgLen = 256

// AcceptFilterArg encodes struct accept_filter_arg.
func AcceptFilterArg(name, arg string) []byte {
	b := make([]byte, AcceptFilterArgLen)
	copy(b[:15], name)
	copy(b[16:255], arg)
	return b
}

func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// boolOptions are the SO_* options kept as bits of so_options.
const boolOptions = SO_DEBUG | SO_KEEPALIVE | SO_DONTROUTE | SO_USELOOPBACK | SO_BROADCAST |
	SO_REUSEADDR | SO_REUSEPORT | SO_REUSEPORT_LB | SO_OOBINLINE | SO_TIMESTAMP | SO_BINTIME |
	SO_NOSIGPIPE | SO_NO_DDP | SO_NO_OFFLOAD | SO_RERROR

func isBoolOption(name int) bool {
	return name&boolOptions == name && name != 0 && name&(name-1) == 0
}

// SetOpt is sosetopt(9). Options of levels other than SOL_SOCKET go to the
// protocol (pr_ctloutput, ENOPROTOOPT by default); a successful SOL_SOCKET
// set is also shown to it. Bad values get FreeBSD's errnos: EINVAL for a
// short value or a value out of range, EDOM for a bad timeval or linger,
// ENOBUFS for a buffer past the stack's limit, ENOPROTOOPT for an unknown
// option.
func (so *Socket) SetOpt(sopt *Sockopt) error {
	if err := so.checkOpen(); err != nil {
		return err
	}
	sopt.Dir = SOPT_SET
	if sopt.Level != SOL_SOCKET {
		return so.proto.Usrreqs.Ctloutput(so, sopt)
	}
	var err error
	switch name := sopt.Name; {
	case name == SO_ACCEPTFILTER:
		err = so.setAcceptFilter(sopt)
	case name == SO_LINGER:
		var b [LingerLen]byte
		if err = sopt.OptCopyIn(b[:], LingerLen); err != nil {
			break
		}
		l := ParseLinger(b[:])
		if l.Linger < 0 || l.Linger > math.MaxUint16 {
			err = syscall.EDOM
			break
		}
		so.mu.Lock()
		so.linger = int(l.Linger)
		so.setOptionLocked(SO_LINGER, l.Onoff != 0)
		so.mu.Unlock()
	case isBoolOption(name):
		var v int
		if v, err = sopt.OptInt(); err != nil {
			break
		}
		so.mu.Lock()
		so.setOptionLocked(name, v != 0)
		so.mu.Unlock()
	case name == SO_SETFIB:
		var v int
		if v, err = sopt.OptInt(); err != nil {
			break
		}
		if v < 0 || v >= 1 {
			err = syscall.EINVAL
			break
		}
		so.mu.Lock()
		switch so.proto.Domain.Family {
		case AF_INET, AF_INET6, AF_ROUTE:
			so.fibnum = v
		default:
			so.fibnum = 0
		}
		so.mu.Unlock()
	case name == SO_USER_COOKIE:
		var v int
		if v, err = sopt.OptInt(); err == nil {
			so.mu.Lock()
			so.cookie = uint32(v)
			so.mu.Unlock()
		}
	case name == SO_SNDBUF, name == SO_RCVBUF, name == SO_SNDLOWAT, name == SO_RCVLOWAT:
		err = so.proto.Usrreqs.Setsbopt(so, sopt)
	case name == SO_SNDTIMEO, name == SO_RCVTIMEO:
		var b [TimevalLen]byte
		if err = sopt.OptCopyIn(b[:], TimevalLen); err != nil {
			break
		}
		tv := ParseTimeval(b[:])
		if tv.Sec < 0 || tv.Usec < 0 || tv.Usec >= 1000000 {
			err = syscall.EDOM
			break
		}
		d := foreverTimeo
		if tv.Sec <= math.MaxInt32 {
			d = time.Duration(tv.Sec)*time.Second + time.Duration(tv.Usec)*time.Microsecond
		}
		sb := &so.Snd
		if name == SO_RCVTIMEO {
			sb = &so.Rcv
		}
		sb.mu.Lock()
		sb.timeo = d
		sb.mu.Unlock()
	case name == SO_LABEL:
		err = syscall.EOPNOTSUPP
	case name == SO_TS_CLOCK:
		var v int
		if v, err = sopt.OptInt(); err != nil {
			break
		}
		if v < 0 || v > SO_TS_CLOCK_MAX {
			err = syscall.EINVAL
			break
		}
		so.mu.Lock()
		so.tsclock = v
		so.mu.Unlock()
	case name == SO_MAX_PACING_RATE:
		var v int
		if v, err = sopt.OptInt(); err == nil {
			so.mu.Lock()
			so.pacing = uint32(v)
			so.mu.Unlock()
		}
	default:
		err = syscall.ENOPROTOOPT
	}
	if err == nil {
		so.proto.Usrreqs.Ctloutput(so, sopt)
	}
	return err
}

// SbSetopt is sbsetopt: SO_SNDBUF, SO_RCVBUF, SO_SNDLOWAT and SO_RCVLOWAT.
// Values below 1 are EINVAL; a buffer past the stack's limit is ENOBUFS; a
// low watermark is cut to the buffer's size. Setting a size turns off
// automatic sizing. On a listener the values are kept for accepted sockets.
func (so *Socket) SbSetopt(sopt *Sockopt) error {
	v, err := sopt.OptInt()
	if err != nil {
		return err
	}
	if v < 1 {
		return syscall.EINVAL
	}
	sb := &so.Snd
	if sopt.Name == SO_RCVBUF || sopt.Name == SO_RCVLOWAT {
		sb = &so.Rcv
	}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	switch sopt.Name {
	case SO_SNDBUF, SO_RCVBUF:
		if err := sb.reserveLocked(v); err != nil {
			return err
		}
		sb.flags &^= SB_AUTOSIZE
	default:
		sb.lowat = min(v, sb.hiwat)
	}
	return nil
}

// GetOpt is sogetopt(9). Boolean options read back as their bit (SO_REUSEADDR
// gives 4, not 1), as FreeBSD's do; SO_ERROR consumes the pending error.
func (so *Socket) GetOpt(sopt *Sockopt) error {
	if err := so.checkOpen(); err != nil {
		return err
	}
	sopt.Dir = SOPT_GET
	if sopt.Level != SOL_SOCKET {
		return so.proto.Usrreqs.Ctloutput(so, sopt)
	}
	switch name := sopt.Name; {
	case name == SO_ACCEPTFILTER:
		return so.getAcceptFilter(sopt)
	case name == SO_LINGER:
		so.mu.Lock()
		l := Linger{Onoff: int32(so.Options() & SO_LINGER), Linger: int32(so.linger)}
		so.mu.Unlock()
		return sopt.OptCopyOut(l.Bytes())
	case isBoolOption(name) || name == SO_ACCEPTCONN:
		return sopt.OptOutInt(so.Options() & name)
	case name == SO_DOMAIN:
		return sopt.OptOutInt(so.proto.Domain.Family)
	case name == SO_TYPE:
		return sopt.OptOutInt(so.typ)
	case name == SO_PROTOCOL:
		return sopt.OptOutInt(so.proto.Protocol)
	case name == SO_ERROR:
		e := so.soerror.Swap(0)
		if e == 0 {
			e = so.sorerror.Swap(0)
		}
		return sopt.OptOutInt(int(e))
	case name == SO_SNDBUF, name == SO_RCVBUF, name == SO_SNDLOWAT, name == SO_RCVLOWAT:
		sb := &so.Snd
		if name == SO_RCVBUF || name == SO_RCVLOWAT {
			sb = &so.Rcv
		}
		sb.mu.Lock()
		v := sb.hiwat
		if name == SO_SNDLOWAT || name == SO_RCVLOWAT {
			v = sb.lowat
		}
		sb.mu.Unlock()
		return sopt.OptOutInt(v)
	case name == SO_SNDTIMEO, name == SO_RCVTIMEO:
		sb := &so.Snd
		if name == SO_RCVTIMEO {
			sb = &so.Rcv
		}
		sb.mu.Lock()
		d := sb.timeo
		sb.mu.Unlock()
		tv := NsecToTimeval(d)
		if d == foreverTimeo {
			tv = Timeval{Sec: math.MaxInt32 + 1}
		}
		return sopt.OptCopyOut(tv.Bytes())
	case name == SO_LABEL, name == SO_PEERLABEL:
		return syscall.EOPNOTSUPP
	case name == SO_LISTENQLIMIT, name == SO_LISTENQLEN, name == SO_LISTENINCQLEN:
		qlen, incqlen, qlimit := so.ListenQueue()
		v := map[int]int{SO_LISTENQLIMIT: qlimit, SO_LISTENQLEN: qlen, SO_LISTENINCQLEN: incqlen}[name]
		return sopt.OptOutInt(v)
	case name == SO_TS_CLOCK:
		so.mu.Lock()
		v := so.tsclock
		so.mu.Unlock()
		return sopt.OptOutInt(v)
	case name == SO_MAX_PACING_RATE:
		so.mu.Lock()
		v := so.pacing
		so.mu.Unlock()
		return sopt.OptOutInt(int(v))
	}
	return syscall.ENOPROTOOPT
}

// SetOptInt sets an int option: a convenience over SetOpt.
func (so *Socket) SetOptInt(level, name, v int) error {
	var b [IntLen]byte
	binary.NativeEndian.PutUint32(b[:], uint32(int32(v)))
	return so.SetOpt(&Sockopt{Level: level, Name: name, Val: b[:], Valsize: IntLen})
}

// GetOptInt gets an int option: a convenience over GetOpt.
func (so *Socket) GetOptInt(level, name int) (int, error) {
	var b [IntLen]byte
	sopt := Sockopt{Level: level, Name: name, Val: b[:], Valsize: IntLen}
	if err := so.GetOpt(&sopt); err != nil {
		return 0, err
	}
	return int(int32(binary.NativeEndian.Uint32(b[:]))), nil
}

// setAcceptFilter is accept_filt_setopt: install the named filter on a
// listener, or remove it with an empty value.
func (so *Socket) setAcceptFilter(sopt *Sockopt) error {
	if sopt.Valsize == 0 || sopt.Val == nil {
		so.mu.Lock()
		if so.sol == nil {
			so.mu.Unlock()
			return syscall.EINVAL
		}
		sol := so.sol
		if sol.accf == nil {
			so.mu.Unlock()
			return nil
		}
		sol.accf, sol.accfArg, sol.accfState = nil, "", nil
		so.setOptionLocked(SO_ACCEPTFILTER, false)
		var ready []*Socket
		for c := sol.incomp.first; c != nil; c = c.qnext {
			if c.Options()&SO_ACCEPTFILTER != 0 || c.State()&SS_ISCONNECTED != 0 {
				ready = append(ready, c)
			}
		}
		for _, c := range ready {
			sol.incomp.remove(c)
			sol.incqlen--
			sol.comp.push(c)
			sol.qlen++
			c.mu.Lock()
			c.qstate = SQ_COMP
			c.setOptionLocked(SO_ACCEPTFILTER, false)
			c.mu.Unlock()
		}
		if len(ready) > 0 {
			so.listenWakeupLocked()
		}
		so.mu.Unlock()
		for _, c := range ready {
			c.UpcallClear(SO_RCV)
		}
		return nil
	}
	var b [AcceptFilterArgLen]byte
	if err := sopt.OptCopyIn(b[:], AcceptFilterArgLen); err != nil {
		return err
	}
	name, arg := cstring(b[:16]), cstring(b[16:])
	so.vnet.mu.Lock()
	f := so.vnet.accf[name]
	so.vnet.mu.Unlock()
	if f == nil {
		return syscall.ENOENT
	}
	so.mu.Lock()
	defer so.mu.Unlock()
	if so.sol == nil {
		return syscall.EINVAL
	}
	if so.sol.accf != nil {
		return syscall.EINVAL // FreeBSD 14; later releases say EBUSY
	}
	var state any
	if f.Create != nil {
		var err error
		if state, err = f.Create(so, arg); err != nil {
			return syscall.EINVAL
		}
	}
	so.sol.accf, so.sol.accfArg, so.sol.accfState = f, arg, state
	so.setOptionLocked(SO_ACCEPTFILTER, true)
	return nil
}

func (so *Socket) getAcceptFilter(sopt *Sockopt) error {
	so.mu.Lock()
	if so.sol == nil || so.sol.accf == nil {
		so.mu.Unlock()
		return syscall.EINVAL
	}
	b := AcceptFilterArg(so.sol.accf.Name, so.sol.accfArg)
	so.mu.Unlock()
	return sopt.OptCopyOut(b)
}
