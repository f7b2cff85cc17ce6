package inet

import (
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/mbuf"
)

// Reassembly limits beyond the tunables.
const (
	fragTimeout  = 30 * time.Second // IPFRAGTTL: 60 slow-timer ticks of 500 ms
	fragMaxBytes = 4 << 20          // bytes held in reassembly queues, per family
)

// fragKey names the packet a fragment belongs to.
type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8
}

type fragPiece struct {
	off, end int
	m        *mbuf.Mbuf
}

// fragQueue is one packet being put back together (struct ipq).
type fragQueue struct {
	key    fragKey
	ifa    *Iface
	hdr    []byte // unfragmentable part, from the fragment at offset 0
	quote  []byte // that fragment's first bytes, for the timeout's ICMP error
	pieces []fragPiece
	total  int // length of the whole payload, -1 until the last fragment
	bytes  int
	timer  *time.Timer
}

// reassembly holds one family's reassembly queues.
type reassembly struct {
	s      *Stack
	v6     bool
	mu     sync.Mutex
	queues map[fragKey]*fragQueue
	bytes  int
}

func (r *reassembly) init(s *Stack) { r.s = s; r.queues = make(map[fragKey]*fragQueue) }

func (r *reassembly) stats() *IPStats {
	if r.v6 {
		return &r.s.Stats.IP6
	}
	return &r.s.Stats.IP
}

// input is the IPv4 entry: m is a fragment whose header is hl bytes.
// It returns the reassembled packet (header and payload) once complete.
func (r *reassembly) input(ifa *Iface, m *mbuf.Mbuf, key fragKey, hl, off int, more bool) *mbuf.Mbuf {
	hdr := append([]byte(nil), m.Data()[:hl]...)
	mbuf.Adj(m, hl)
	hdr, payload := r.add(ifa, key, hdr, off, more, m)
	if payload == nil {
		return nil
	}
	h := r.s.pool.GetHdr(mbuf.MT_DATA, len(hdr), linkHdrRoom)
	copy(h.Extend(len(hdr)), hdr)
	ih := header.IPv4(h.Data())
	n := len(hdr) + mbuf.Length(payload)
	ih.SetTotalLen(n)
	ih.SetFlagsFragOffset(ih.DF(), false, 0)
	ih.ComputeChecksum()
	h.Next = payload
	h.PktLen = n
	return h
}

// add files a fragment (payload m at byte offset off; more when others
// follow) and returns the unfragmentable header and the whole payload when
// the packet is complete. Overlapping fragments drop the whole packet (RFC
// 5722); limits on queues, fragments and bytes drop what exceeds them.
func (r *reassembly) add(ifa *Iface, key fragKey, hdr []byte, off int, more bool, m *mbuf.Mbuf) ([]byte, *mbuf.Mbuf) {
	st := r.stats()
	n := mbuf.Length(m)
	end := off + n
	if end > 65535 || (more && n%8 != 0) || n == 0 && more {
		st.FragDropped.Add(1)
		mbuf.FreeChain(m)
		return nil, nil
	}
	r.mu.Lock()
	q := r.queues[key]
	if q == nil {
		if len(r.queues) >= r.s.Tunables.MaxFragPackets || r.bytes+n > fragMaxBytes {
			r.mu.Unlock()
			st.FragDropped.Add(1)
			mbuf.FreeChain(m)
			return nil, nil
		}
		q = &fragQueue{key: key, ifa: ifa, total: -1}
		r.queues[key] = q
		q.timer = time.AfterFunc(fragTimeout, func() { r.expire(q) })
	}
	drop := func() ([]byte, *mbuf.Mbuf) {
		r.freeLocked(q)
		r.mu.Unlock()
		st.FragDropped.Add(1)
		mbuf.FreeChain(m)
		return nil, nil
	}
	if len(q.pieces) >= r.s.Tunables.MaxFragsPerPacket || r.bytes+n > fragMaxBytes {
		return drop()
	}
	if !more {
		if q.total >= 0 && q.total != end || len(q.pieces) > 0 && q.pieces[len(q.pieces)-1].end > end {
			return drop()
		}
		q.total = end
	}
	if q.total >= 0 && end > q.total {
		return drop()
	}
	for _, p := range q.pieces {
		if off < p.end && p.off < end {
			return drop() // overlap
		}
	}
	if off == 0 {
		q.hdr = hdr
		q.quote = make([]byte, 0, len(hdr)+8)
		q.quote = append(q.quote, hdr...)
		var b [8]byte
		k := mbuf.CopyData(m, 0, b[:])
		q.quote = append(q.quote, b[:k]...)
	}
	q.pieces = append(q.pieces, fragPiece{off, end, m})
	sort.Slice(q.pieces, func(i, j int) bool { return q.pieces[i].off < q.pieces[j].off })
	q.bytes += n
	r.bytes += n
	if q.total < 0 || q.hdr == nil {
		r.mu.Unlock()
		return nil, nil
	}
	at := 0
	for _, p := range q.pieces {
		if p.off != at {
			r.mu.Unlock()
			return nil, nil
		}
		at = p.end
	}
	if at != q.total {
		r.mu.Unlock()
		return nil, nil
	}
	var whole *mbuf.Mbuf
	for _, p := range q.pieces {
		whole = mbuf.Cat(whole, p.m)
	}
	q.pieces = nil
	hdr = q.hdr
	r.bytes -= q.bytes
	q.timer.Stop()
	delete(r.queues, key)
	r.mu.Unlock()
	return hdr, whole
}

func (r *reassembly) freeLocked(q *fragQueue) {
	for _, p := range q.pieces {
		mbuf.FreeChain(p.m)
	}
	q.pieces = nil
	r.bytes -= q.bytes
	q.timer.Stop()
	delete(r.queues, q.key)
}

// expire drops a packet not completed in time and, when its first fragment
// came, tells the sender (ICMP time exceeded in reassembly).
func (r *reassembly) expire(q *fragQueue) {
	r.mu.Lock()
	if r.queues[q.key] != q {
		r.mu.Unlock()
		return
	}
	k := len(q.pieces)
	quote := q.quote
	r.freeLocked(q)
	r.mu.Unlock()
	r.stats().FragTimeout.Add(uint64(k))
	if quote == nil {
		return
	}
	m := r.s.pool.CopyIn(mbuf.MT_DATA, quote, linkHdrRoom)
	if r.v6 {
		r.s.icmp6Error(m, header.ICMPv6TimeExceeded, header.ICMPv6ReassemblyTimeExceeded, 0, q.ifa)
	} else {
		r.s.icmp4Error(m, header.ICMPv4TimeExceeded, header.ICMPv4ReassemblyTimeExceeded, 0, q.ifa)
	}
	mbuf.FreeChain(m)
}

// Pending returns how many packets wait in reassembly, IPv4 and IPv6.
func (s *Stack) Pending() (v4, v6 int) {
	s.frag4.mu.Lock()
	v4 = len(s.frag4.queues)
	s.frag4.mu.Unlock()
	s.frag6.mu.Lock()
	v6 = len(s.frag6.queues)
	s.frag6.mu.Unlock()
	return v4, v6
}
