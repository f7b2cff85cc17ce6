package inet

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"syscall"

	"github.com/bsdnet/bsdnet/socket"
)

// inpcb is an Internet protocol control block (struct inpcb): a socket's
// addresses and its IP-level options.
type inpcb struct {
	so *socket.Socket // nil for a compact TIME_WAIT block
	t  *pcbTable
	v6 bool   // an AF_INET6 socket
	tw *tcptw // a TCP connection in TIME_WAIT without socket or control block

	// Guarded by the table's lock. Addresses are unmapped: an AF_INET6
	// socket talking IPv4 holds 4-byte addresses.
	laddr, faddr netip.Addr
	lport, fport uint16
	explicit     bool   // laddr was bound by the user, not chosen by connect
	proto        uint8  // a raw socket's protocol (inp_ip_p)
	indexed      bool   // in the table's connection hash or a wild list
	pidx         int32  // index in the table's port list, once indexed
	hnext        *inpcb // next in the connection hash bucket

	mu   sync.Mutex // the options below, and the source cache
	opts pcbOpts

	// The last source address handed to the receive buffer, kept so that a
	// steady peer costs no allocation per datagram.
	lastSrc  netip.Addr
	lastPort uint16
	lastSA   socket.Sockaddr
}

// fromSockaddr returns the socket address of a datagram's source, reusing
// the last one when the source has not changed.
func (p *inpcb) fromSockaddr(src netip.Addr, port uint16) socket.Sockaddr {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lastSA != nil && p.lastSrc == src && p.lastPort == port {
		return p.lastSA
	}
	sa := p.makeSockaddr(src, port)
	p.lastSrc, p.lastPort, p.lastSA = src, port, sa
	return sa
}

// pcbOpts are the IP-level options of a socket.
type pcbOpts struct {
	v6only      bool
	ttl         int // IP_TTL / IPV6_UNICAST_HOPS; -1 default
	tos         uint8
	mttl        int // IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS; -1 default
	mloop       bool
	mif         *Iface // IP_MULTICAST_IF / IPV6_MULTICAST_IF
	recvdstaddr bool
	recvif      bool
	recvttl     bool
	recvpktinfo bool
	dontfrag    bool
	hdrincl     bool
	groups      []membership
}

type membership struct {
	group netip.Addr
	ifa   *Iface
}

func (p *inpcb) options() pcbOpts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.opts
}

// ttlTos is the IP_TTL and IP_TOS of p's packets, without copying the
// rest of its options (TCP reads them for every segment).
func (p *inpcb) ttlTos() (int, uint8) {
	p.mu.Lock()
	ttl, tos := p.opts.ttl, p.opts.tos
	p.mu.Unlock()
	return ttl, tos
}

// pcbTable is a protocol's table of control blocks (struct inpcbinfo).
//
// Locking: mu guards the maps, the lists and the hash, and the addresses,
// indexed and hnext of every block in the table.
//
// A block bound to a port is in ports[port], in no particular order
// (FreeBSD's porthash): bind conflicts, broadcast delivery and ICMP
// notification walk that list. A block knows its index there, so that it
// leaves in constant time. A connected block is also in conns, a hash by four-tuple
// (in_pcbhash), and an unconnected one in wild[port], so that an arriving
// segment costs one hash probe, or a walk of the port's few unconnected
// blocks, however many connections share the port.
//
// Blocks appended to ports[port] without being indexed form a suffix of
// the list; adoptLocked indexes them before anything reads or changes the
// port's indexes. (Accepted TCP connections are hashed at once, through
// hashConnected.)
type pcbTable struct {
	s     *Stack
	name  string
	mu    sync.RWMutex
	ports map[uint16][]*inpcb // bound blocks by local port
	wild  map[uint16][]*inpcb // unconnected bound blocks by local port, in bind order
	conns connHash            // connected blocks by four-tuple
}

func (t *pcbTable) init(s *Stack, name string) {
	t.s, t.name = s, name
	t.ports = make(map[uint16][]*inpcb)
	t.wild = make(map[uint16][]*inpcb)
	t.conns.seed = maphash.MakeSeed()
}

// connHash is a hash table of connected blocks by four-tuple, chained
// through inpcb.hnext, so that a connection costs the table one pointer
// and one bucket. Its hash has a random seed per table, against chains
// made long on purpose (FreeBSD's hashes are seeded likewise).
type connHash struct {
	seed    maphash.Seed
	buckets []*inpcb // a power of two long, or empty
	n       int      // blocks in the table
}

// connHashMin is the smallest bucket array.
const connHashMin = 64

func (h *connHash) bucket(laddr netip.Addr, lport uint16, faddr netip.Addr, fport uint16) uint64 {
	var b [36]byte
	l, f := laddr.As16(), faddr.As16()
	copy(b[:16], l[:])
	copy(b[16:32], f[:])
	b[32], b[33], b[34], b[35] = byte(lport>>8), byte(lport), byte(fport>>8), byte(fport)
	return maphash.Bytes(h.seed, b[:]) & uint64(len(h.buckets)-1)
}

// find returns the block with the four-tuple, or nil.
func (h *connHash) find(laddr netip.Addr, lport uint16, faddr netip.Addr, fport uint16) *inpcb {
	if h.n == 0 {
		return nil
	}
	for p := h.buckets[h.bucket(laddr, lport, faddr, fport)]; p != nil; p = p.hnext {
		if p.lport == lport && p.fport == fport && p.laddr == laddr && p.faddr == faddr {
			return p
		}
	}
	return nil
}

// insert adds p under its four-tuple, which no block in h has.
func (h *connHash) insert(p *inpcb) {
	if h.n >= len(h.buckets) {
		h.resize(max(connHashMin, 2*len(h.buckets)))
	}
	i := h.bucket(p.laddr, p.lport, p.faddr, p.fport)
	p.hnext = h.buckets[i]
	h.buckets[i] = p
	h.n++
}

// remove takes p out of h; it must be there.
func (h *connHash) remove(p *inpcb) {
	for pp := &h.buckets[h.bucket(p.laddr, p.lport, p.faddr, p.fport)]; *pp != nil; pp = &(*pp).hnext {
		if *pp == p {
			*pp = p.hnext
			p.hnext = nil
			h.n--
			break
		}
	}
	if len(h.buckets) > connHashMin && h.n < len(h.buckets)/8 {
		h.resize(len(h.buckets) / 4)
	}
}

// resize rehashes into n buckets.
func (h *connHash) resize(n int) {
	old := h.buckets
	h.buckets = make([]*inpcb, n)
	for _, p := range old {
		for p != nil {
			next := p.hnext
			i := h.bucket(p.laddr, p.lport, p.faddr, p.fport)
			p.hnext = h.buckets[i]
			h.buckets[i] = p
			p = next
		}
	}
}

// adoptLocked indexes the blocks appended to ports[port] outside this file
// (see pcbTable). The caller holds mu for writing.
func (t *pcbTable) adoptLocked(port uint16) {
	l := t.ports[port]
	i := len(l)
	for i > 0 && !l[i-1].indexed {
		i--
	}
	for ; i < len(l); i++ {
		l[i].pidx = int32(i)
		t.indexLocked(l[i])
	}
}

// unadoptedLocked reports whether ports[port] ends in blocks to adopt.
// The caller holds mu.
func (t *pcbTable) unadoptedLocked(port uint16) bool {
	l := t.ports[port]
	return len(l) > 0 && !l[len(l)-1].indexed
}

// indexLocked puts p, whose addresses are set, in the connection hash or
// its port's wild list. A second block with a four-tuple in the hash
// already is left out: lookups find the first.
func (t *pcbTable) indexLocked(p *inpcb) {
	p.indexed = true
	if !p.faddr.IsValid() {
		t.wild[p.lport] = append(t.wild[p.lport], p)
	} else if t.conns.find(p.laddr, p.lport, p.faddr, p.fport) == nil {
		t.conns.insert(p)
	}
}

// unindexLocked undoes indexLocked.
func (t *pcbTable) unindexLocked(p *inpcb) {
	if !p.indexed {
		return
	}
	p.indexed = false
	if !p.faddr.IsValid() {
		if l := removeFrom(t.wild[p.lport], p); len(l) == 0 {
			delete(t.wild, p.lport)
		} else {
			t.wild[p.lport] = l
		}
	} else if t.conns.find(p.laddr, p.lport, p.faddr, p.fport) == p {
		t.conns.remove(p)
	}
}

// hashLocked adds a block whose addresses are set to the table. The caller
// holds mu for writing and has adopted the port.
func (t *pcbTable) hashLocked(p *inpcb) {
	p.pidx = int32(len(t.ports[p.lport]))
	t.ports[p.lport] = append(t.ports[p.lport], p)
	t.indexLocked(p)
}

// hashConnected is in_pcbinshash for a connection made by a listener: it
// gives p the four-tuple and hashes it, or reports false when another
// block has that four-tuple already.
func (t *pcbTable) hashConnected(p *inpcb, laddr netip.Addr, lport uint16, faddr netip.Addr, fport uint16) bool {
	faddr = faddr.WithZone("")
	t.mu.Lock()
	defer t.mu.Unlock()
	t.adoptLocked(lport)
	if t.conns.find(laddr, lport, faddr, fport) != nil {
		return false
	}
	p.laddr, p.lport, p.faddr, p.fport, p.explicit = laddr, lport, faddr, fport, true
	t.hashLocked(p)
	return true
}

// removeFrom deletes p from l, keeping the order, without allocating.
func removeFrom(l []*inpcb, p *inpcb) []*inpcb {
	for i, x := range l {
		if x == p {
			copy(l[i:], l[i+1:])
			l[len(l)-1] = nil
			return l[:len(l)-1]
		}
	}
	return l
}

func (t *pcbTable) attach(so *socket.Socket, v6 bool) *inpcb {
	p := &inpcb{so: so, t: t, v6: v6}
	p.opts = pcbOpts{v6only: v6, ttl: -1, mttl: -1, mloop: true}
	so.PCB = p
	return p
}

func (t *pcbTable) detach(p *inpcb) {
	t.mu.Lock()
	t.unhashLocked(p)
	t.mu.Unlock()
	p.mu.Lock()
	groups := p.opts.groups
	p.opts.groups = nil
	p.mu.Unlock()
	for _, g := range groups {
		t.s.leaveGroup(g.ifa, g.group)
	}
}

func (t *pcbTable) unhashLocked(p *inpcb) {
	if p.lport == 0 {
		return
	}
	t.adoptLocked(p.lport)
	l := t.ports[p.lport]
	i := int(p.pidx)
	if !p.indexed || i >= len(l) || l[i] != p {
		return // not in the table
	}
	// The last block takes p's place.
	last := len(l) - 1
	l[i] = l[last]
	l[i].pidx = int32(i)
	l[last] = nil
	l = l[:last]
	t.unindexLocked(p)
	if len(l) == 0 {
		delete(t.ports, p.lport)
	} else {
		t.ports[p.lport] = l
	}
}

// sockaddr decodes a socket address for p's family: an AF_INET socket
// takes SockaddrInet4; an AF_INET6 socket takes SockaddrInet6, whose
// v4-mapped addresses mean IPv4 unless IPV6_V6ONLY is set. EAFNOSUPPORT for
// a wrong family; EINVAL for a v4-mapped address on a v6-only socket.
func (p *inpcb) sockaddr(sa socket.Sockaddr) (netip.Addr, uint16, error) {
	switch a := sa.(type) {
	case socket.SockaddrInet4:
		if p.v6 {
			return netip.Addr{}, 0, syscall.EAFNOSUPPORT
		}
		return netip.AddrFrom4(a.Addr), uint16(a.Port), portCheck(a.Port)
	case *socket.SockaddrInet4:
		if a == nil {
			return netip.Addr{}, 0, syscall.EINVAL
		}
		return p.sockaddr(*a)
	case socket.SockaddrInet6:
		if !p.v6 {
			return netip.Addr{}, 0, syscall.EAFNOSUPPORT
		}
		ad := netip.AddrFrom16(a.Addr)
		if ad.Is4In6() {
			if p.options().v6only {
				return netip.Addr{}, 0, syscall.EINVAL
			}
			ad = ad.Unmap()
		} else if a.ZoneId != 0 && (ad.IsLinkLocalUnicast() || ad.IsLinkLocalMulticast()) {
			ad = ad.WithZone(itoa(int(a.ZoneId)))
		}
		return ad, uint16(a.Port), portCheck(a.Port)
	case *socket.SockaddrInet6:
		if a == nil {
			return netip.Addr{}, 0, syscall.EINVAL
		}
		return p.sockaddr(*a)
	case nil:
		return netip.Addr{}, 0, syscall.EINVAL
	}
	return netip.Addr{}, 0, syscall.EAFNOSUPPORT
}

func portCheck(port int) error {
	if port < 0 || port > 65535 {
		return syscall.EINVAL
	}
	return nil
}

// makeSockaddr renders an address and port for p's family (v4-mapped for
// IPv4 peers of an AF_INET6 socket).
func (p *inpcb) makeSockaddr(a netip.Addr, port uint16) socket.Sockaddr {
	if !p.v6 {
		if !a.IsValid() {
			a = netip.IPv4Unspecified()
		}
		return socket.SockaddrInet4{Port: int(port), Addr: a.As4()}
	}
	if !a.IsValid() {
		a = netip.IPv6Unspecified()
	}
	var zone uint32
	if z := a.Zone(); z != "" {
		var n int
		for _, c := range z {
			n = n*10 + int(c-'0')
		}
		zone = uint32(n)
	}
	return socket.SockaddrInet6{Port: int(port), ZoneId: zone, Addr: a.As16()}
}

// family reports whether a pcb can carry traffic of address a's family.
func (p *inpcb) family(a netip.Addr) bool {
	if a.Is4() {
		return !p.v6 || !p.options().v6only
	}
	return p.v6
}

// reuse returns the SO_REUSEPORT-like bits that let binds share a port
// (FreeBSD's in_pcbbind_setup: SO_REUSEADDR counts as SO_REUSEPORT for a
// multicast address).
func reuseBits(so *socket.Socket, laddr netip.Addr) int {
	o := so.Options()
	r := o & socket.SO_REUSEPORT
	if laddr.IsMulticast() && o&socket.SO_REUSEADDR != 0 {
		r |= socket.SO_REUSEADDR | socket.SO_REUSEPORT
	}
	return r
}

// conflictLocked is in_pcblookup_local for bind: another block already on
// laddr:port that the new one may not share.
func (t *pcbTable) conflictLocked(p *inpcb, laddr netip.Addr, port uint16) bool {
	wild := p.so.Options()&(socket.SO_REUSEADDR|socket.SO_REUSEPORT) == 0
	reuse := reuseBits(p.so, laddr)
	for _, x := range t.ports[port] {
		if x == p || x.laddr.Is4() != laddr.Is4() && x.laddr.IsValid() && laddr.IsValid() {
			continue
		}
		if !wild && x.faddr.IsValid() {
			// With SO_REUSEADDR or SO_REUSEPORT the lookup is not a
			// wildcard one: connections (TIME_WAIT among them) never
			// conflict (in_pcblookup_local).
			continue
		}
		if !x.family(orAny(laddr, p.v6)) && !p.family(orAny(x.laddr, x.v6)) {
			continue
		}
		same := x.laddr == laddr
		if !same && !(wild && (!x.laddr.IsValid() || !laddr.IsValid())) {
			continue
		}
		if reuse&x.soOptions() != 0 {
			continue
		}
		return true
	}
	return false
}

// soOptions are the block's socket's options, or those its socket had
// for a compact TIME_WAIT block.
func (p *inpcb) soOptions() int {
	if p.so != nil {
		return p.so.Options()
	}
	if p.tw != nil {
		return p.tw.soOpts
	}
	return 0
}

func orAny(a netip.Addr, v6 bool) netip.Addr {
	if a.IsValid() {
		return a
	}
	if v6 {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}

// bind is in_pcbbind: laddr must be ours (or unspecified, or multicast);
// port 0 picks an ephemeral port; ports up to ReservedHigh need uid 0.
func (t *pcbTable) bind(p *inpcb, laddr netip.Addr, port uint16) error {
	if laddr.IsValid() && laddr.IsUnspecified() {
		laddr = netip.Addr{}
	}
	if laddr.IsValid() && !laddr.IsMulticast() {
		if _, ok := t.s.isLocal(laddr); !ok && !(laddr.Is4() && laddr == limitedBroadcast) {
			return syscall.EADDRNOTAVAIL
		}
	}
	if port != 0 && int(port) <= t.s.Tunables.ReservedHigh && p.so.Cred().Uid != 0 {
		return syscall.EACCES
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if p.lport != 0 || p.laddr.IsValid() {
		return syscall.EINVAL
	}
	if port != 0 {
		t.adoptLocked(port)
	}
	if port == 0 {
		var err error
		if port, err = t.ephemeralLocked(p, laddr); err != nil {
			return err
		}
	} else if t.conflictLocked(p, laddr, port) {
		return syscall.EADDRINUSE
	}
	p.laddr, p.lport, p.explicit = laddr, port, laddr.IsValid()
	t.hashLocked(p)
	return nil
}

// ephemeralLocked is in_pcb_lport: a random port in the ephemeral range,
// then the next free one (RFC 6056, algorithm 1).
func (t *pcbTable) ephemeralLocked(p *inpcb, laddr netip.Addr) (uint16, error) {
	return t.searchEphemeral(func(port uint16) bool {
		return !t.conflictLocked(p, laddr, port) && len(t.ports[port]) == 0
	})
}

// searchEphemeral returns the first port for which ok holds, trying the
// ephemeral range from a random place onwards (RFC 6056, algorithm 1);
// EADDRNOTAVAIL when none does.
func (t *pcbTable) searchEphemeral(ok func(port uint16) bool) (uint16, error) {
	first, last := t.s.Tunables.PortFirst, t.s.Tunables.PortLast
	if first > last {
		first, last = last, first
	}
	n := last - first + 1
	start := t.s.randN(n)
	for i := 0; i < n; i++ {
		if port := uint16(first + (start+i)%n); ok(port) {
			return port, nil
		}
	}
	return 0, syscall.EADDRNOTAVAIL
}

// connect is in_pcbconnect: choose a local address by the route when
// unbound, an ephemeral port when none, and record the peer.
func (t *pcbTable) connect(p *inpcb, faddr netip.Addr, fport uint16) error {
	if fport == 0 {
		return syscall.EADDRNOTAVAIL
	}
	if faddr.IsUnspecified() {
		// The "this host" destination is our primary (loopback) address.
		if faddr.Is4() {
			faddr = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		} else {
			faddr = netip.IPv6Loopback()
		}
	}
	t.mu.RLock()
	laddr := p.laddr
	t.mu.RUnlock()
	if !laddr.IsValid() {
		src, err := t.s.chooseSource(faddr, p)
		if err != nil {
			return err
		}
		laddr = src
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if p.lport == 0 {
		// An unbound socket: in_pcbconnect_setup's in_pcb_lport_dest.
		port, err := t.ephemeralDestLocked(laddr, faddr, fport)
		if err != nil {
			return err
		}
		p.laddr, p.lport, p.faddr, p.fport, p.explicit = laddr, port, faddr, fport, false
		t.hashLocked(p)
		return nil
	}
	t.adoptLocked(p.lport)
	if p.explicit {
		laddr = p.laddr
	}
	if x := t.conns.find(laddr, p.lport, faddr, fport); x != nil && x != p {
		return syscall.EADDRINUSE
	}
	t.unindexLocked(p)
	p.laddr, p.faddr, p.fport = laddr, faddr, fport
	t.indexLocked(p)
	return nil
}

// ephemeralDestLocked is in_pcb_lport_dest: a local port for a connection
// from laddr to faddr:fport, a random one in the ephemeral range, then the
// next that works (RFC 6056, algorithm 1). As in FreeBSD, a port already
// used by connections to other destinations may be shared: it must only
// not make a four-tuple that exists, nor meet an unconnected block bound
// to laddr or the wildcard on that port.
func (t *pcbTable) ephemeralDestLocked(laddr, faddr netip.Addr, fport uint16) (uint16, error) {
	return t.searchEphemeral(func(port uint16) bool {
		t.adoptLocked(port)
		if t.conns.find(laddr, port, faddr, fport) != nil {
			return false
		}
		for _, x := range t.wild[port] {
			if !x.laddr.IsValid() || x.laddr == laddr {
				return false
			}
		}
		return true
	})
}

// disconnect is in_pcbdisconnect, with udp_disconnect's reset of a local
// address that connect chose.
func (t *pcbTable) disconnect(p *inpcb) {
	t.mu.Lock()
	t.adoptLocked(p.lport)
	t.unindexLocked(p)
	p.faddr, p.fport = netip.Addr{}, 0
	if !p.explicit {
		p.laddr = netip.Addr{}
	}
	if p.lport != 0 {
		t.indexLocked(p)
	}
	t.mu.Unlock()
}

// chooseSource picks the local address for traffic to dst (in_pcbladdr):
// ENETUNREACH without a route.
func (s *Stack) chooseSource(dst netip.Addr, p *inpcb) (netip.Addr, error) {
	o := &ipOut{dst: dst}
	if dst.IsMulticast() {
		o.ifa = p.options().mif
	}
	var ifa *Iface
	var err error
	if dst.Is4() {
		ifa, _, err = s.routeOut(o)
	} else {
		ifa, _, err = s.routeOut6(o)
	}
	if err != nil {
		return netip.Addr{}, syscall.ENETUNREACH
	}
	src, ok := s.sourceFor(dst.WithZone(""), ifa)
	if !ok {
		return netip.Addr{}, syscall.EADDRNOTAVAIL
	}
	return src, nil
}

// lookup is in_pcblookup for an arriving unicast datagram: the connected
// block for the four-tuple first, then the best unconnected one bound to
// the port.
func (t *pcbTable) lookup(src netip.Addr, sport uint16, dst netip.Addr, dport uint16) *inpcb {
	src, dst = src.WithZone(""), dst.WithZone("")
	t.mu.RLock()
	if p := t.conns.find(dst, dport, src, sport); p != nil {
		t.mu.RUnlock()
		return p
	}
	if t.unadoptedLocked(dport) {
		// Connections to index first (see pcbTable).
		t.mu.RUnlock()
		t.mu.Lock()
		defer t.mu.Unlock()
		t.adoptLocked(dport)
		if p := t.conns.find(dst, dport, src, sport); p != nil {
			return p
		}
		return t.wildLookupLocked(dst, dport)
	}
	defer t.mu.RUnlock()
	return t.wildLookupLocked(dst, dport)
}

// wildLookupLocked is the wildcard half of in_pcblookup: the unconnected
// block on dport that best matches dst (a bound address beats the
// wildcard; a socket of the packet's own family beats a dual-stack one).
// The caller holds mu.
func (t *pcbTable) wildLookupLocked(dst netip.Addr, dport uint16) *inpcb {
	var best *inpcb
	bestScore := -1
	for _, p := range t.wild[dport] {
		if !p.family(dst) {
			continue
		}
		score := 0
		if p.laddr.IsValid() {
			if p.laddr != dst {
				continue
			}
			score++
		}
		if p.v6 == dst.Is6() {
			score++ // prefer a socket of the packet's own family
		}
		if score > bestScore {
			best, bestScore = p, score
		}
	}
	return best
}

// lookupAll returns every block that should get a copy of a broadcast or
// multicast datagram (FreeBSD delivers to each bound, matching socket).
func (t *pcbTable) lookupAll(src netip.Addr, sport uint16, dst netip.Addr, dport uint16, ifa *Iface) []*inpcb {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []*inpcb
	for _, p := range t.ports[dport] {
		if !p.family(dst) {
			continue
		}
		if p.laddr.IsValid() && p.laddr != dst && !(dst.Is4() && !dst.IsMulticast()) {
			continue
		}
		if p.faddr.IsValid() && (p.faddr != src.WithZone("") || p.fport != sport) {
			continue
		}
		if dst.IsMulticast() && !p.member(dst, ifa) {
			continue
		}
		out = append(out, p)
	}
	return out
}

func (p *inpcb) member(g netip.Addr, ifa *Iface) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.opts.groups {
		if m.group == g && (m.ifa == ifa || ifa == nil) {
			return true
		}
	}
	return false
}

// notify is in_pcbnotify: an ICMP error about a datagram we sent from
// laddr:lport to faddr:fport goes to the socket connected that way.
func (t *pcbTable) notify(laddr netip.Addr, lport uint16, faddr netip.Addr, fport uint16, errno syscall.Errno) {
	t.mu.RLock()
	var hit []*inpcb
	for _, p := range t.ports[lport] {
		if p.faddr.IsValid() && p.faddr == faddr.WithZone("") && p.fport == fport &&
			(!p.laddr.IsValid() || p.laddr == laddr.WithZone("")) {
			hit = append(hit, p)
		}
	}
	t.mu.RUnlock()
	for _, p := range hit {
		p.so.SetError(errno)
		p.so.Rwakeup()
		p.so.Wwakeup()
	}
}

// addrs returns the block's addresses under the table lock.
func (p *inpcb) addrs() (laddr netip.Addr, lport uint16, faddr netip.Addr, fport uint16) {
	p.t.mu.RLock()
	defer p.t.mu.RUnlock()
	return p.laddr, p.lport, p.faddr, p.fport
}
