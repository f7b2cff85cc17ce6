// Package mbuf implements bsdnet's packet buffers: chains of mbufs, each a
// window onto a reference-counted storage segment (a cluster), linked into
// packets by Next and into records or queues of packets by NextPkt, as in
// FreeBSD's mbuf(9).
//
// Storage is shared, not copied: Split and Copy hand out new mbufs that point
// into the same clusters and take a reference on them. A cluster may be
// written only while a single mbuf refers to it (Writable); the append paths
// check this before they use trailing space.
//
// Mbufs and clusters come from a Pool, one per stack, so that the
// steady-state data path allocates nothing. A nil *Pool is valid and
// allocates from the heap without recycling.
//
// Ownership is explicit: a function that takes an mbuf chain consumes it
// (frees it or links it elsewhere) unless its documentation says otherwise,
// and an mbuf must not be used after it was freed.
package mbuf

import (
	"fmt"
	"sync/atomic"
)

// Type says what an mbuf holds (FreeBSD's m_type).
type Type uint8

// The kinds of mbuf the socket layer distinguishes.
const (
	MT_DATA    Type = 1  // ordinary data
	MT_SONAME  Type = 8  // a socket address heading a record (Obj holds it)
	MT_CONTROL Type = 14 // a control message (ancillary data)
	MT_OOBDATA Type = 15 // expedited (out-of-band) data
)

// String returns the FreeBSD name of t.
func (t Type) String() string {
	switch t {
	case MT_DATA:
		return "MT_DATA"
	case MT_SONAME:
		return "MT_SONAME"
	case MT_CONTROL:
		return "MT_CONTROL"
	case MT_OOBDATA:
		return "MT_OOBDATA"
	}
	return fmt.Sprintf("MT_%d", uint8(t))
}

// Flags are an mbuf's m_flags.
type Flags uint16

// Mbuf flags, with FreeBSD's values.
const (
	M_PKTHDR Flags = 0x2 // first mbuf of a packet: PktLen is valid
	M_EOR    Flags = 0x4 // end of record
)

// Csum is a transport checksum left to be computed when the packet leaves
// on a link that can damage it (FreeBSD's CSUM_DELAY_DATA): the field at
// Start+Off holds the pseudo-header sum, and the checksum is the complement
// of the sum of every byte from Start to the packet's end. Start counts
// from the beginning of the network header; the network layer adds its
// header length when it prepends it.
type Csum struct {
	Delayed bool
	// UDP marks UDP's checksum, where a computed zero is sent as 0xffff
	// because zero means none (RFC 768); other protocols send zero.
	UDP   bool
	Start uint16
	Off   uint16
	// TSO is m_pkthdr.tso_segsz for a TCP segment larger than the MTU
	// (CSUM_TSO): the interface cuts it into segments of TSO bytes of
	// data; 0 for an ordinary packet.
	TSO uint16
}

// Mbuf is one buffer of a chain. The zero Mbuf is not usable; get one from a
// Pool.
type Mbuf struct {
	// Next links the mbufs of one packet or record (m_next).
	Next *Mbuf
	// NextPkt links packets or records in a queue (m_nextpkt).
	NextPkt *Mbuf
	// Obj carries an object in place of bytes: the Sockaddr of an MT_SONAME
	// mbuf, or the internalized rights of an MT_CONTROL mbuf. Freeing the
	// mbuf drops the reference; whoever frees rights must release them first.
	Obj any
	// PktLen is the length of the whole packet when M_PKTHDR is set.
	PktLen int
	// Csum describes a checksum left for the link to compute, on a packet
	// header mbuf (csum_flags / csum_data).
	Csum Csum

	cl    *cluster
	off   int // start of data within cl.b
	len   int // bytes of data
	Type  Type
	Flags Flags
	pool  *Pool
}

// cluster is the storage an mbuf points into. refs counts the mbufs that
// point into it; it goes back to its pool when the last one is freed.
type cluster struct {
	b     []byte
	refs  atomic.Int32
	class int8 // size class in the pool, or -1 when not pooled
}

// Len returns the number of data bytes in m alone (m_len).
func (m *Mbuf) Len() int { return m.len }

// Data returns m's bytes (mtod). The slice aliases the cluster: it may be
// written only when Writable reports true.
func (m *Mbuf) Data() []byte {
	if m.cl == nil {
		return nil
	}
	return m.cl.b[m.off : m.off+m.len : m.off+m.len]
}

// Writable reports whether m's storage is referenced by m alone, so that its
// bytes and its leading and trailing space may be written (M_WRITABLE).
func (m *Mbuf) Writable() bool { return m.cl != nil && m.cl.refs.Load() == 1 }

// Leading returns the free space before m's data, 0 if it is not writable
// (M_LEADINGSPACE).
func (m *Mbuf) Leading() int {
	if !m.Writable() {
		return 0
	}
	return m.off
}

// Trailing returns the free space after m's data, 0 if it is not writable
// (M_TRAILINGSPACE).
func (m *Mbuf) Trailing() int {
	if !m.Writable() {
		return 0
	}
	return len(m.cl.b) - m.off - m.len
}

// Size returns the bytes of storage m accounts for in a socket buffer
// (FreeBSD's MSIZE plus the cluster size, as sballoc charges sb_mbcnt).
func (m *Mbuf) Size() int {
	if m.cl == nil {
		return MSIZE
	}
	return MSIZE + len(m.cl.b)
}

// MSIZE is the accounting size of an mbuf header, as FreeBSD's MSIZE.
const MSIZE = 256

// Extend grows m's data by n bytes into its trailing space and returns the
// new bytes. It panics if the space is not there: callers check Trailing.
func (m *Mbuf) Extend(n int) []byte {
	if n > m.Trailing() {
		panic("mbuf: Extend beyond trailing space")
	}
	start := m.off + m.len
	m.len += n
	return m.cl.b[start : start+n]
}

// SetEOR marks m as the end of a record, or clears the mark.
func (m *Mbuf) SetEOR(on bool) {
	if on {
		m.Flags |= M_EOR
	} else {
		m.Flags &^= M_EOR
	}
}

// Last returns the last mbuf of the chain starting at m (m_last).
func (m *Mbuf) Last() *Mbuf {
	for m.Next != nil {
		m = m.Next
	}
	return m
}

// Length returns the number of data bytes in the chain starting at m
// (m_length). A nil chain has length 0.
func Length(m *Mbuf) int {
	n := 0
	for ; m != nil; m = m.Next {
		n += m.len
	}
	return n
}

// Count returns the number of mbufs in the chain and the bytes of storage
// they account for (the sb_mbcnt charge).
func Count(m *Mbuf) (mbufs, size int) {
	for ; m != nil; m = m.Next {
		mbufs++
		size += m.Size()
	}
	return mbufs, size
}

// Free frees m alone and returns its successor in the chain (m_free).
func (m *Mbuf) Free() *Mbuf {
	n := m.Next
	m.pool.put(m)
	return n
}

// FreeChain frees every mbuf of the chain starting at m (m_freem). A nil
// chain is allowed.
func FreeChain(m *Mbuf) {
	for m != nil {
		m = m.Free()
	}
}

// FreeQueue frees every packet of a NextPkt-linked queue and every mbuf of
// each packet.
func FreeQueue(m *Mbuf) {
	for m != nil {
		n := m.NextPkt
		FreeChain(m)
		m = n
	}
}

// Cat appends chain n to chain m (m_cat) and returns m, or n when m is nil.
// No bytes are moved.
func Cat(m, n *Mbuf) *Mbuf {
	if m == nil {
		return n
	}
	if n != nil {
		m.Last().Next = n
	}
	return m
}

// CopyData copies len(dst) bytes starting off bytes into the chain into dst
// (m_copydata) and returns how many it copied: fewer when the chain is
// shorter.
func CopyData(m *Mbuf, off int, dst []byte) int {
	for m != nil && off >= m.len {
		off -= m.len
		m = m.Next
	}
	n := 0
	for m != nil && n < len(dst) {
		n += copy(dst[n:], m.Data()[off:])
		off = 0
		m = m.Next
	}
	return n
}

// Bytes returns a copy of the chain's data in one new slice; for tests and
// slow paths.
func Bytes(m *Mbuf) []byte {
	b := make([]byte, Length(m))
	CopyData(m, 0, b)
	return b
}

// Adj trims n bytes from the front of the chain when n > 0, or -n bytes from
// its end when n < 0 (m_adj). Emptied mbufs stay in the chain with length 0;
// the packet header length follows.
func Adj(m *Mbuf, n int) {
	if m == nil || n == 0 {
		return
	}
	if n > 0 {
		left := n
		for mm := m; mm != nil && left > 0; mm = mm.Next {
			k := min(left, mm.len)
			mm.off += k
			mm.len -= k
			left -= k
		}
		if m.Flags&M_PKTHDR != 0 {
			m.PktLen -= n - left
		}
		return
	}
	trim := min(-n, Length(m))
	keep := Length(m) - trim
	for mm := m; mm != nil; mm = mm.Next {
		k := min(keep, mm.len)
		mm.len = k
		keep -= k
	}
	if m.Flags&M_PKTHDR != 0 {
		m.PktLen -= trim
	}
}

// Split cuts the chain at off bytes (m_split): m keeps the first off bytes
// and the returned chain holds the rest, sharing the storage of the mbuf that
// straddles the cut. It returns nil when off is at or past the end.
// Allocation cannot fail, so neither can Split.
func Split(m *Mbuf, off int) *Mbuf {
	if off < 0 || off >= Length(m) {
		return nil
	}
	var prev *Mbuf
	mm, rest := m, off
	for rest >= mm.len {
		rest -= mm.len
		prev, mm = mm, mm.Next
	}
	var n *Mbuf
	if rest == 0 && prev != nil {
		n = mm
		prev.Next = nil
	} else {
		n = mm.pool.getHdr(mm.Type)
		n.cl = mm.cl
		n.cl.refs.Add(1)
		n.off = mm.off + rest
		n.len = mm.len - rest
		n.Next = mm.Next
		n.Flags = mm.Flags & M_EOR
		mm.Flags &^= M_EOR
		mm.len = rest
		mm.Next = nil
	}
	if m.Flags&M_PKTHDR != 0 {
		n.Flags |= M_PKTHDR
		n.PktLen = m.PktLen - off
		m.PktLen = off
	}
	return n
}

// Copy returns a new chain that refers to n bytes of m's data starting off
// bytes in (m_copym), sharing storage. n < 0 means to the end; a negative
// off gives nil. Flags M_EOR carry over to the copy of the mbuf that bore
// them (as m_copym, an exact n stops before a trailing empty mbuf).
func Copy(m *Mbuf, off, n int) *Mbuf {
	if off < 0 {
		return nil
	}
	start, off0, n0 := m, off, n
	for m != nil && off >= m.len && !(off == 0 && m.len == 0) {
		off -= m.len
		m = m.Next
	}
	var head, tail *Mbuf
	for m != nil && n != 0 {
		k := m.len - off
		if n > 0 && k > n {
			k = n
		}
		c := m.pool.getHdr(m.Type)
		if m.cl != nil {
			c.cl = m.cl
			c.cl.refs.Add(1)
		}
		c.off = m.off + off
		c.len = k
		c.Obj = m.Obj
		if k == m.len-off {
			c.Flags = m.Flags & M_EOR
		}
		if head == nil {
			head = c
		} else {
			tail.Next = c
		}
		tail = c
		if n > 0 {
			n -= k
		}
		off = 0
		m = m.Next
	}
	if head != nil {
		head.Flags |= M_PKTHDR
		head.PktLen = Length(head)
		if start != nil && start.Flags&M_PKTHDR != 0 && off0 == 0 && n0 < 0 {
			head.Csum = start.Csum
		}
	}
	return head
}

// Pullup makes the first n bytes of the chain contiguous in its first mbuf
// (m_pullup) and returns the chain's new head. It fails, freeing nothing,
// when the chain holds fewer than n bytes.
func Pullup(m *Mbuf, n int) (*Mbuf, error) {
	if m.len >= n {
		return m, nil
	}
	if Length(m) < n {
		return m, fmt.Errorf("mbuf: pullup of %d bytes from a chain of %d", n, Length(m))
	}
	if m.Writable() && len(m.cl.b)-m.off >= n {
		for m.len < n {
			src := m.Next
			k := copy(m.cl.b[m.off+m.len:m.off+n], src.Data())
			m.len += k
			src.off += k
			src.len -= k
			if src.len == 0 {
				m.Flags |= src.Flags & M_EOR
				m.Next = src.Free()
			}
		}
		return m, nil
	}
	h := m.pool.Get(m.Type, n)
	h.Flags = m.Flags & M_PKTHDR
	h.PktLen = m.PktLen
	h.Csum = m.Csum
	m.Flags &^= M_PKTHDR
	h.len = n
	CopyData(m, 0, h.cl.b[h.off:h.off+n])
	Adj(m, n)
	for m != nil && m.len == 0 && (m.Next != nil || m.Flags&M_EOR == 0) {
		m = m.Free()
	}
	h.Next = m
	return h, nil
}

// String describes the chain for debugging: each mbuf's type, length and
// flags.
func (m *Mbuf) String() string {
	s := ""
	for ; m != nil; m = m.Next {
		if s != "" {
			s += " -> "
		}
		s += fmt.Sprintf("[%v len=%d", m.Type, m.len)
		if m.Flags&M_PKTHDR != 0 {
			s += fmt.Sprintf(" pkt=%d", m.PktLen)
		}
		if m.Flags&M_EOR != 0 {
			s += " EOR"
		}
		s += "]"
	}
	return s
}
