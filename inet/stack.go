// Package inet implements IPv4 and IPv6 for bsdnet: interfaces' addresses,
// routing with longest-prefix match, ARP and neighbor discovery, ICMP and
// ICMPv6, fragmentation and reassembly, forwarding, protocol control blocks,
// UDP and raw sockets, following FreeBSD's sys/netinet and sys/netinet6.
//
// A Stack is the inet part of one VNET. It attaches the AF_INET and AF_INET6
// domains to the stack's socket layer and takes interfaces from package
// link. Packets move in the goroutine that sent them, down through the
// link and, on in-process links, up through the receiving stack, with no
// lock held across the handoff.
package inet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/bsdnet/bsdnet/link"
	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

// Config holds a Stack's settings.
type Config struct {
	// Seed fixes the stack's randomness (ephemeral ports, IP IDs): a
	// seeded run produces the same packets every time. 0 picks a random
	// seed.
	Seed uint64
	// Forwarding4 and Forwarding6 make the stack a router
	// (net.inet.ip.forwarding, net.inet6.ip6.forwarding).
	Forwarding4, Forwarding6 bool
}

// Stack is the IPv4 and IPv6 layer of one stack.
type Stack struct {
	vnet *socket.Vnet
	pool *mbuf.Pool

	rngMu sync.Mutex
	rng   *rand.Rand
	ipid  atomic.Uint32

	forwarding4, forwarding6 atomic.Bool
	// Tunables are the sysctl knobs.
	Tunables Tunables

	mu      sync.RWMutex // ifs, addresses, routes
	ifs     []*Iface
	ifsNow  atomic.Pointer[[]*Iface] // a copy of ifs, read on every packet without mu
	lo      *Iface
	routes4 rtable
	routes6 rtable

	arp nbrCache
	nd  nbrCache

	frag4 reassembly
	frag6 reassembly

	udp  pcbTable
	tcp  tcpStack
	raw4 rawTable
	raw6 rawTable

	icmpLimit  ratelim
	icmp6Limit ratelim

	pmtuMu sync.Mutex
	pmtu   map[netip.Addr]pmtuEntry
	npmtu  atomic.Int32 // len(pmtu), so that a stack that learned none takes no lock

	addrSnap atomic.Pointer[addrSnapshot]

	closed atomic.Bool // Close was called: input is dropped

	// Stats are the protocol counters netstat -s prints.
	Stats Stats
}

// Tunables are the stack's knobs.
type Tunables struct {
	PortFirst, PortLast int // net.inet.ip.portrange.first/last: ephemeral ports
	ReservedHigh        int // ports up to this need uid 0 (portrange.reservedhigh)
	DefaultTTL          int // net.inet.ip.ttl
	DefaultHops         int // net.inet6.ip6.hlim
	UDPSendspace        int // net.inet.udp.maxdgram
	UDPRecvspace        int // net.inet.udp.recvspace
	RawSendspace        int
	RawRecvspace        int
	ICMPLimit           int // net.inet.icmp.icmplim: errors per second
	MaxFragPackets      int // net.inet.ip.maxfragpackets
	MaxFragsPerPacket   int // net.inet.ip.maxfragsperpacket
	ArpMaxTries         int // net.link.ether.inet.max_tries... requests before giving up
	ArpHold             int // net.link.ether.inet.maxhold: packets held while resolving
}

// DefaultTunables are FreeBSD's defaults.
func DefaultTunables() Tunables {
	return Tunables{
		PortFirst: 10000, PortLast: 65535, ReservedHigh: 1023,
		DefaultTTL: 64, DefaultHops: 64,
		UDPSendspace: 9216, UDPRecvspace: 40 * (1024 + 16),
		RawSendspace: 9216, RawRecvspace: 9216,
		ICMPLimit:      200,
		MaxFragPackets: 1024, MaxFragsPerPacket: 16,
		ArpMaxTries: 5, ArpHold: 16,
	}
}

// Iface is an interface as the inet layer sees it: the link interface and
// its addresses.
type Iface struct {
	ifp    *link.Ifnet
	s      *Stack
	addrs  []netip.Prefix     // (Stack.mu)
	groups map[netip.Addr]int // joined multicast groups, with counts (Stack.mu)
}

// Ifnet returns the link interface.
func (ifa *Iface) Ifnet() *link.Ifnet { return ifa.ifp }

// Addrs returns the interface's addresses with their prefix lengths.
func (ifa *Iface) Addrs() []netip.Prefix {
	ifa.s.mu.RLock()
	defer ifa.s.mu.RUnlock()
	return append([]netip.Prefix(nil), ifa.addrs...)
}

// Attach adds the inet and inet6 domains to the socket layer v, with a
// loopback interface lo0 holding 127.0.0.1/8 and ::1/128.
func Attach(v *socket.Vnet, cfg Config) (*Stack, error) {
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	s := &Stack{
		vnet:     v,
		pool:     v.Pool,
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		Tunables: DefaultTunables(),
	}
	s.ipid.Store(uint32(s.rand64()))
	s.forwarding4.Store(cfg.Forwarding4)
	s.forwarding6.Store(cfg.Forwarding6)
	s.arp.init(s, false)
	s.nd.init(s, true)
	s.frag4.init(s)
	s.frag6.init(s)
	s.frag6.v6 = true
	s.pmtu = make(map[netip.Addr]pmtuEntry)
	s.udp.init(s, "udp")
	s.icmpLimit.init(&s.Tunables.ICMPLimit)
	s.icmp6Limit.init(&s.Tunables.ICMPLimit)
	if err := s.attachDomains(); err != nil {
		return nil, err
	}
	lo := link.NewLoopback("lo0")
	ifa, err := s.AddInterface(lo)
	if err != nil {
		return nil, err
	}
	s.lo = ifa
	if err := s.AddAddress(lo, netip.MustParsePrefix("127.0.0.1/8")); err != nil {
		return nil, err
	}
	if err := s.AddAddress(lo, netip.MustParsePrefix("::1/128")); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Stack) rand64() uint64 {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.Uint64()
}

func (s *Stack) randN(n int) int {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.IntN(n)
}

// Vnet returns the socket layer the stack is attached to.
func (s *Stack) Vnet() *socket.Vnet { return s.vnet }

// SetForwarding turns IPv4 and IPv6 forwarding on or off.
func (s *Stack) SetForwarding(v4, v6 bool) {
	s.forwarding4.Store(v4)
	s.forwarding6.Store(v6)
}

// AddInterface attaches a link interface to the stack: it gets the next
// index, the stack's mbuf pool and the stack's input routine, and an
// Ethernet interface gets its IPv6 link-local address (fe80::/64 from its
// hardware address, RFC 4291 appendix A) and the all-nodes group.
func (s *Stack) AddInterface(ifp *link.Ifnet) (*Iface, error) {
	s.mu.Lock()
	for _, x := range s.ifs {
		if x.ifp == ifp || x.ifp.Name() == ifp.Name() {
			s.mu.Unlock()
			return nil, fmt.Errorf("inet: interface %s: %w", ifp.Name(), syscall.EEXIST)
		}
	}
	ifa := &Iface{ifp: ifp, s: s, groups: make(map[netip.Addr]int)}
	s.ifs = append(s.ifs, ifa)
	snap := slices.Clone(s.ifs)
	s.ifsNow.Store(&snap)
	ifp.SetIndex(len(s.ifs))
	ifp.Pool = s.pool
	s.mu.Unlock()
	switch ifp.Type() {
	case link.Ethernet:
		ifp.SetInput(s.etherInput)
		if hw := ifp.HWAddr(); len(hw) == 6 {
			if err := s.AddAddress(ifp, netip.PrefixFrom(linkLocal(hw), 64)); err != nil {
				return nil, err
			}
		}
		s.joinGroup(ifa, allNodes)
	default:
		ifp.SetInput(s.nullInput)
	}
	return ifa, nil
}

var allNodes = netip.MustParseAddr("ff02::1")

// linkLocal makes fe80::/64 with the modified EUI-64 of a MAC address.
func linkLocal(hw []byte) netip.Addr {
	var a [16]byte
	a[0], a[1] = 0xfe, 0x80
	a[8] = hw[0] ^ 0x02
	a[9], a[10] = hw[1], hw[2]
	a[11], a[12] = 0xff, 0xfe
	a[13], a[14], a[15] = hw[3], hw[4], hw[5]
	return netip.AddrFrom16(a)
}

// Interfaces returns the stack's interfaces in index order.
func (s *Stack) Interfaces() []*Iface {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]*Iface(nil), s.ifs...)
}

// Interface returns the interface with the index, or nil.
func (s *Stack) Interface(index int) *Iface {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if index < 1 || index > len(s.ifs) {
		return nil
	}
	return s.ifs[index-1]
}

func (s *Stack) iface(ifp *link.Ifnet) *Iface {
	p := s.ifsNow.Load()
	if p == nil {
		return nil
	}
	if i := ifp.Index(); i >= 1 && i <= len(*p) && (*p)[i-1].ifp == ifp {
		return (*p)[i-1]
	}
	return nil
}

func (s *Stack) ifaceLocked(ifp *link.Ifnet) *Iface {
	if i := ifp.Index(); i >= 1 && i <= len(s.ifs) && s.ifs[i-1].ifp == ifp {
		return s.ifs[i-1]
	}
	return nil
}

// ErrNoInterface is returned for an interface the stack does not have.
var ErrNoInterface = errors.New("inet: no such interface")

// AddAddress gives an interface an address with its prefix (SIOCAIFADDR):
// the connected route for the prefix follows, and for IPv6 the
// solicited-node group. EEXIST if the stack has the address already.
func (s *Stack) AddAddress(ifp *link.Ifnet, p netip.Prefix) error {
	if !p.IsValid() {
		return syscall.EINVAL
	}
	p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits())
	s.mu.Lock()
	ifa := s.ifaceLocked(ifp)
	if ifa == nil {
		s.mu.Unlock()
		return ErrNoInterface
	}
	for _, x := range s.ifs {
		for _, a := range x.addrs {
			if a.Addr() == p.Addr() {
				s.mu.Unlock()
				return syscall.EEXIST
			}
		}
	}
	ifa.addrs = append(ifa.addrs, p)
	rt := s.table(p.Addr())
	rt.add(&route{dst: p.Masked(), ifa: ifa, connected: true})
	if ifa != s.lo && ifa.ifp.Type() != link.Null {
		// Traffic to our own address goes through lo0, as FreeBSD's
		// host route does.
		rt.add(&route{dst: netip.PrefixFrom(p.Addr(), p.Addr().BitLen()), ifa: s.loLocked(), local: true})
	}
	s.resnapLocked()
	s.mu.Unlock()
	if p.Addr().Is6() {
		s.joinGroup(ifa, solicitedNode(p.Addr()))
	}
	return nil
}

func (s *Stack) loLocked() *Iface {
	if s.lo != nil {
		return s.lo
	}
	return s.ifs[0]
}

// DeleteAddress removes an address and its routes.
func (s *Stack) DeleteAddress(ifp *link.Ifnet, a netip.Addr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ifa := s.ifaceLocked(ifp)
	if ifa == nil {
		return ErrNoInterface
	}
	for i, p := range ifa.addrs {
		if p.Addr() == a {
			ifa.addrs = append(ifa.addrs[:i:i], ifa.addrs[i+1:]...)
			rt := s.table(a)
			rt.del(p.Masked(), ifa)
			rt.del(netip.PrefixFrom(a, a.BitLen()), s.loLocked())
			s.resnapLocked()
			return nil
		}
	}
	return syscall.EADDRNOTAVAIL
}

func solicitedNode(a netip.Addr) netip.Addr {
	b := a.As16()
	return netip.AddrFrom16([16]byte{0xff, 0x02, 10: 0, 11: 1, 12: 0xff, 13: b[13], 14: b[14], 15: b[15]})
}

// isLocal reports whether a is one of the stack's addresses, and returns
// its interface.
func (s *Stack) isLocal(a netip.Addr) (*Iface, bool) {
	if snap := s.addrSnap.Load(); snap != nil {
		x, ok := snap.local[a.WithZone("")]
		return x, ok
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.isLocalLocked(a)
}

// addrSnapshot is a read-only view of the stack's addresses and routes,
// replaced whole when they change, so that the per-packet checks (is this
// ours, is it a broadcast) and route lookups take no lock.
type addrSnapshot struct {
	local            map[netip.Addr]*Iface
	bcast            map[*Iface][]netip.Addr // directed broadcasts of each interface
	routes4, routes6 *rtable                 // copies of the routing tables
}

// resnapLocked rebuilds the address snapshot; s.mu is held for writing.
// Every change to the addresses or the routes calls it.
func (s *Stack) resnapLocked() {
	snap := &addrSnapshot{
		local:   make(map[netip.Addr]*Iface),
		bcast:   make(map[*Iface][]netip.Addr),
		routes4: s.routes4.clone(),
		routes6: s.routes6.clone(),
	}
	for _, x := range s.ifs {
		for _, p := range x.addrs {
			if _, dup := snap.local[p.Addr()]; !dup {
				snap.local[p.Addr()] = x
			}
			if p.Addr().Is4() && p.Bits() < 31 {
				snap.bcast[x] = append(snap.bcast[x], broadcastOf(p))
			}
		}
	}
	s.addrSnap.Store(snap)
}

func (s *Stack) isLocalLocked(a netip.Addr) (*Iface, bool) {
	a = a.WithZone("")
	for _, x := range s.ifs {
		for _, p := range x.addrs {
			if p.Addr() == a {
				return x, true
			}
		}
	}
	return nil, false
}

// isBroadcast4 reports whether a is the limited broadcast or the directed
// broadcast of a prefix on ifa.
func (s *Stack) isBroadcast4(a netip.Addr, ifa *Iface) bool {
	if a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return true
	}
	if ifa == nil || !a.Is4() {
		return false
	}
	if snap := s.addrSnap.Load(); snap != nil {
		for _, b := range snap.bcast[ifa] {
			if a == b {
				return true
			}
		}
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, p := range ifa.addrs {
		if p.Addr().Is4() && p.Bits() < 31 && a == broadcastOf(p) {
			return true
		}
	}
	return false
}

func broadcastOf(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func (s *Stack) joinGroup(ifa *Iface, g netip.Addr) {
	s.mu.Lock()
	ifa.groups[g]++
	s.mu.Unlock()
}

func (s *Stack) leaveGroup(ifa *Iface, g netip.Addr) {
	s.mu.Lock()
	if ifa.groups[g] > 1 {
		ifa.groups[g]--
	} else {
		delete(ifa.groups, g)
	}
	s.mu.Unlock()
}

func (s *Stack) inGroup(ifa *Iface, g netip.Addr) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return ifa.groups[g] > 0
}

// route is a routing-table entry (rtentry/nhop).
type route struct {
	dst       netip.Prefix
	gw        netip.Addr // zero for a directly connected destination
	ifa       *Iface
	connected bool // the prefix of an address on ifa
	local     bool // one of our addresses, through lo0
}

// rtable is one family's routing table: routes by prefix length, searched
// longest first.
type rtable struct {
	byLen map[int]map[netip.Prefix][]*route
	lens  []int // prefix lengths present, longest first

	// v4, in the copies that snapshots hold, is byLen for IPv4 keyed by
	// the masked address as a number, which is quicker to look up.
	v4 []v4routes
}

// v4routes are the IPv4 routes of one prefix length.
type v4routes struct {
	mask   uint32
	routes map[uint32][]*route
}

func (t *rtable) add(r *route) {
	if t.byLen == nil {
		t.byLen = make(map[int]map[netip.Prefix][]*route)
	}
	n := r.dst.Bits()
	m := t.byLen[n]
	if m == nil {
		m = make(map[netip.Prefix][]*route)
		t.byLen[n] = m
		t.lens = append(t.lens, n)
		sort.Sort(sort.Reverse(sort.IntSlice(t.lens)))
	}
	m[r.dst] = append(m[r.dst], r)
}

func (t *rtable) del(dst netip.Prefix, ifa *Iface) bool {
	m := t.byLen[dst.Bits()]
	rs := m[dst]
	for i, r := range rs {
		if ifa == nil || r.ifa == ifa {
			rs = append(rs[:i:i], rs[i+1:]...)
			if len(rs) == 0 {
				delete(m, dst)
			} else {
				m[dst] = rs
			}
			return true
		}
	}
	return false
}

// clone returns a copy of t that later changes to t leave alone, with the
// IPv4 index built.
func (t *rtable) clone() *rtable {
	c := &rtable{lens: slices.Clone(t.lens), byLen: make(map[int]map[netip.Prefix][]*route, len(t.byLen))}
	for n, m := range t.byLen {
		cm := make(map[netip.Prefix][]*route, len(m))
		for p, rs := range m {
			cm[p] = slices.Clone(rs)
		}
		c.byLen[n] = cm
	}
	for _, n := range c.lens {
		if n > 32 {
			continue
		}
		v := v4routes{mask: ^uint32(0) << (32 - n), routes: make(map[uint32][]*route)}
		if n == 0 {
			v.mask = 0
		}
		for p, rs := range c.byLen[n] {
			if p.Addr().Is4() && len(rs) > 0 {
				b := p.Addr().As4()
				v.routes[binary.BigEndian.Uint32(b[:])] = rs
			}
		}
		if len(v.routes) > 0 {
			c.v4 = append(c.v4, v)
		}
	}
	return c
}

func (t *rtable) lookup(a netip.Addr) *route {
	if t.v4 != nil && a.Is4() {
		b := a.As4()
		ip := binary.BigEndian.Uint32(b[:])
		for _, v := range t.v4 {
			for _, r := range v.routes[ip&v.mask] {
				if r.ifa.ifp.Up() {
					return r
				}
			}
		}
		return nil
	}
	for _, n := range t.lens {
		p, err := a.Prefix(n)
		if err != nil {
			continue
		}
		if rs := t.byLen[n][p]; len(rs) > 0 {
			for _, r := range rs {
				if r.ifa.ifp.Up() {
					return r
				}
			}
		}
	}
	return nil
}

func (s *Stack) table(a netip.Addr) *rtable {
	if a.Is4() {
		return &s.routes4
	}
	return &s.routes6
}

// AddRoute adds a route to dst through gateway gw (zero for a destination
// on the link of ifp). With a gateway and no ifp, the interface is the one
// that reaches the gateway. ENETUNREACH when the gateway is not reachable.
func (s *Stack) AddRoute(dst netip.Prefix, gw netip.Addr, ifp *link.Ifnet) error {
	if !dst.IsValid() {
		return syscall.EINVAL
	}
	dst = dst.Masked()
	s.mu.Lock()
	defer s.mu.Unlock()
	var ifa *Iface
	if ifp != nil {
		if ifa = s.ifaceLocked(ifp); ifa == nil {
			return ErrNoInterface
		}
	} else if gw.IsValid() {
		r := s.table(gw).lookup(gw)
		if r == nil || !r.connected {
			return syscall.ENETUNREACH
		}
		ifa = r.ifa
	} else {
		return syscall.EINVAL
	}
	s.table(dst.Addr()).add(&route{dst: dst, gw: gw, ifa: ifa})
	s.resnapLocked()
	return nil
}

// DeleteRoute removes a route to dst (ESRCH when there is none).
func (s *Stack) DeleteRoute(dst netip.Prefix) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.table(dst.Addr()).del(dst.Masked(), nil) {
		return syscall.ESRCH
	}
	s.resnapLocked()
	return nil
}

// Route describes a routing-table entry, as netstat -r prints it.
type Route struct {
	Dst       netip.Prefix
	Gateway   netip.Addr
	Interface string
	Flags     string // U up, G gateway, H host, C connected, L local
}

// Routes returns the routing table, IPv4 then IPv6, longest prefixes first.
func (s *Stack) Routes() []Route {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Route
	for _, t := range []*rtable{&s.routes4, &s.routes6} {
		for _, n := range t.lens {
			var ps []netip.Prefix
			for p := range t.byLen[n] {
				ps = append(ps, p)
			}
			sort.Slice(ps, func(i, j int) bool { return ps[i].Addr().Less(ps[j].Addr()) })
			for _, p := range ps {
				for _, r := range t.byLen[n][p] {
					fl := "U"
					if r.gw.IsValid() {
						fl += "G"
					}
					if p.Bits() == p.Addr().BitLen() {
						fl += "H"
					}
					if r.connected {
						fl += "C"
					}
					if r.local {
						fl += "L"
					}
					out = append(out, Route{Dst: p, Gateway: r.gw, Interface: r.ifa.ifp.Name(), Flags: fl})
				}
			}
		}
	}
	return out
}

// lookupRoute finds the route to dst and the next hop on its link.
func (s *Stack) lookupRoute(dst netip.Addr) (r *route, nexthop netip.Addr) {
	if snap := s.addrSnap.Load(); snap != nil && dst.Zone() == "" {
		t := snap.routes4
		if !dst.Is4() {
			t = snap.routes6
		}
		return t.lookup(dst).nexthop(dst)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if z := dst.Zone(); z != "" && dst.IsLinkLocalUnicast() || dst.IsLinkLocalMulticast() && z != "" {
		// A scoped address names its link (RFC 4007).
		var idx int
		fmt.Sscan(z, &idx)
		if idx < 1 || idx > len(s.ifs) {
			return nil, netip.Addr{}
		}
		return &route{dst: netip.PrefixFrom(dst.WithZone(""), 128), ifa: s.ifs[idx-1], connected: true}, dst.WithZone("")
	}
	return s.table(dst).lookup(dst).nexthop(dst)
}

// nexthop returns r and the next hop toward dst by it: its gateway, or dst
// itself on a connected route. A nil r gives nil and no address.
func (r *route) nexthop(dst netip.Addr) (*route, netip.Addr) {
	if r == nil {
		return nil, netip.Addr{}
	}
	if r.gw.IsValid() {
		return r, r.gw
	}
	return r, dst
}

// sourceFor picks the source address for a packet to dst leaving through
// ifa (in_pcbladdr / in6_selectsrc, simplified): an address of ifa in the
// destination's family, preferring one whose prefix holds dst, and for IPv6
// a link-local source only for a link-local destination.
func (s *Stack) sourceFor(dst netip.Addr, ifa *Iface) (netip.Addr, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if ifa == s.lo && !dst.IsLoopback() {
		if x, ok := s.isLocalLocked(dst); ok {
			ifa = x
		}
	}
	var best netip.Addr
	for _, p := range ifa.addrs {
		a := p.Addr()
		if a.Is4() != dst.Is4() {
			continue
		}
		if a.Is6() && a.IsLinkLocalUnicast() != dst.IsLinkLocalUnicast() && !dst.IsMulticast() {
			if !best.IsValid() {
				best = a
			}
			continue
		}
		if p.Contains(dst) || a == dst {
			return a, true
		}
		if !best.IsValid() || best.Is6() && best.IsLinkLocalUnicast() && !a.IsLinkLocalUnicast() {
			best = a
		}
	}
	if best.IsValid() {
		return best, true
	}
	// Any address of the family (an unnumbered link).
	for _, x := range s.ifs {
		for _, p := range x.addrs {
			if p.Addr().Is4() == dst.Is4() && !p.Addr().IsLoopback() {
				return p.Addr(), true
			}
		}
	}
	return netip.Addr{}, false
}
