package socket

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/bsdnet/bsdnet/mbuf"
)

// Vnet is one isolated network stack's socket layer (FreeBSD's VNET): its
// domains, its sockets, its tunables and its counters. Vnets share nothing.
type Vnet struct {
	// Pool supplies the stack's mbufs and clusters.
	Pool *mbuf.Pool
	// Stats counts socket-layer events for netstat.
	Stats Stats

	somaxconn atomic.Int32 // kern.ipc.soacceptqueue
	sbMax     atomic.Int64 // kern.ipc.maxsockbuf

	mu      sync.Mutex
	domains []*Domain
	socks   map[*Socket]struct{}
	gencnt  uint64
	closed  bool
	accf    map[string]*AcceptFilter
	log     func(string)
	waiters sync.Pool // *waiter, for sleeps
}

// Stats are the socket layer's counters.
type Stats struct {
	Sockets         atomic.Int64  // open sockets (kern.ipc.numopensockets)
	Created         atomic.Uint64 // sockets created, by Create or Newconn
	ListenOverflows atomic.Uint64 // connections refused by a full listen queue
	IncompDropped   atomic.Uint64 // incomplete connections aborted to make room
}

// SB_MAX is the default largest socket buffer (kern.ipc.maxsockbuf).
const SB_MAX = 2 * 1024 * 1024

// NewVnet returns an empty stack with FreeBSD's default tunables and its
// own mbuf pool.
func NewVnet() *Vnet {
	v := &Vnet{
		Pool:  mbuf.NewPool(),
		socks: make(map[*Socket]struct{}),
		accf:  make(map[string]*AcceptFilter),
	}
	v.somaxconn.Store(SOMAXCONN)
	v.sbMax.Store(SB_MAX)
	v.AddAcceptFilter(DataReady)
	v.AddAcceptFilter(HTTPReady)
	return v
}

// Somaxconn returns the listen-queue bound (kern.ipc.soacceptqueue).
func (v *Vnet) Somaxconn() int { return int(v.somaxconn.Load()) }

// SetSomaxconn sets kern.ipc.soacceptqueue; EINVAL outside 1..UINT_MAX/3.
func (v *Vnet) SetSomaxconn(n int) error {
	if n < 1 || n > 1<<31-1 {
		return syscall.EINVAL
	}
	v.somaxconn.Store(int32(n))
	return nil
}

// SbMax returns kern.ipc.maxsockbuf.
func (v *Vnet) SbMax() int { return int(v.sbMax.Load()) }

// SetSbMax sets kern.ipc.maxsockbuf; EINVAL below MSIZE+MCLBYTES.
func (v *Vnet) SetSbMax(n int) error {
	if n < mbuf.MSIZE+mbuf.MCLBYTES {
		return syscall.EINVAL
	}
	v.sbMax.Store(int64(n))
	return nil
}

// sbMaxAdj is sb_max_adj: the byte limit that keeps storage within sb_max.
func (v *Vnet) sbMaxAdj() int {
	return int(int64(v.SbMax()) * mbuf.MCLBYTES / (mbuf.MSIZE + mbuf.MCLBYTES))
}

// SetLogger sets where the stack's kernel messages (listen-queue overflow)
// go; nil discards them.
func (v *Vnet) SetLogger(f func(string)) {
	v.mu.Lock()
	v.log = f
	v.mu.Unlock()
}

func (v *Vnet) logf(format string, args ...any) {
	v.mu.Lock()
	f := v.log
	v.mu.Unlock()
	if f != nil {
		f(fmt.Sprintf(format, args...))
	}
}

// AddDomain attaches a domain to the stack (domain_add). EEXIST when the
// family is there already.
func (v *Vnet) AddDomain(d *Domain) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, o := range v.domains {
		if o.Family == d.Family {
			return syscall.EEXIST
		}
	}
	for _, pr := range d.Protos {
		pr.Domain = d
	}
	v.domains = append(v.domains, d)
	return nil
}

// Domain returns the domain of a family, or nil (pffinddomain).
func (v *Vnet) Domain(family int) *Domain {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, d := range v.domains {
		if d.Family == family {
			return d
		}
	}
	return nil
}

func (v *Vnet) register(so *Socket) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return syscall.ENETDOWN
	}
	v.gencnt++
	so.gencnt = v.gencnt
	v.socks[so] = struct{}{}
	v.Stats.Sockets.Add(1)
	v.Stats.Created.Add(1)
	return nil
}

func (v *Vnet) unregister(so *Socket) {
	v.mu.Lock()
	if _, ok := v.socks[so]; ok {
		delete(v.socks, so)
		v.Stats.Sockets.Add(-1)
	}
	v.mu.Unlock()
}

// Sockets returns the stack's live sockets, oldest first.
func (v *Vnet) Sockets() []*Socket {
	v.mu.Lock()
	out := make([]*Socket, 0, len(v.socks))
	for so := range v.socks {
		out = append(out, so)
	}
	v.mu.Unlock()
	slices.SortFunc(out, func(a, b *Socket) int { return int(a.gencnt - b.gencnt) })
	return out
}

// Close closes every socket the stack still has, aborting connections, and
// refuses new sockets. It returns once all are freed.
func (v *Vnet) Close() error {
	v.mu.Lock()
	v.closed = true
	v.mu.Unlock()
	for _, so := range v.Sockets() {
		so.closeAll()
	}
	return nil
}

// DisposeControl frees a control chain, releasing in-flight rights it holds.
func (v *Vnet) DisposeControl(control *mbuf.Mbuf) {
	for m := control; m != nil; m = m.Next {
		if r, ok := m.Obj.(Rights); ok {
			m.Obj = nil
			r.Release()
		}
	}
	mbuf.FreeChain(control)
}

// Rights is the internalized form of an SCM_RIGHTS message: the sockets it
// carries, each held (Hold) by the message until it is delivered or
// disposed of.
type Rights []*Socket

// Release drops the message's hold on every socket it carries.
func (r Rights) Release() {
	for _, so := range r {
		so.Close()
	}
}
