package mbuf

import "sync"

// Cluster size classes, as FreeBSD's zones: MCLBYTES, MJUMPAGESIZE,
// MJUM16BYTES and a 64 KiB class for large stream writes.
const (
	MSMALL      = 256
	MCLBYTES    = 2048
	MJUMPAGE    = 4096
	MJUM16BYTES = 16 * 1024
	MJUM64BYTES = 64 * 1024
)

var classSizes = [...]int{MSMALL, MCLBYTES, MJUMPAGE, MJUM16BYTES, MJUM64BYTES}

// Pool recycles mbufs and clusters: one per stack, as FreeBSD has per-VNET
// UMA zones. A nil *Pool allocates from the heap and recycles nothing. A Pool
// is safe for concurrent use.
type Pool struct {
	hdrs     sync.Pool
	clusters [len(classSizes)]sync.Pool
}

// NewPool returns an empty pool.
func NewPool() *Pool { return new(Pool) }

// MaxCluster is the largest pooled cluster; larger requests get a cluster of
// their exact size that is not recycled.
const MaxCluster = MJUM64BYTES

func (p *Pool) getHdr(t Type) *Mbuf {
	var m *Mbuf
	if p != nil {
		if v := p.hdrs.Get(); v != nil {
			m = v.(*Mbuf)
		}
	}
	if m == nil {
		m = &Mbuf{pool: p}
	}
	m.Type = t
	return m
}

func (p *Pool) getCluster(size int) *cluster {
	for i, cs := range classSizes {
		if size <= cs {
			if p != nil {
				if v := p.clusters[i].Get(); v != nil {
					c := v.(*cluster)
					c.refs.Store(1)
					return c
				}
			}
			c := &cluster{b: make([]byte, cs), class: int8(i)}
			c.refs.Store(1)
			return c
		}
	}
	c := &cluster{b: make([]byte, size), class: -1}
	c.refs.Store(1)
	return c
}

// put returns m, and its cluster if m held the last reference, to the pool.
func (p *Pool) put(m *Mbuf) {
	if c := m.cl; c != nil {
		if c.refs.Add(-1) == 0 && c.class >= 0 && p != nil {
			p.clusters[c.class].Put(c)
		}
	}
	*m = Mbuf{pool: p}
	if p != nil {
		p.hdrs.Put(m)
	}
}

// Get returns an empty mbuf of type t with room for at least size bytes in
// one cluster (m_get2/m_getjcl). Its data starts at the cluster's beginning.
func (p *Pool) Get(t Type, size int) *Mbuf {
	m := p.getHdr(t)
	m.cl = p.getCluster(size)
	return m
}

// GetHdr is Get with M_PKTHDR set and leading bytes of free space reserved
// before the data for headers to be prepended (m_gethdr + M_ALIGN).
func (p *Pool) GetHdr(t Type, size, leading int) *Mbuf {
	m := p.Get(t, size+leading)
	m.Flags = M_PKTHDR
	m.off = leading
	return m
}

// GetObj returns a data-less mbuf of type t carrying obj, as an MT_SONAME or
// an internalized MT_CONTROL mbuf.
func (p *Pool) GetObj(t Type, obj any) *Mbuf {
	m := p.getHdr(t)
	m.Obj = obj
	return m
}

// Wrap returns an mbuf whose storage is b itself, not a copy: the zero-copy
// way to hand bytes to the stack. The caller gives b up: it must not touch b
// again, and b is never recycled into the pool.
func (p *Pool) Wrap(t Type, b []byte) *Mbuf {
	m := p.getHdr(t)
	c := &cluster{b: b, class: -1}
	c.refs.Store(1)
	m.cl = c
	m.len = len(b)
	return m
}

// CopyIn returns a chain holding a copy of b (m_uiotombuf from one buffer),
// in clusters of at most MaxCluster bytes, the first with M_PKTHDR set and
// leading bytes of space. An empty b gives one empty mbuf.
func (p *Pool) CopyIn(t Type, b []byte, leading int) *Mbuf {
	head := p.GetHdr(t, min(len(b), MaxCluster-leading), leading)
	head.PktLen = len(b)
	m := head
	for {
		n := copy(m.cl.b[m.off+m.len:], b)
		m.len += n
		b = b[n:]
		if len(b) == 0 {
			return head
		}
		next := p.Get(t, min(len(b), MaxCluster))
		m.Next = next
		m = next
	}
}

// Append copies b onto the end of the chain (m_append), into the last mbuf's
// trailing space first when it is writable, then into new mbufs of the
// chain's last type. A PktLen on the head follows. It returns the head, which
// is a new mbuf when m is nil.
func (p *Pool) Append(m *Mbuf, b []byte) *Mbuf {
	if m == nil {
		return p.CopyIn(MT_DATA, b, 0)
	}
	last := m.Last()
	if k := min(last.Trailing(), len(b)); k > 0 {
		copy(last.Extend(k), b)
		b = b[k:]
		if m.Flags&M_PKTHDR != 0 {
			m.PktLen += k
		}
	}
	if len(b) > 0 {
		n := p.CopyIn(last.Type, b, 0)
		n.Flags &^= M_PKTHDR
		last.Next = n
		if m.Flags&M_PKTHDR != 0 {
			m.PktLen += len(b)
		}
	}
	return m
}

// Prepend makes room for n bytes at the front of the chain (M_PREPEND), in
// the first mbuf's leading space when it is writable or in a new mbuf, and
// returns the new head, whose first n bytes are the new room. The packet
// header moves to the new head.
func (p *Pool) Prepend(m *Mbuf, n int) *Mbuf {
	if m.Leading() >= n {
		m.off -= n
		m.len += n
		if m.Flags&M_PKTHDR != 0 {
			m.PktLen += n
		}
		return m
	}
	h := p.Get(m.Type, n)
	h.off = len(h.cl.b) - n
	h.len = n
	h.Next = m
	if m.Flags&M_PKTHDR != 0 {
		h.Flags |= M_PKTHDR
		h.PktLen = m.PktLen + n
		h.Csum = m.Csum
		m.Flags &^= M_PKTHDR
		m.Csum = Csum{}
	}
	return h
}
