package inet

import (
	"net/netip"
	"syscall"

	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/mbuf"
)

// linkHdrRoom is the leading space left for link headers in packets the
// stack builds.
const linkHdrRoom = 16

// ipOut carries what ip_output needs beyond the packet (struct ip_moptions,
// the route and flags in one place).
type ipOut struct {
	src, dst  netip.Addr
	proto     uint8
	ttl       int // <0: the default
	tos       uint8
	df        bool   // IP_DONTFRAG (IPv4) / IPV6_DONTFRAG
	ifa       *Iface // forced outgoing interface (IP_MULTICAST_IF, a scoped address)
	broadcast bool   // SO_BROADCAST: broadcast destinations allowed
	mloop     bool   // deliver multicast to ourselves too (IP_MULTICAST_LOOP)
	dontroute bool   // SO_DONTROUTE: only directly connected destinations
}

// route4 picks the outgoing interface and next hop of an IPv4 packet.
func (s *Stack) routeOut(o *ipOut) (ifa *Iface, nexthop netip.Addr, err error) {
	dst := o.dst
	switch {
	case o.ifa != nil && (dst.IsMulticast() || o.dontroute || dst == limitedBroadcast):
		return o.ifa, dst, nil
	case dst == limitedBroadcast:
		// The interface of the source address, or the first that has an
		// IPv4 address.
		if o.src.IsValid() && !o.src.IsUnspecified() {
			if x, ok := s.isLocal(o.src); ok {
				return x, dst, nil
			}
		}
		for _, x := range s.Interfaces() {
			for _, p := range x.Addrs() {
				if p.Addr().Is4() && x != s.lo {
					return x, dst, nil
				}
			}
		}
		return nil, netip.Addr{}, syscall.ENETUNREACH
	}
	r, nh := s.lookupRoute(dst)
	if r == nil && dst.IsMulticast() {
		// No route for the group: the first interface that can carry it.
		return s.groupIface(dst), dst, nil
	}
	if r == nil || (o.dontroute && r.gw.IsValid()) {
		return nil, netip.Addr{}, syscall.EHOSTUNREACH
	}
	return r.ifa, nh, nil
}

var limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// ip4Output is ip_output: prepend an IPv4 header to the transport packet m
// (whose PktLen is its length), route it, fragment it if needed, and hand
// it to the link. It consumes m.
func (s *Stack) ip4Output(m *mbuf.Mbuf, o *ipOut) error {
	st := &s.Stats.IP
	ifa, nexthop, err := s.routeOut(o)
	if err != nil {
		st.NoRoute.Add(1)
		mbuf.FreeChain(m)
		return err
	}
	if !o.src.IsValid() || o.src.IsUnspecified() {
		src, ok := s.sourceFor(o.dst, ifa)
		if !ok {
			mbuf.FreeChain(m)
			return syscall.EADDRNOTAVAIL
		}
		o.src = src
	}
	if !o.broadcast && s.isBroadcast4(o.dst, ifa) {
		mbuf.FreeChain(m)
		return syscall.EACCES
	}
	ttl := o.ttl
	if ttl < 0 {
		ttl = s.Tunables.DefaultTTL
		if o.dst.IsMulticast() {
			ttl = 1
		}
	}
	plen := mbuf.Length(m)
	m = s.pool.Prepend(m, header.IPv4MinLen)
	f := header.IPv4Fields{
		TOS: o.tos, TotalLen: plen + header.IPv4MinLen, ID: uint16(s.ipid.Add(1)),
		DF: o.df, TTL: uint8(ttl), Protocol: o.proto, Src: o.src, Dst: o.dst,
	}
	f.Encode(m.Data()[:header.IPv4MinLen])
	m.Flags |= mbuf.M_PKTHDR
	m.PktLen = plen + header.IPv4MinLen
	if m.Csum.Delayed {
		m.Csum.Start += header.IPv4MinLen
	}
	st.LocalOut.Add(1)
	return s.ip4Send(ifa, m, nexthop, o.mloop)
}

// ip4Send sends a complete IPv4 packet out of ifa: a multicast copy to
// ourselves when asked, then fragments if it exceeds the MTU.
func (s *Stack) ip4Send(ifa *Iface, m *mbuf.Mbuf, nexthop netip.Addr, mloop bool) error {
	h := header.IPv4(m.Data())
	dst := h.Dst()
	if dst.IsMulticast() && mloop && s.inGroup(ifa, dst) {
		if c := mbuf.Copy(m, 0, -1); c != nil {
			s.ip4Input(ifa, c)
		}
	}
	mtu := ifa.ifp.MTU()
	if p := s.pathMTU(dst); p > 0 && p < mtu {
		mtu = p
	}
	if l := mbuf.Length(m); l <= mtu || m.Csum.TSO != 0 && l <= ifa.ifp.TSOMax() {
		return s.linkOutput(ifa, m, nexthop)
	}
	if h.DF() || m.Csum.TSO != 0 {
		// An offloaded TCP segment on an interface that no longer
		// takes one is refused, not fragmented (ip_output).
		s.Stats.IP.CantFrag.Add(1)
		mbuf.FreeChain(m)
		return syscall.EMSGSIZE
	}
	return s.ip4Fragment(ifa, m, nexthop, mtu)
}

// ip4Fragment is ip_fragment: cut the packet into fragments that fit mtu,
// each a new header followed by a shared slice of the payload.
func (s *Stack) ip4Fragment(ifa *Iface, m *mbuf.Mbuf, nexthop netip.Addr, mtu int) error {
	st := &s.Stats.IP
	if m.Csum.Delayed {
		var err error
		if m, err = s.finishCsum(m); err != nil {
			mbuf.FreeChain(m)
			return err
		}
	}
	h := header.IPv4(m.Data())
	hl := h.HeaderLen()
	hdr := append([]byte(nil), m.Data()[:hl]...)
	total := h.TotalLen()
	baseOff := h.FragOffset()
	moreAfter := h.MF()
	chunk := (mtu - hl) &^ 7
	if chunk <= 0 {
		mbuf.FreeChain(m)
		return syscall.EMSGSIZE
	}
	st.Fragmented.Add(1)
	var err error
	for off := hl; off < total; off += chunk {
		n := min(chunk, total-off)
		payload := mbuf.Copy(m, off, n)
		fm := s.pool.GetHdr(mbuf.MT_DATA, hl, linkHdrRoom)
		fh := header.IPv4(fm.Extend(hl))
		copy(fh, hdr)
		fh.SetTotalLen(hl + n)
		fh.SetFlagsFragOffset(false, moreAfter || off+n < total, baseOff+off-hl)
		fh.ComputeChecksum()
		fm.Next = payload
		fm.PktLen = hl + n
		st.OFragments.Add(1)
		if e := s.linkOutput(ifa, fm, nexthop); e != nil && err == nil {
			err = e
		}
	}
	mbuf.FreeChain(m)
	return err
}

// writableHead makes the first n bytes of the packet contiguous and
// writable, copying them when the storage is shared.
func (s *Stack) writableHead(m *mbuf.Mbuf, n int) (*mbuf.Mbuf, error) {
	if m.Writable() && m.Len() >= n {
		return m, nil
	}
	if mbuf.Length(m) < n {
		return m, syscall.EINVAL
	}
	h := s.pool.GetHdr(m.Type, n, linkHdrRoom)
	mbuf.CopyData(m, 0, h.Extend(n))
	h.PktLen = mbuf.Length(m)
	h.Csum = m.Csum
	mbuf.Adj(m, n)
	m.Flags &^= mbuf.M_PKTHDR
	m.Csum = mbuf.Csum{}
	h.Next = m
	return h, nil
}

// ip4Input is ip_input: check the header, trim the packet to its length,
// deliver it when it is for us (reassembling fragments first), forward it
// when the stack routes, or drop it.
func (s *Stack) ip4Input(ifa *Iface, m *mbuf.Mbuf) {
	st := &s.Stats.IP
	st.Total.Add(1)
	m, err := mbuf.Pullup(m, header.IPv4MinLen)
	if err != nil {
		st.TooSmall.Add(1)
		mbuf.FreeChain(m)
		return
	}
	h := header.IPv4(m.Data())
	if h.Version() != 4 {
		st.BadVers.Add(1)
		mbuf.FreeChain(m)
		return
	}
	hl := h.HeaderLen()
	if hl < header.IPv4MinLen {
		st.BadHdrLen.Add(1)
		mbuf.FreeChain(m)
		return
	}
	if m, err = mbuf.Pullup(m, hl); err != nil {
		st.BadHdrLen.Add(1)
		mbuf.FreeChain(m)
		return
	}
	h = header.IPv4(m.Data())
	pktlen := mbuf.Length(m)
	if err := h.Check(pktlen); err != nil {
		if h.TotalLen() > pktlen {
			st.TooShort.Add(1)
		} else {
			st.BadLen.Add(1)
		}
		mbuf.FreeChain(m)
		return
	}
	if ifa.ifp.Checksum.Load() && !h.ChecksumValid() {
		st.BadSum.Add(1)
		mbuf.FreeChain(m)
		return
	}
	if total := h.TotalLen(); pktlen > total {
		mbuf.Adj(m, total-pktlen)
	}
	if hl > header.IPv4MinLen {
		bad := false
		err := header.IPv4Options(h.Options(), func(typ uint8, _ []byte) {
			// Source routes are refused, as FreeBSD does by default
			// (net.inet.ip.accept_sourceroute=0).
			if typ == 131 || typ == 137 {
				bad = true
			}
		})
		if err != nil || bad {
			st.BadOptions.Add(1)
			mbuf.FreeChain(m)
			return
		}
	}
	src, dst := h.Src(), h.Dst()
	if src.IsMulticast() || src == limitedBroadcast {
		st.BadOptions.Add(1)
		mbuf.FreeChain(m)
		return
	}
	ours := false
	switch {
	case dst.IsMulticast():
		ours = s.inGroup(ifa, dst) || dst == allHosts
		if !ours {
			st.MulticastNoGrp.Add(1)
			mbuf.FreeChain(m)
			return
		}
	case s.isBroadcast4(dst, ifa):
		ours = true
	default:
		_, ours = s.isLocal(dst)
	}
	if !ours {
		if s.forwarding4.Load() {
			s.ip4Forward(ifa, m)
			return
		}
		st.NotForUs.Add(1)
		mbuf.FreeChain(m)
		return
	}
	if h.MF() || h.FragOffset() != 0 {
		st.Fragments.Add(1)
		m = s.frag4.input(ifa, m, fragKey{src: src, dst: dst, id: uint32(h.ID()), proto: h.Protocol()},
			hl, h.FragOffset(), h.MF())
		if m == nil {
			return
		}
		st.Reassembled.Add(1)
		hl = header.IPv4(m.Data()).HeaderLen() // the first fragment's header, not this one's
	}
	s.ip4Deliver(ifa, m, hl)
}

var allHosts = netip.AddrFrom4([4]byte{224, 0, 0, 1})

// ip4Deliver gives a packet for us to raw sockets and its protocol.
func (s *Stack) ip4Deliver(ifa *Iface, m *mbuf.Mbuf, hl int) {
	h := header.IPv4(m.Data())
	proto := h.Protocol()
	s.Stats.IP.Delivered.Add(1)
	rawTook := s.raw4.input(s, ifa, m, hl, proto)
	switch proto {
	case header.ProtoICMP:
		s.icmp4Input(ifa, m, hl)
	case header.ProtoUDP:
		s.udpInput(ifa, m, hl, false)
	case header.ProtoTCP:
		s.tcpInput(ifa, m, hl, false)
	default:
		if !rawTook {
			s.Stats.IP.NoProto.Add(1)
			s.icmp4Error(m, header.ICMPv4DestUnreachable, header.ICMPv4ProtoUnreachable, 0, ifa)
		}
		mbuf.FreeChain(m)
	}
}

// ip4Forward is ip_forward: decrement the TTL and send the packet on, or
// answer with the ICMP error that says why not.
func (s *Stack) ip4Forward(ifa *Iface, m *mbuf.Mbuf) {
	st := &s.Stats.IP
	h := header.IPv4(m.Data())
	if h.TTL() <= 1 {
		st.CantForward.Add(1)
		s.icmp4Error(m, header.ICMPv4TimeExceeded, header.ICMPv4TTLExceeded, 0, ifa)
		mbuf.FreeChain(m)
		return
	}
	dst := h.Dst()
	if dst == limitedBroadcast || s.isBroadcast4(dst, ifa) {
		st.CantForward.Add(1)
		mbuf.FreeChain(m)
		return
	}
	r, nexthop := s.lookupRoute(dst)
	if r == nil {
		st.NoRoute.Add(1)
		st.CantForward.Add(1)
		s.icmp4Error(m, header.ICMPv4DestUnreachable, header.ICMPv4HostUnreachable, 0, ifa)
		mbuf.FreeChain(m)
		return
	}
	hl := h.HeaderLen()
	var err error
	if m, err = s.writableHead(m, hl); err != nil {
		mbuf.FreeChain(m)
		return
	}
	h = header.IPv4(m.Data())
	h.SetTTL(h.TTL() - 1)
	h.ComputeChecksum()
	mtu := r.ifa.ifp.MTU()
	if mbuf.Length(m) > mtu && h.DF() {
		st.CantFrag.Add(1)
		st.CantForward.Add(1)
		s.icmp4Error(m, header.ICMPv4DestUnreachable, header.ICMPv4FragNeeded, mtu, ifa)
		mbuf.FreeChain(m)
		return
	}
	st.Forward.Add(1)
	// The quote for an unreachable answer, taken before the packet goes
	// (ip_forward's mcopy).
	quote := s.quote(m, hl)
	defer mbuf.FreeChain(quote)
	if mbuf.Length(m) > mtu {
		err = s.ip4Fragment(r.ifa, m, nexthop, mtu)
	} else {
		err = s.linkOutput(r.ifa, m, nexthop)
	}
	if err == syscall.EHOSTDOWN || err == syscall.EHOSTUNREACH || err == syscall.ENETUNREACH {
		s.icmp4Error(quote, header.ICMPv4DestUnreachable, header.ICMPv4HostUnreachable, 0, ifa)
	}
}

// quote copies a packet's network header and the first 8 bytes after it,
// what an ICMP error about it carries.
func (s *Stack) quote(m *mbuf.Mbuf, hl int) *mbuf.Mbuf {
	var b [header.IPv6Len + 8]byte
	n := mbuf.CopyData(m, 0, b[:min(hl+8, len(b))])
	return s.pool.CopyIn(mbuf.MT_DATA, b[:n], linkHdrRoom)
}
