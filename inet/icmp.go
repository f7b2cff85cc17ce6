package inet

import (
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/mbuf"
)

// icmpQuoteLen is how much of the offending packet's payload an ICMP error
// quotes after its IP header (net.inet.icmp.quotelen).
const icmpQuoteLen = 8

// ratelim is a token bucket of errors per second (badport_bandlim).
type ratelim struct {
	mu     sync.Mutex
	limit  *int
	tokens int
	last   time.Time
}

func (r *ratelim) init(limit *int) { r.limit = limit }

func (r *ratelim) allow() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	lim := *r.limit
	if lim <= 0 {
		return true
	}
	now := time.Now()
	if now.Sub(r.last) >= time.Second {
		r.tokens, r.last = lim, now
	}
	if r.tokens <= 0 {
		return false
	}
	r.tokens--
	return true
}

// pmtuEntry is a path MTU learned from ICMP (a host route's mtu).
type pmtuEntry struct {
	mtu    int
	expire time.Time
}

// pmtuExpire is how long a learned path MTU holds (net.inet.tcp.hostcache
// expiry, 10 minutes in RFC 1191's spirit).
const pmtuExpire = 10 * time.Minute

func (s *Stack) pathMTU(dst netip.Addr) int {
	if s.npmtu.Load() == 0 {
		return 0 // nothing learned: the usual case, on every packet
	}
	s.pmtuMu.Lock()
	defer s.pmtuMu.Unlock()
	e, ok := s.pmtu[dst]
	if !ok {
		return 0
	}
	if time.Now().After(e.expire) {
		delete(s.pmtu, dst)
		s.npmtu.Store(int32(len(s.pmtu)))
		return 0
	}
	return e.mtu
}

func (s *Stack) setPathMTU(dst netip.Addr, mtu int) {
	s.pmtuMu.Lock()
	s.pmtu[dst] = pmtuEntry{mtu, time.Now().Add(pmtuExpire)}
	s.npmtu.Store(int32(len(s.pmtu)))
	s.pmtuMu.Unlock()
}

// PathMTU returns the path MTU learned for dst, or 0 when none is known.
func (s *Stack) PathMTU(dst netip.Addr) int { return s.pathMTU(dst) }

// icmp4Error is icmp_error: answer the packet m (starting at its IP header,
// not consumed) with an ICMP error, unless it is itself an ICMP error, a
// non-first fragment, or was sent to or from a broadcast or multicast
// address; errors are rate-limited.
func (s *Stack) icmp4Error(m *mbuf.Mbuf, typ, code uint8, mtu int, in *Iface) {
	st := &s.Stats.ICMP
	var hb [header.IPv4MinLen + 40]byte
	n := mbuf.CopyData(m, 0, hb[:])
	if n < header.IPv4MinLen {
		return
	}
	h := header.IPv4(hb[:n])
	hl := h.HeaderLen()
	if hl < header.IPv4MinLen || hl > n {
		return
	}
	if h.FragOffset() != 0 {
		return
	}
	src, dst := h.Src(), h.Dst()
	if src.IsMulticast() || src.IsUnspecified() || src == limitedBroadcast ||
		dst.IsMulticast() || s.isBroadcast4(dst, in) {
		return
	}
	if h.Protocol() == header.ProtoICMP {
		var t [1]byte
		if mbuf.CopyData(m, hl, t[:]) == 1 && !isICMPv4Info(t[0]) {
			st.OldICMP.Add(1)
			return
		}
	}
	if !s.icmpLimit.allow() {
		st.RateLimit.Add(1)
		return
	}
	st.Error.Add(1)
	qlen := min(mbuf.Length(m), hl+icmpQuoteLen)
	icm := s.pool.GetHdr(mbuf.MT_DATA, header.ICMPv4MinLen+qlen, linkHdrRoom+header.IPv4MinLen)
	b := icm.Extend(header.ICMPv4MinLen + qlen)
	for i := range b[:header.ICMPv4MinLen] {
		b[i] = 0
	}
	ic := header.ICMPv4(b)
	ic.SetType(typ)
	ic.SetCode(code)
	if typ == header.ICMPv4DestUnreachable && code == header.ICMPv4FragNeeded {
		ic.SetMTU(uint16(mtu))
	}
	mbuf.CopyData(m, 0, b[header.ICMPv4MinLen:])
	ic.ComputeChecksum()
	icm.PktLen = len(b)
	// The error comes from the address the packet was sent to when it is
	// ours, else from our address on the way back (icmp_reflect).
	o := &ipOut{dst: src, proto: header.ProtoICMP, ttl: -1}
	if _, ok := s.isLocal(dst); ok {
		o.src = dst
	}
	s.ip4Output(icm, o)
}

func isICMPv4Info(t uint8) bool {
	switch t {
	case header.ICMPv4EchoReply, header.ICMPv4Echo, 13, 14, 15, 16, 17, 18:
		return true
	}
	return false
}

// icmp4Input is icmp_input: echo requests are answered, errors go to the
// protocol of the packet they quote (pr_ctlinput). Raw ICMP sockets have
// seen the packet already. It consumes m.
func (s *Stack) icmp4Input(ifa *Iface, m *mbuf.Mbuf, hl int) {
	st := &s.Stats.ICMP
	defer func() { mbuf.FreeChain(m) }()
	ih := header.IPv4(m.Data())
	src, dst := ih.Src(), ih.Dst()
	icmplen := mbuf.Length(m) - hl
	if icmplen < header.ICMPv4MinLen {
		st.TooShort.Add(1)
		return
	}
	if ifa.ifp.Checksum.Load() && header.ChecksumMbuf(m, hl, icmplen, 0) != 0xffff {
		st.Checksum.Add(1)
		return
	}
	var err error
	if m, err = mbuf.Pullup(m, hl+header.ICMPv4MinLen); err != nil {
		return
	}
	ic := header.ICMPv4(m.Data()[hl:])
	switch ic.Type() {
	case header.ICMPv4Echo:
		st.InEcho.Add(1)
		if dst.IsMulticast() || s.isBroadcast4(dst, ifa) {
			return // net.inet.icmp.bmcastecho=0
		}
		rm := s.pool.GetHdr(mbuf.MT_DATA, icmplen, linkHdrRoom+header.IPv4MinLen)
		mbuf.CopyData(m, hl, rm.Extend(icmplen))
		rm.PktLen = icmplen
		r := header.ICMPv4(rm.Data())
		r.SetType(header.ICMPv4EchoReply)
		r.ComputeChecksum()
		st.Reflect.Add(1)
		s.ip4Output(rm, &ipOut{src: dst, dst: src, proto: header.ProtoICMP, ttl: -1})
	case header.ICMPv4DestUnreachable, header.ICMPv4TimeExceeded, header.ICMPv4ParamProblem, header.ICMPv4SourceQuench:
		st.InErrors.Add(1)
		s.icmp4Notify(m, hl, ic.Type(), ic.Code(), int(ic.MTU()))
	default:
		st.InOther.Add(1)
	}
}

// icmp4Notify is the ctlinput of the quoted packet's protocol: for UDP, the
// matching connected socket gets so_error.
func (s *Stack) icmp4Notify(m *mbuf.Mbuf, hl int, typ, code uint8, mtu int) {
	var q [header.IPv4MinLen + 40 + 8]byte
	n := mbuf.CopyData(m, hl+header.ICMPv4MinLen, q[:])
	inner := header.IPv4(q[:n])
	if n < header.IPv4MinLen || inner.Version() != 4 {
		return
	}
	ihl := inner.HeaderLen()
	if ihl < header.IPv4MinLen || n < ihl+4 {
		return
	}
	var errno syscall.Errno
	switch typ {
	case header.ICMPv4DestUnreachable:
		switch code {
		case header.ICMPv4ProtoUnreachable, header.ICMPv4PortUnreachable:
			errno = syscall.ECONNREFUSED
		case header.ICMPv4FragNeeded:
			errno = syscall.EMSGSIZE
			if mtu >= 68 {
				s.setPathMTU(inner.Dst(), mtu)
			}
		default:
			errno = syscall.EHOSTUNREACH
		}
	case header.ICMPv4TimeExceeded:
		return // PRC_TIMXCEED_INTRANS: UDP ignores it
	case header.ICMPv4ParamProblem:
		errno = syscall.ENOPROTOOPT
	default:
		return
	}
	if inner.Protocol() == header.ProtoTCP {
		s.tcpCtlinput(inner.Src(), inner.Dst(), q[ihl:n], errno)
		return
	}
	if inner.Protocol() != header.ProtoUDP {
		return
	}
	sport := uint16(q[ihl])<<8 | uint16(q[ihl+1])
	dport := uint16(q[ihl+2])<<8 | uint16(q[ihl+3])
	s.udp.notify(inner.Src(), sport, inner.Dst(), dport, errno)
}
