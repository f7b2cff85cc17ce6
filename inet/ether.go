package inet

import (
	"encoding/binary"
	"maps"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"weak"

	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/link"
	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

// etherInput is ether_input: check the destination, strip the header and
// hand the packet to ARP, IPv4 or IPv6.
func (s *Stack) etherInput(ifp *link.Ifnet, m *mbuf.Mbuf) {
	if s.closed.Load() {
		mbuf.FreeChain(m)
		return
	}
	m, err := mbuf.Pullup(m, header.EthernetLen)
	if err != nil {
		ifp.Stats.Ierrors.Add(1)
		mbuf.FreeChain(m)
		return
	}
	eh := header.Ethernet(m.Data())
	dst := eh.Dst()
	if dst[0]&1 == 0 && !equalMAC(dst, ifp.HWAddr()) && ifp.Flags()&link.IFF_PROMISC == 0 {
		ifp.Stats.Iqdrops.Add(1)
		mbuf.FreeChain(m)
		return
	}
	typ := eh.Type()
	mbuf.Adj(m, header.EthernetLen)
	ifa := s.iface(ifp)
	if ifa == nil {
		mbuf.FreeChain(m)
		return
	}
	switch typ {
	case header.EtherTypeARP:
		s.arpInput(ifa, m)
	case header.EtherTypeIPv4:
		s.ip4Input(ifa, m)
	case header.EtherTypeIPv6:
		s.ip6Input(ifa, m)
	default:
		ifp.Stats.Iqdrops.Add(1)
		mbuf.FreeChain(m)
	}
}

// nullInput is the input of DLT_NULL interfaces (lo0): a 4-byte address
// family in host order, then the packet.
func (s *Stack) nullInput(ifp *link.Ifnet, m *mbuf.Mbuf) {
	if s.closed.Load() {
		mbuf.FreeChain(m)
		return
	}
	m, err := mbuf.Pullup(m, link.NullHdrLen)
	if err != nil {
		ifp.Stats.Ierrors.Add(1)
		mbuf.FreeChain(m)
		return
	}
	af := binary.NativeEndian.Uint32(m.Data())
	mbuf.Adj(m, link.NullHdrLen)
	ifa := s.iface(ifp)
	if ifa == nil {
		mbuf.FreeChain(m)
		return
	}
	switch af {
	case socket.AF_INET:
		s.ip4Input(ifa, m)
	case socket.AF_INET6:
		s.ip6Input(ifa, m)
	default:
		ifp.Stats.Iqdrops.Add(1)
		mbuf.FreeChain(m)
	}
}

func equalMAC(a, b net.HardwareAddr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// linkOutput sends an IP packet out of ifa towards nexthop (ether_output
// or looutput): the link header is prepended, resolving the next hop's
// hardware address first on Ethernet. It consumes m.
func (s *Stack) linkOutput(ifa *Iface, m *mbuf.Mbuf, nexthop netip.Addr) error {
	ifp := ifa.ifp
	if m.Csum.Delayed && (ifp.Checksum.Load() || ifp.Tapped()) {
		var err error
		if m, err = s.finishCsum(m); err != nil {
			mbuf.FreeChain(m)
			return err
		}
	}
	switch ifp.Type() {
	case link.Null:
		af := uint32(socket.AF_INET)
		if nexthop.Is6() {
			af = socket.AF_INET6
		}
		m = s.pool.Prepend(m, link.NullHdrLen)
		binary.NativeEndian.PutUint32(m.Data(), af)
		return ifp.Transmit(m)
	case link.Ethernet:
		typ := uint16(header.EtherTypeIPv4)
		if nexthop.Is6() {
			typ = header.EtherTypeIPv6
		}
		var dst net.HardwareAddr
		switch {
		case nexthop.Is4() && s.isBroadcast4(nexthop, ifa):
			dst = header.BroadcastMAC()
		case nexthop.IsMulticast() && nexthop.Is4():
			dst = header.IPv4MulticastMAC(nexthop)
		case nexthop.IsMulticast():
			dst = header.IPv6MulticastMAC(nexthop)
		default:
			c := &s.arp
			if nexthop.Is6() {
				c = &s.nd
			}
			mac, err := c.resolve(ifa, nexthop, m, typ)
			if err != nil || mac == nil {
				return err // m is held until resolved, or was dropped
			}
			dst = mac
		}
		return s.etherSend(ifa, m, dst, typ)
	}
	mbuf.FreeChain(m)
	return syscall.EAFNOSUPPORT
}

// finishCsum computes a checksum left for the link (in_delayed_cksum).
func (s *Stack) finishCsum(m *mbuf.Mbuf) (*mbuf.Mbuf, error) {
	c := m.Csum
	start, field := int(c.Start), int(c.Start)+int(c.Off)
	m, err := s.writableHead(m, field+2)
	if err != nil {
		return m, err
	}
	sum := ^header.ChecksumMbuf(m, start, mbuf.Length(m)-start, 0)
	if sum == 0 && c.UDP {
		sum = 0xffff
	}
	binary.BigEndian.PutUint16(m.Data()[field:], sum)
	m.Csum = mbuf.Csum{}
	return m, nil
}

// etherSend prepends an Ethernet header and transmits.
func (s *Stack) etherSend(ifa *Iface, m *mbuf.Mbuf, dst net.HardwareAddr, typ uint16) error {
	m = s.pool.Prepend(m, header.EthernetLen)
	eh := header.Ethernet(m.Data())
	eh.SetDst(dst)
	eh.SetSrc(ifa.ifp.HWAddr())
	eh.SetType(typ)
	if err := ifa.ifp.Transmit(m); err != nil {
		return syscall.ENOBUFS
	}
	return nil
}

// Neighbor states.
const (
	nbrIncomplete = iota // resolving: packets are held
	nbrReachable         // known and fresh
	nbrStale             // known but old: used while being revalidated
	nbrFailed            // resolution failed: sends are refused for a while
)

// Neighbor-cache timing, from FreeBSD's defaults.
const (
	nbrRetrans   = time.Second      // between requests
	nbrAgeout    = 20 * time.Minute // net.link.ether.inet.max_age
	nbrDownTime  = 20 * time.Second // net.link.ether.inet.wait: how long a failure holds
	nd6Reachable = 30 * time.Second // ND6 REACHABLE_TIME
)

type nbrKey struct {
	ifindex int
	addr    netip.Addr
}

type nbrEntry struct {
	state  int
	mac    net.HardwareAddr
	hold   []heldPacket
	tries  int
	expire time.Time
	timer  *time.Timer // retransmits requests while resolving
	age    *time.Timer // takes a reachable entry off the fast path at expire
}

type heldPacket struct {
	m   *mbuf.Mbuf
	typ uint16
}

// nbrCache is ARP's table (v6 false) or the ND neighbor cache (v6 true).
//
// Locking: mu guards entries and everything in them. fast is read without
// it: it maps each reachable entry whose time has not run out to its
// hardware address, and is replaced whole, under mu, when that set
// changes. An entry's age timer takes it out of fast when it expires, as
// FreeBSD's llentry callout does; the next resolve then finds it under
// the lock, marks it stale and revalidates it.
type nbrCache struct {
	s       *Stack
	v6      bool
	mu      sync.Mutex
	entries map[nbrKey]*nbrEntry
	fast    atomic.Pointer[map[nbrKey]net.HardwareAddr]
}

func (c *nbrCache) init(s *Stack, v6 bool) {
	c.s, c.v6 = s, v6
	c.entries = make(map[nbrKey]*nbrEntry)
	c.fast.Store(&map[nbrKey]net.HardwareAddr{})
}

// publishLocked puts k, reachable at mac, on the fast path.
func (c *nbrCache) publishLocked(k nbrKey, mac net.HardwareAddr) {
	old := *c.fast.Load()
	if cur, ok := old[k]; ok && equalMAC(cur, mac) {
		return
	}
	m := make(map[nbrKey]net.HardwareAddr, len(old)+1)
	maps.Copy(m, old)
	m[k] = mac
	c.fast.Store(&m)
}

// unpublishLocked takes k off the fast path.
func (c *nbrCache) unpublishLocked(k nbrKey) {
	old := *c.fast.Load()
	if _, ok := old[k]; !ok {
		return
	}
	m := maps.Clone(old)
	delete(m, k)
	c.fast.Store(&m)
}

// armAgeLocked starts or restarts e's age timer for d. The timer holds the
// cache weakly, so that it does not keep a closed stack alive.
func (c *nbrCache) armAgeLocked(k nbrKey, e *nbrEntry, d time.Duration) {
	if e.age != nil {
		e.age.Reset(d)
		return
	}
	wc := weak.Make(c)
	e.age = time.AfterFunc(d, func() {
		if c := wc.Value(); c != nil {
			c.aged(k, e)
		}
	})
}

// aged takes an entry whose time ran out off the fast path.
func (c *nbrCache) aged(k nbrKey, e *nbrEntry) {
	c.mu.Lock()
	if c.entries[k] == e && e.state == nbrReachable && !time.Now().Before(e.expire) {
		c.unpublishLocked(k)
	}
	c.mu.Unlock()
}

func (c *nbrCache) stats() *ARPStats {
	if c.v6 {
		return &c.s.Stats.ND
	}
	return &c.s.Stats.ARP
}

// resolve is arpresolve / nd6_resolve: the hardware address of a on ifa.
// When unknown, m is held (the oldest held packet is dropped past the
// limit), a request goes out, and resolve returns nil, nil. After
// resolution failed, EHOSTDOWN for a while.
func (c *nbrCache) resolve(ifa *Iface, a netip.Addr, m *mbuf.Mbuf, typ uint16) (net.HardwareAddr, error) {
	k := nbrKey{ifa.ifp.Index(), a.WithZone("")}
	if mac, ok := (*c.fast.Load())[k]; ok {
		return mac, nil
	}
	now := time.Now()
	c.mu.Lock()
	e := c.entries[k]
	if e != nil {
		switch e.state {
		case nbrReachable, nbrStale:
			mac := e.mac
			if now.After(e.expire) && e.state == nbrReachable {
				c.unpublishLocked(k)
				e.state = nbrStale
				e.tries = 0
				c.armLocked(ifa, k, e)
				c.mu.Unlock()
				c.request(ifa, a)
				return mac, nil
			}
			c.mu.Unlock()
			return mac, nil
		case nbrFailed:
			if now.Before(e.expire) {
				c.mu.Unlock()
				mbuf.FreeChain(m)
				return nil, syscall.EHOSTDOWN
			}
			e.state, e.tries = nbrIncomplete, 0
		}
	} else {
		e = &nbrEntry{state: nbrIncomplete}
		c.entries[k] = e
	}
	hold := c.s.Tunables.ArpHold
	if len(e.hold) >= hold && len(e.hold) > 0 {
		mbuf.FreeChain(e.hold[0].m)
		e.hold = e.hold[1:]
		c.stats().Dropped.Add(1)
	}
	e.hold = append(e.hold, heldPacket{m, typ})
	send := e.timer == nil
	if send {
		c.armLocked(ifa, k, e)
	}
	c.mu.Unlock()
	if send {
		c.request(ifa, a)
	}
	return nil, nil
}

// armLocked starts the retransmission timer of an entry being resolved.
func (c *nbrCache) armLocked(ifa *Iface, k nbrKey, e *nbrEntry) {
	e.tries++
	e.timer = time.AfterFunc(nbrRetrans, func() { c.retransmit(ifa, k, e) })
}

func (c *nbrCache) retransmit(ifa *Iface, k nbrKey, e *nbrEntry) {
	c.mu.Lock()
	if c.entries[k] != e || e.state == nbrReachable {
		c.mu.Unlock()
		return
	}
	if e.tries >= c.s.Tunables.ArpMaxTries {
		held := e.hold
		e.hold, e.timer = nil, nil
		e.state, e.expire = nbrFailed, time.Now().Add(nbrDownTime)
		e.mac = nil
		c.mu.Unlock()
		c.stats().Timeouts.Add(1)
		// The held packets' senders learn that the host is unreachable
		// (arptimer and nd6_llinfo_timer answer them with ICMP).
		for _, h := range held {
			c.stats().Dropped.Add(1)
			if c.v6 {
				c.s.icmp6Error(h.m, header.ICMPv6DestUnreachable, header.ICMPv6AddrUnreachable, 0, ifa)
			} else {
				c.s.icmp4Error(h.m, header.ICMPv4DestUnreachable, header.ICMPv4HostUnreachable, 0, ifa)
			}
			mbuf.FreeChain(h.m)
		}
		return
	}
	c.armLocked(ifa, k, e)
	c.mu.Unlock()
	c.request(ifa, k.addr)
}

// update records that a is at mac on ifa (an ARP reply or request, an NA,
// a source link-layer option) and sends what was held. Without create only
// an existing entry is updated (RFC 826's merge rule).
func (c *nbrCache) update(ifa *Iface, a netip.Addr, mac net.HardwareAddr, create bool) {
	if len(mac) != 6 || mac[0]&1 != 0 {
		return
	}
	k := nbrKey{ifa.ifp.Index(), a.WithZone("")}
	c.mu.Lock()
	e := c.entries[k]
	if e == nil {
		if !create {
			c.mu.Unlock()
			return
		}
		e = &nbrEntry{}
		c.entries[k] = e
	}
	e.state = nbrReachable
	e.mac = append(net.HardwareAddr(nil), mac...)
	age := nbrAgeout
	if c.v6 {
		age = nd6Reachable
	}
	e.expire = time.Now().Add(age)
	if e.timer != nil {
		e.timer.Stop()
		e.timer = nil
	}
	c.publishLocked(k, e.mac)
	c.armAgeLocked(k, e, age)
	held := e.hold
	e.hold = nil
	mac = e.mac
	c.mu.Unlock()
	for _, h := range held {
		c.s.etherSend(ifa, h.m, mac, h.typ)
	}
}

// Neighbor is a neighbor-cache entry as arp -a and ndp -a print it.
type Neighbor struct {
	Addr      netip.Addr
	MAC       net.HardwareAddr
	Interface int
	State     string
}

// Neighbors returns the ARP and ND caches.
func (s *Stack) Neighbors() []Neighbor {
	var out []Neighbor
	for _, c := range []*nbrCache{&s.arp, &s.nd} {
		c.mu.Lock()
		for k, e := range c.entries {
			st := [...]string{"incomplete", "reachable", "stale", "failed"}[e.state]
			out = append(out, Neighbor{Addr: k.addr, MAC: e.mac, Interface: k.ifindex, State: st})
		}
		c.mu.Unlock()
	}
	return out
}

func (c *nbrCache) request(ifa *Iface, a netip.Addr) {
	c.stats().TxRequests.Add(1)
	if c.v6 {
		c.s.ndSolicit(ifa, a)
	} else {
		c.s.arpRequest(ifa, a)
	}
}

// arpRequest broadcasts who-has a.
func (s *Stack) arpRequest(ifa *Iface, a netip.Addr) {
	src, ok := s.sourceFor(a, ifa)
	if !ok {
		return
	}
	m := s.pool.GetHdr(mbuf.MT_DATA, header.ARPLen, header.EthernetLen)
	header.BuildARP(m.Extend(header.ARPLen), header.ARPRequest, ifa.ifp.HWAddr(), src, make(net.HardwareAddr, 6), a)
	m.PktLen = header.ARPLen
	s.etherSend(ifa, m, header.BroadcastMAC(), header.EtherTypeARP)
}

// arpInput is in_arpinput: learn the sender, answer requests for our
// addresses.
func (s *Stack) arpInput(ifa *Iface, m *mbuf.Mbuf) {
	st := &s.Stats.ARP
	st.Received.Add(1)
	m, err := mbuf.Pullup(m, header.ARPLen)
	if err != nil {
		st.Malformed.Add(1)
		mbuf.FreeChain(m)
		return
	}
	defer mbuf.FreeChain(m)
	a := header.ARP(m.Data())
	if a.Check() != nil {
		st.Malformed.Add(1)
		return
	}
	spa, tpa := a.SenderIP(), a.TargetIP()
	sha := append(net.HardwareAddr(nil), a.SenderHW()...)
	op := a.Op()
	if equalMAC(sha, ifa.ifp.HWAddr()) {
		return // our own
	}
	x, forUs := s.isLocal(tpa)
	forUs = forUs && x == ifa
	if op == header.ARPRequest {
		st.RxRequests.Add(1)
	} else if op == header.ARPReply {
		st.RxReplies.Add(1)
	}
	if spa.IsValid() && !spa.IsUnspecified() {
		s.arp.update(ifa, spa, sha, forUs)
	}
	if op != header.ARPRequest || !forUs {
		return
	}
	r := s.pool.GetHdr(mbuf.MT_DATA, header.ARPLen, header.EthernetLen)
	header.BuildARP(r.Extend(header.ARPLen), header.ARPReply, ifa.ifp.HWAddr(), tpa, sha, spa)
	r.PktLen = header.ARPLen
	st.TxReplies.Add(1)
	s.etherSend(ifa, r, sha, header.EtherTypeARP)
}
