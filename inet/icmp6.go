package inet

import (
	"net"
	"net/netip"
	"syscall"

	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/mbuf"
)

// icmp6Error is icmp6_error: answer the packet m (from its IPv6 header, not
// consumed) with an ICMPv6 error quoting as much of it as fits the minimum
// MTU (RFC 4443 2.4), except for errors about errors and packets to
// multicast (other than Packet Too Big); rate-limited.
func (s *Stack) icmp6Error(m *mbuf.Mbuf, typ, code uint8, param uint32, in *Iface) {
	st := &s.Stats.ICMP6
	var hb [header.IPv6Len + 8]byte
	n := mbuf.CopyData(m, 0, hb[:])
	if n < header.IPv6Len {
		return
	}
	h := header.IPv6(hb[:])
	src, dst := h.Src(), h.Dst()
	if src.IsUnspecified() || src.IsMulticast() {
		return
	}
	if dst.IsMulticast() && typ != header.ICMPv6PacketTooBig && !(typ == header.ICMPv6ParamProblem && code == 2) {
		return
	}
	if h.NextHeader() == header.ProtoICMPv6 && n >= header.IPv6Len+1 && hb[header.IPv6Len] < 128 {
		st.OldICMP.Add(1)
		return
	}
	if !s.icmp6Limit.allow() {
		st.RateLimit.Add(1)
		return
	}
	st.Error.Add(1)
	qlen := min(mbuf.Length(m), ipv6MinMTU-header.IPv6Len-header.ICMPv6MinLen)
	icm := s.pool.GetHdr(mbuf.MT_DATA, header.ICMPv6MinLen+qlen, linkHdrRoom+header.IPv6Len)
	b := icm.Extend(header.ICMPv6MinLen + qlen)
	for i := range b[:header.ICMPv6MinLen] {
		b[i] = 0
	}
	ic := header.ICMPv6(b)
	ic.SetType(typ)
	ic.SetCode(code)
	switch typ {
	case header.ICMPv6PacketTooBig:
		ic.SetMTU(param)
	case header.ICMPv6ParamProblem:
		ic.SetPointer(param)
	}
	mbuf.CopyData(m, 0, b[header.ICMPv6MinLen:])
	icm.PktLen = len(b)
	var from netip.Addr
	if _, ok := s.isLocal(dst); ok {
		from = dst
	} else if in != nil {
		from, _ = s.sourceFor(src, in)
	}
	s.icmp6Send(icm, from, src, 255)
}

// icmp6Send fills in the checksum (which covers the pseudo header) and
// sends an ICMPv6 message. A zero from is chosen by the route.
func (s *Stack) icmp6Send(m *mbuf.Mbuf, from, to netip.Addr, hops int) error {
	o := &ipOut{src: from, dst: to, proto: header.ProtoICMPv6, ttl: hops}
	if !from.IsValid() {
		ifa, _, err := s.routeOut6(o)
		if err != nil {
			mbuf.FreeChain(m)
			return err
		}
		var ok bool
		if from, ok = s.sourceFor(to.WithZone(""), ifa); !ok {
			mbuf.FreeChain(m)
			return syscall.EADDRNOTAVAIL
		}
		o.src = from
	}
	n := mbuf.Length(m)
	ic := header.ICMPv6(m.Data())
	ic.SetChecksum(0)
	sum := header.ChecksumMbuf(m, 0, n, header.PseudoHeaderChecksum(header.ProtoICMPv6, from.WithZone(""), to.WithZone(""), uint16(n)))
	ic.SetChecksum(^sum)
	return s.ip6Output(m, o)
}

// icmp6Input is icmp6_input: echo, neighbor discovery and errors. It
// consumes m.
func (s *Stack) icmp6Input(ifa *Iface, m *mbuf.Mbuf, off int) {
	st := &s.Stats.ICMP6
	defer func() { mbuf.FreeChain(m) }()
	h := header.IPv6(m.Data())
	src, dst := h.Src(), h.Dst()
	hops := h.HopLimit()
	n := mbuf.Length(m) - off
	if n < header.ICMPv6MinLen {
		st.TooShort.Add(1)
		return
	}
	if ifa.ifp.Checksum.Load() {
		sum := header.ChecksumMbuf(m, off, n, header.PseudoHeaderChecksum(header.ProtoICMPv6, src, dst, uint16(n)))
		if sum != 0xffff {
			st.Checksum.Add(1)
			return
		}
	}
	var err error
	if m, err = mbuf.Pullup(m, min(off+n, off+256)); err != nil {
		return
	}
	body := m.Data()[off:]
	ic := header.ICMPv6(body)
	switch ic.Type() {
	case header.ICMPv6EchoRequest:
		st.InEcho.Add(1)
		if dst.IsMulticast() {
			return
		}
		rm := s.pool.GetHdr(mbuf.MT_DATA, n, linkHdrRoom+header.IPv6Len)
		mbuf.CopyData(m, off, rm.Extend(n))
		rm.PktLen = n
		header.ICMPv6(rm.Data()).SetType(header.ICMPv6EchoReply)
		st.Reflect.Add(1)
		s.icmp6Send(rm, dst, zoned(src, ifa), -1)
	case header.ICMPv6NeighborSolicit:
		if hops != 255 {
			st.BadCode.Add(1)
			return
		}
		s.ndSolicitInput(ifa, src, body)
	case header.ICMPv6NeighborAdvert:
		if hops != 255 {
			st.BadCode.Add(1)
			return
		}
		s.ndAdvertInput(ifa, body)
	case header.ICMPv6DestUnreachable, header.ICMPv6PacketTooBig, header.ICMPv6TimeExceeded, header.ICMPv6ParamProblem:
		st.InErrors.Add(1)
		s.icmp6Notify(m, off, ic.Type(), ic.Code(), ic.MTU())
	default:
		st.InOther.Add(1)
	}
}

// zoned gives a link-local address the zone of the interface it was seen
// on, so that answers go back out of it.
func zoned(a netip.Addr, ifa *Iface) netip.Addr {
	if a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() {
		return a.WithZone(itoa(ifa.ifp.Index()))
	}
	return a
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	return string(b[n:])
}

// icmp6Notify hands an ICMPv6 error to the quoted packet's protocol.
func (s *Stack) icmp6Notify(m *mbuf.Mbuf, off int, typ, code uint8, mtu uint32) {
	var q [header.IPv6Len + 8]byte
	n := mbuf.CopyData(m, off+header.ICMPv6MinLen, q[:])
	if n < header.IPv6Len+4 {
		return
	}
	inner := header.IPv6(q[:])
	var errno syscall.Errno
	switch typ {
	case header.ICMPv6DestUnreachable:
		errno = syscall.EHOSTUNREACH
		if code == header.ICMPv6PortUnreachable {
			errno = syscall.ECONNREFUSED
		}
	case header.ICMPv6PacketTooBig:
		errno = syscall.EMSGSIZE
		if mtu >= ipv6MinMTU {
			s.setPathMTU(inner.Dst(), int(mtu))
		}
	case header.ICMPv6ParamProblem:
		errno = syscall.ENOPROTOOPT
	default:
		return
	}
	if inner.NextHeader() == header.ProtoTCP {
		s.tcpCtlinput(inner.Src(), inner.Dst(), q[header.IPv6Len:n], errno)
		return
	}
	if inner.NextHeader() != header.ProtoUDP {
		return
	}
	b := q[header.IPv6Len:]
	sport := uint16(b[0])<<8 | uint16(b[1])
	dport := uint16(b[2])<<8 | uint16(b[3])
	s.udp.notify(inner.Src(), sport, inner.Dst(), dport, errno)
}

// ndSolicit sends a Neighbor Solicitation for a to its solicited-node
// group, from our address on ifa, with our link-layer address.
func (s *Stack) ndSolicit(ifa *Iface, a netip.Addr) {
	src, ok := s.sourceFor(a, ifa)
	if !ok {
		return
	}
	m := s.pool.GetHdr(mbuf.MT_DATA, 32, linkHdrRoom+header.IPv6Len)
	var b [32]byte
	n := header.BuildNDPNS(b[:], a.WithZone(""), ifa.ifp.HWAddr())
	copy(m.Extend(n), b[:n])
	m.PktLen = n
	s.icmp6Send(m, src, solicitedNode(a).WithZone(itoa(ifa.ifp.Index())), 255)
}

// ndSolicitInput answers a Neighbor Solicitation for one of our addresses
// on ifa, learning the solicitor's link-layer address.
func (s *Stack) ndSolicitInput(ifa *Iface, src netip.Addr, body []byte) {
	st := &s.Stats.ND
	st.RxRequests.Add(1)
	if len(body) < 24 {
		st.Malformed.Add(1)
		return
	}
	ns := header.NDPNeighborSolicit(body)
	target := ns.TargetAddress()
	x, ok := s.isLocal(target)
	if !ok || x != ifa {
		return
	}
	if err := ns.Options().Walk(func(uint8, []byte) {}); err != nil {
		st.Malformed.Add(1)
		return
	}
	lla := ns.Options().LinkLayerAddr(header.NDPOptSourceLLA)
	solicited := true
	to := src
	if src.IsUnspecified() {
		// Duplicate address detection: answer all nodes.
		to, solicited = allNodes, false
	} else if lla != nil {
		s.nd.update(ifa, src, lla, true)
	}
	m := s.pool.GetHdr(mbuf.MT_DATA, 32, linkHdrRoom+header.IPv6Len)
	var b [32]byte
	n := header.BuildNDPNA(b[:], target, s.forwarding6.Load(), solicited, true, ifa.ifp.HWAddr())
	copy(m.Extend(n), b[:n])
	m.PktLen = n
	st.TxReplies.Add(1)
	s.icmp6Send(m, target, zoned(to, ifa), 255)
}

// ndAdvertInput records the target of a Neighbor Advertisement (only for
// entries being resolved or already known, as RFC 4861 7.2.5 says).
func (s *Stack) ndAdvertInput(ifa *Iface, body []byte) {
	st := &s.Stats.ND
	st.RxReplies.Add(1)
	if len(body) < 24 {
		st.Malformed.Add(1)
		return
	}
	na := header.NDPNeighborAdvert(body)
	lla := na.Options().LinkLayerAddr(header.NDPOptTargetLLA)
	if lla == nil {
		return
	}
	s.nd.update(ifa, na.TargetAddress(), net.HardwareAddr(lla), false)
}
