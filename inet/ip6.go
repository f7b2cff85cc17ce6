package inet

import (
	"net/netip"
	"syscall"

	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/mbuf"
)

// IPv6 minimum link MTU (RFC 8200 section 5).
const ipv6MinMTU = 1280

// ip6Output is ip6_output: prepend an IPv6 header to the transport packet
// m, route it, fragment it at the source when it exceeds the path MTU, and
// hand it to the link. It consumes m.
func (s *Stack) ip6Output(m *mbuf.Mbuf, o *ipOut) error {
	st := &s.Stats.IP6
	ifa, nexthop, err := s.routeOut6(o)
	if err != nil {
		st.NoRoute.Add(1)
		mbuf.FreeChain(m)
		return err
	}
	if !o.src.IsValid() || o.src.IsUnspecified() {
		src, ok := s.sourceFor(o.dst.WithZone(""), ifa)
		if !ok {
			mbuf.FreeChain(m)
			return syscall.EADDRNOTAVAIL
		}
		o.src = src
	}
	hops := o.ttl
	if hops < 0 {
		hops = s.Tunables.DefaultHops
		if o.dst.IsMulticast() {
			hops = 1
		}
	}
	plen := mbuf.Length(m)
	m = s.pool.Prepend(m, header.IPv6Len)
	header.IPv6Fields{
		TrafficClass: o.tos, PayloadLen: plen, NextHeader: o.proto, HopLimit: uint8(hops),
		Src: o.src.WithZone(""), Dst: o.dst.WithZone(""),
	}.Encode(m.Data()[:header.IPv6Len])
	m.Flags |= mbuf.M_PKTHDR
	m.PktLen = plen + header.IPv6Len
	if m.Csum.Delayed {
		m.Csum.Start += header.IPv6Len
	}
	st.LocalOut.Add(1)
	dst := o.dst.WithZone("")
	if dst.IsMulticast() && o.mloop && s.inGroup(ifa, dst) {
		if c := mbuf.Copy(m, 0, -1); c != nil {
			s.ip6Input(ifa, c)
		}
	}
	mtu := ifa.ifp.MTU()
	if p := s.pathMTU(dst); p > 0 && p < mtu {
		mtu = p
	}
	if l := mbuf.Length(m); l <= mtu || m.Csum.TSO != 0 && l <= ifa.ifp.TSOMax() {
		return s.linkOutput(ifa, m, nexthop)
	}
	if o.df || m.Csum.TSO != 0 {
		st.CantFrag.Add(1)
		mbuf.FreeChain(m)
		return syscall.EMSGSIZE
	}
	return s.ip6Fragment(ifa, m, nexthop, mtu)
}

func (s *Stack) routeOut6(o *ipOut) (*Iface, netip.Addr, error) {
	dst := o.dst
	if o.ifa != nil && (dst.IsMulticast() || o.dontroute) {
		return o.ifa, dst.WithZone(""), nil
	}
	if dst.IsMulticast() && dst.Zone() == "" {
		// Link-scope multicast without an interface: the first with an
		// IPv6 address other than lo0.
		for _, x := range s.Interfaces() {
			if x != s.lo && x.ifp.Type() != 0 {
				return x, dst.WithZone(""), nil
			}
		}
	}
	r, nh := s.lookupRoute(dst)
	if r == nil || (o.dontroute && r.gw.IsValid()) {
		return nil, netip.Addr{}, syscall.EHOSTUNREACH
	}
	return r.ifa, nh.WithZone(""), nil
}

// ip6Fragment cuts a packet into fragments with a Fragment header each
// (RFC 8200 section 4.5); the unfragmentable part is the IPv6 header alone,
// since the stack adds no extension headers of its own.
func (s *Stack) ip6Fragment(ifa *Iface, m *mbuf.Mbuf, nexthop netip.Addr, mtu int) error {
	st := &s.Stats.IP6
	if m.Csum.Delayed {
		var err error
		if m, err = s.finishCsum(m); err != nil {
			mbuf.FreeChain(m)
			return err
		}
	}
	var hb [header.IPv6Len]byte
	mbuf.CopyData(m, 0, hb[:])
	h := header.IPv6(hb[:])
	next := h.NextHeader()
	total := mbuf.Length(m)
	chunk := (mtu - header.IPv6Len - 8) &^ 7
	if chunk <= 0 {
		mbuf.FreeChain(m)
		return syscall.EMSGSIZE
	}
	id := uint32(s.rand64())
	st.Fragmented.Add(1)
	var err error
	for off := header.IPv6Len; off < total; off += chunk {
		n := min(chunk, total-off)
		fm := s.pool.GetHdr(mbuf.MT_DATA, header.IPv6Len+8, linkHdrRoom)
		b := fm.Extend(header.IPv6Len + 8)
		copy(b, hb[:])
		fh := header.IPv6(b)
		fh.SetNextHeader(header.ProtoIPv6Frag)
		fh.SetPayloadLen(8 + n)
		header.BuildIPv6Fragment(b[header.IPv6Len:], next, off-header.IPv6Len, off+n < total, id)
		fm.Next = mbuf.Copy(m, off, n)
		fm.PktLen = header.IPv6Len + 8 + n
		st.OFragments.Add(1)
		if e := s.linkOutput(ifa, fm, nexthop); e != nil && err == nil {
			err = e
		}
	}
	mbuf.FreeChain(m)
	return err
}

// ip6Input is ip6_input: check the header, trim to the payload length,
// walk the extension headers (reassembling fragments), and deliver what is
// for us or forward the rest when the stack routes.
func (s *Stack) ip6Input(ifa *Iface, m *mbuf.Mbuf) {
	st := &s.Stats.IP6
	st.Total.Add(1)
	m, err := mbuf.Pullup(m, header.IPv6Len)
	if err != nil {
		st.TooSmall.Add(1)
		mbuf.FreeChain(m)
		return
	}
	h := header.IPv6(m.Data())
	if h.Version() != 6 {
		st.BadVers.Add(1)
		mbuf.FreeChain(m)
		return
	}
	pktlen := mbuf.Length(m)
	if err := h.Check(pktlen); err != nil {
		st.TooShort.Add(1)
		mbuf.FreeChain(m)
		return
	}
	if want := header.IPv6Len + h.PayloadLen(); pktlen > want {
		mbuf.Adj(m, want-pktlen)
	}
	src, dst := h.Src(), h.Dst()
	if src.IsMulticast() || dst.IsUnspecified() {
		st.BadOptions.Add(1)
		mbuf.FreeChain(m)
		return
	}
	ours := false
	if dst.IsMulticast() {
		ours = s.inGroup(ifa, dst)
		if !ours {
			st.MulticastNoGrp.Add(1)
			mbuf.FreeChain(m)
			return
		}
	} else {
		_, ours = s.isLocal(dst)
	}
	if !ours {
		if s.forwarding6.Load() && !dst.IsLinkLocalUnicast() && !src.IsLinkLocalUnicast() {
			s.ip6Forward(ifa, m)
			return
		}
		st.NotForUs.Add(1)
		mbuf.FreeChain(m)
		return
	}
	s.ip6Deliver(ifa, m)
}

// ip6Deliver walks the extension headers of a packet for us and gives the
// upper-layer payload to its protocol.
func (s *Stack) ip6Deliver(ifa *Iface, m *mbuf.Mbuf) {
	st := &s.Stats.IP6
	// The headers up to the upper layer must be contiguous to be walked;
	// they are small, so pull up what the packet has, at most 1 KiB.
	walk := min(mbuf.Length(m), 1024)
	m, err := mbuf.Pullup(m, walk)
	if err != nil {
		mbuf.FreeChain(m)
		return
	}
	h := header.IPv6(m.Data())
	var sawFrag, paramErr bool
	upper, off, err := header.IPv6ExtHeaders(h.NextHeader(), m.Data()[header.IPv6Len:walk], func(typ uint8, hdr []byte) error {
		switch typ {
		case header.ProtoIPv6Frag:
			sawFrag = true
		case header.ProtoIPv6Hop, header.ProtoIPv6Dst:
			if !ip6OptionsOK(hdr) {
				paramErr = true
			}
		case header.ProtoIPv6Route:
			if len(hdr) >= 4 && hdr[3] != 0 { // segments left: we route no source routes
				paramErr = true
			}
		}
		return nil
	})
	if err != nil || paramErr {
		st.BadOptions.Add(1)
		s.icmp6Error(m, header.ICMPv6ParamProblem, 0, 0, ifa)
		mbuf.FreeChain(m)
		return
	}
	off += header.IPv6Len
	if sawFrag {
		m = s.ip6Reassemble(ifa, m)
		if m == nil {
			return
		}
		s.ip6Deliver(ifa, m)
		return
	}
	st.Delivered.Add(1)
	rawTook := s.raw6.input(s, ifa, m, off, upper)
	switch upper {
	case header.ProtoICMPv6:
		s.icmp6Input(ifa, m, off)
	case header.ProtoUDP:
		s.udpInput(ifa, m, off, true)
	case header.ProtoTCP:
		s.tcpInput(ifa, m, off, true)
	case header.ProtoIPv6NoNext:
		mbuf.FreeChain(m)
	default:
		if !rawTook {
			st.NoProto.Add(1)
			s.icmp6Error(m, header.ICMPv6ParamProblem, 1, uint32(off), ifa)
		}
		mbuf.FreeChain(m)
	}
}

// ip6OptionsOK walks Hop-by-Hop or Destination options: an unknown option
// whose action bits say discard makes the packet bad (RFC 8200 4.2).
func ip6OptionsOK(hdr []byte) bool {
	if len(hdr) < 2 {
		return false
	}
	b := hdr[2:]
	for len(b) > 0 {
		t := b[0]
		if t == 0 { // Pad1
			b = b[1:]
			continue
		}
		if len(b) < 2 || int(b[1])+2 > len(b) {
			return false
		}
		if t != 1 && t>>6 != 0 { // not PadN, and unknown with a discard action
			return false
		}
		b = b[2+int(b[1]):]
	}
	return true
}

// ip6Reassemble takes a packet whose first extension header after the
// IPv6 header is a Fragment header (the only layout the stack accepts for
// fragments) and returns the reassembled packet when complete.
func (s *Stack) ip6Reassemble(ifa *Iface, m *mbuf.Mbuf) *mbuf.Mbuf {
	st := &s.Stats.IP6
	st.Fragments.Add(1)
	h := header.IPv6(m.Data())
	if h.NextHeader() != header.ProtoIPv6Frag || m.Len() < header.IPv6Len+8 {
		st.FragDropped.Add(1)
		mbuf.FreeChain(m)
		return nil
	}
	fh := header.IPv6Fragment(m.Data()[header.IPv6Len : header.IPv6Len+8])
	key := fragKey{src: h.Src(), dst: h.Dst(), id: fh.ID(), proto: fh.NextHeader()}
	off, more, next := fh.FragOffset(), fh.M(), fh.NextHeader()
	hdr := append([]byte(nil), m.Data()[:header.IPv6Len]...)
	mbuf.Adj(m, header.IPv6Len+8)
	if off == 0 && !more {
		// An atomic fragment (RFC 6946): the packet itself.
		st.Reassembled.Add(1)
		return s.ip6Rebuild(hdr, next, m)
	}
	hdr, payload := s.frag6.add(ifa, key, hdr, off, more, m)
	if payload == nil {
		return nil
	}
	st.Reassembled.Add(1)
	return s.ip6Rebuild(hdr, next, payload)
}

func (s *Stack) ip6Rebuild(hdr []byte, next uint8, payload *mbuf.Mbuf) *mbuf.Mbuf {
	h := s.pool.GetHdr(mbuf.MT_DATA, len(hdr), linkHdrRoom)
	copy(h.Extend(len(hdr)), hdr)
	ih := header.IPv6(h.Data())
	ih.SetNextHeader(next)
	n := mbuf.Length(payload)
	ih.SetPayloadLen(n)
	h.Next = payload
	h.PktLen = len(hdr) + n
	return h
}

// ip6Forward is ip6_forward: hop limit, route, and Packet Too Big instead
// of fragmenting.
func (s *Stack) ip6Forward(ifa *Iface, m *mbuf.Mbuf) {
	st := &s.Stats.IP6
	h := header.IPv6(m.Data())
	if h.HopLimit() <= 1 {
		st.CantForward.Add(1)
		s.icmp6Error(m, header.ICMPv6TimeExceeded, header.ICMPv6HopLimitExceeded, 0, ifa)
		mbuf.FreeChain(m)
		return
	}
	r, nexthop := s.lookupRoute(h.Dst())
	if r == nil {
		st.NoRoute.Add(1)
		st.CantForward.Add(1)
		s.icmp6Error(m, header.ICMPv6DestUnreachable, header.ICMPv6NoRoute, 0, ifa)
		mbuf.FreeChain(m)
		return
	}
	if mtu := r.ifa.ifp.MTU(); mbuf.Length(m) > mtu {
		st.CantFrag.Add(1)
		st.CantForward.Add(1)
		s.icmp6Error(m, header.ICMPv6PacketTooBig, 0, uint32(mtu), ifa)
		mbuf.FreeChain(m)
		return
	}
	var err error
	if m, err = s.writableHead(m, header.IPv6Len); err != nil {
		mbuf.FreeChain(m)
		return
	}
	h = header.IPv6(m.Data())
	h.SetHopLimit(h.HopLimit() - 1)
	st.Forward.Add(1)
	quote := s.quote(m, header.IPv6Len)
	defer mbuf.FreeChain(quote)
	err = s.linkOutput(r.ifa, m, nexthop)
	if err == syscall.EHOSTDOWN || err == syscall.EHOSTUNREACH {
		s.icmp6Error(quote, header.ICMPv6DestUnreachable, header.ICMPv6AddrUnreachable, 0, ifa)
	}
}
