package socket

import (
	"context"
	"sync"
	"syscall"
	"time"

	"github.com/bsdnet/bsdnet/mbuf"
)

// Sockbuf is one of a socket's two buffers (struct sockbuf): the queue of
// records waiting to be read, or of data waiting to be sent, with its limits,
// its sleepers and its upcall.
//
// Locking: mu guards every field. Methods whose names end in Locked expect
// mu held (Lock/Unlock); the others take it. The socket-wide lock order is
// socket lock, then send buffer, then receive buffer; a protocol that moves
// data between two sockets may hold one socket's receive buffer while it
// takes the other's send buffer (never the reverse).
//
// Layout (uipc_sockbuf.c): a list of records linked by NextPkt; a record is
// an optional MT_SONAME mbuf, then MT_CONTROL mbufs, then data mbufs linked
// by Next. M_EOR on a data mbuf ends a record.
type Sockbuf struct {
	mu    sync.Mutex
	so    *Socket
	which int // SO_RCV or SO_SND

	state int // SBS_*
	flags int // SB_*

	acc   int // bytes available to read, control included (sb_acc)
	ccc   int // all bytes claimed (sb_ccc)
	ctl   int // non-data bytes (sb_ctl)
	mbcnt int // storage charged (sb_mbcnt)
	mbmax int // storage limit (sb_mbmax)
	hiwat int // byte limit (sb_hiwat)
	lowat int // low watermark (sb_lowat)
	timeo time.Duration

	mb         *mbuf.Mbuf // first mbuf of the first record
	mbtail     *mbuf.Mbuf // last mbuf of the last record
	lastrecord *mbuf.Mbuf // first mbuf of the last record

	upcall    Upcall
	upcallarg any

	wq  waitq   // sbwait sleepers
	sel selinfo // poll(2) waiters

	iobusy bool  // the I/O lock (so_snd_sx / so_rcv_sx) is held
	iowq   waitq // waiting for the I/O lock
}

// Upcall is a socket upcall: called by the socket layer with the buffer's
// lock held when the buffer becomes ready, with the argument given to
// UpcallSet and M_NOWAIT. It must not block or call back into the socket.
// It returns SU_OK, or SU_ISCONNECTED (SO_RCV only) to have the socket
// connected and the upcall removed.
type Upcall func(so *Socket, arg any, waitflag int) int

// Lock takes the buffer's lock (SOCKBUF_LOCK).
func (sb *Sockbuf) Lock() { sb.mu.Lock() }

// Unlock releases the buffer's lock.
func (sb *Sockbuf) Unlock() { sb.mu.Unlock() }

// Socket returns the socket that owns the buffer.
func (sb *Sockbuf) Socket() *Socket { return sb.so }

// AvailLocked returns the bytes available to read, control included (sbavail).
func (sb *Sockbuf) AvailLocked() int { return sb.acc }

// UsedLocked returns all bytes in the buffer (sbused).
func (sb *Sockbuf) UsedLocked() int { return sb.ccc }

// CtlLocked returns the non-data bytes in the buffer (sb_ctl).
func (sb *Sockbuf) CtlLocked() int { return sb.ctl }

// MbcntLocked returns the storage charged to the buffer (sb_mbcnt).
func (sb *Sockbuf) MbcntLocked() int { return sb.mbcnt }

// Hiwat returns the buffer's byte limit (sb_hiwat); it takes the lock.
func (sb *Sockbuf) Hiwat() int {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return sb.hiwat
}

// HiwatLocked returns sb_hiwat.
func (sb *Sockbuf) HiwatLocked() int { return sb.hiwat }

// MbmaxLocked returns sb_mbmax.
func (sb *Sockbuf) MbmaxLocked() int { return sb.mbmax }

// LowatLocked returns sb_lowat.
func (sb *Sockbuf) LowatLocked() int { return sb.lowat }

// StateLocked returns sb_state.
func (sb *Sockbuf) StateLocked() int { return sb.state }

// FlagsLocked returns sb_flags.
func (sb *Sockbuf) FlagsLocked() int { return sb.flags }

// SetFlagsLocked sets bits in sb_flags.
func (sb *Sockbuf) SetFlagsLocked(f int) { sb.flags |= f }

// ClearFlagsLocked clears bits in sb_flags.
func (sb *Sockbuf) ClearFlagsLocked(f int) { sb.flags &^= f }

// SpaceLocked returns the room left (sbspace): 0 while SB_STOP is set, else
// the smaller of the byte and storage room, which may be negative after a
// buffer was shrunk.
func (sb *Sockbuf) SpaceLocked() int {
	if sb.flags&SB_STOP != 0 {
		return 0
	}
	return min(sb.hiwat-sb.ccc, sb.mbmax-sb.mbcnt)
}

// acctLen is the length an mbuf is charged: its bytes, or the address length
// of an MT_SONAME mbuf.
func acctLen(m *mbuf.Mbuf) int {
	if m.Type == mbuf.MT_SONAME {
		if sa, ok := m.Obj.(Sockaddr); ok && sa != nil {
			return sa.Len()
		}
	}
	return m.Len()
}

// sballoc charges m to the buffer.
func (sb *Sockbuf) sballoc(m *mbuf.Mbuf) {
	n := acctLen(m)
	sb.ccc += n
	sb.acc += n
	if m.Type != mbuf.MT_DATA && m.Type != mbuf.MT_OOBDATA {
		sb.ctl += n
	}
	sb.mbcnt += m.Size()
}

// sbfree removes m's charge from the buffer.
func (sb *Sockbuf) sbfree(m *mbuf.Mbuf) {
	n := acctLen(m)
	sb.ccc -= n
	sb.acc -= n
	if m.Type != mbuf.MT_DATA && m.Type != mbuf.MT_OOBDATA {
		sb.ctl -= n
	}
	sb.mbcnt -= m.Size()
}

// Reserve is sbreserve_locked: set the byte limit to cc, and the storage
// limit to sb_efficiency times that within sb_max. ENOBUFS when cc exceeds
// the stack's limit for a buffer.
func (sb *Sockbuf) reserveLocked(cc int) error {
	v := sb.so.vnet
	if cc <= 0 || cc > v.sbMaxAdj() {
		return syscall.ENOBUFS
	}
	sb.hiwat = cc
	sb.mbmax = min(cc*sbEfficiency, v.SbMax())
	if sb.lowat > sb.hiwat {
		sb.lowat = sb.hiwat
	}
	return nil
}

// ReserveLocked is sbreserve_locked for protocols that size their buffers
// themselves (TCP's automatic sizing): the byte limit becomes cc, ENOBUFS
// beyond the stack's limit for a buffer. The caller wakes writers if room
// grew.
func (sb *Sockbuf) ReserveLocked(cc int) error { return sb.reserveLocked(cc) }

// sbEfficiency is FreeBSD's sb_efficiency: storage allowed per byte.
const sbEfficiency = 8

// AppendLocked is sbappend_locked: add the chain to the last record, or start
// a new record when the last one ended with M_EOR, and wake nobody.
func (sb *Sockbuf) AppendLocked(m *mbuf.Mbuf) {
	if m == nil {
		return
	}
	if sb.mb == nil || sb.mbtail.Flags&mbuf.M_EOR != 0 {
		sb.AppendRecordLocked(m)
		return
	}
	sb.compress(m, sb.mbtail)
}

// AppendStreamLocked is sbappendstream_locked: the buffer is one stream of
// bytes; packet headers and record marks are dropped.
func (sb *Sockbuf) AppendStreamLocked(m *mbuf.Mbuf) {
	for n := m; n != nil; n = n.Next {
		n.Flags &^= mbuf.M_PKTHDR | mbuf.M_EOR
	}
	if sb.mb == nil {
		sb.AppendRecordLocked(m)
		return
	}
	sb.compress(m, sb.mbtail)
}

// AppendRecordLocked is sbappendrecord_locked: the chain becomes a new record.
// Empty records are kept.
func (sb *Sockbuf) AppendRecordLocked(m0 *mbuf.Mbuf) {
	if m0 == nil {
		return
	}
	m := m0.Next
	m0.Next = nil
	if m != nil && m0.Flags&mbuf.M_EOR != 0 {
		m0.Flags &^= mbuf.M_EOR
		m.Flags |= mbuf.M_EOR
	}
	sb.linkRecord(m0)
	sb.compress(m, m0)
}

// linkRecord puts m0 alone at the end of the record list.
func (sb *Sockbuf) linkRecord(m0 *mbuf.Mbuf) {
	m0.NextPkt = nil
	if sb.lastrecord != nil {
		sb.lastrecord.NextPkt = m0
	} else {
		sb.mb = m0
	}
	sb.lastrecord = m0
	sb.mbtail = m0
	sb.sballoc(m0)
}

// compress is sbcompress: link chain m after n (the buffer's tail, or nil for
// an empty buffer), folding small mbufs into writable trailing space and
// dropping empty ones, while keeping M_EOR on the last.
func (sb *Sockbuf) compress(m, n *mbuf.Mbuf) {
	eor := false
	for m != nil {
		eor = eor || m.Flags&mbuf.M_EOR != 0
		if m.Len() == 0 && m.Type != mbuf.MT_SONAME && m.Obj == nil &&
			(!eor || (n != nil && n.Flags&mbuf.M_EOR == m.Flags&mbuf.M_EOR)) {
			m = m.Free()
			continue
		}
		if n != nil && n.Flags&mbuf.M_EOR == 0 && n.Type == m.Type && n.Obj == nil && m.Obj == nil &&
			sb.flags&SB_NOCOALESCE == 0 && n.Len() > 0 &&
			m.Len() <= mbuf.MCLBYTES/4 && m.Len() <= n.Trailing() {
			copy(n.Extend(m.Len()), m.Data())
			sb.ccc += m.Len()
			sb.acc += m.Len()
			if m.Type != mbuf.MT_DATA && m.Type != mbuf.MT_OOBDATA {
				sb.ctl += m.Len()
			}
			m = m.Free()
			continue
		}
		if n != nil {
			n.Next = m
		} else {
			sb.mb = m
			sb.lastrecord = m
		}
		sb.mbtail = m
		sb.sballoc(m)
		n = m
		m.Flags &^= mbuf.M_EOR
		m = m.Next
		n.Next = nil
	}
	if eor && n != nil {
		n.Flags |= mbuf.M_EOR
	}
}

// AppendAddrLocked is sbappendaddr_locked: a new record of the sender's
// address, the control chain and the data. It reports false, consuming
// nothing, when the record does not fit (the caller drops and counts).
func (sb *Sockbuf) AppendAddrLocked(asa Sockaddr, m0, control *mbuf.Mbuf) bool {
	space := mbuf.Length(m0) + mbuf.Length(control)
	if asa != nil {
		space += asa.Len()
	}
	if space > sb.SpaceLocked() {
		return false
	}
	sb.AppendAddrNoSpaceCheckLocked(asa, m0, control)
	return true
}

// AppendAddrNoSpaceCheckLocked is sbappendaddr_nospacecheck_locked: as
// AppendAddrLocked, without the space check.
func (sb *Sockbuf) AppendAddrNoSpaceCheckLocked(asa Sockaddr, m0, control *mbuf.Mbuf) {
	rec := mbuf.Cat(control, m0)
	if asa != nil {
		a := sb.so.vnet.Pool.GetObj(mbuf.MT_SONAME, asa)
		a.Next = rec
		rec = a
	}
	if rec == nil {
		rec = sb.so.vnet.Pool.Get(mbuf.MT_DATA, 0)
	}
	sb.AppendRecordLocked(rec)
}

// AppendControlLocked is sbappendcontrol_locked: a new record of control and
// data, without a space check.
func (sb *Sockbuf) AppendControlLocked(m0, control *mbuf.Mbuf) {
	rec := mbuf.Cat(control, m0)
	if rec == nil {
		return
	}
	sb.AppendRecordLocked(rec)
}

// DropLocked is sbdrop_locked: discard n bytes from the front of the buffer,
// crossing records as needed. It returns the mbufs removed, for the caller to
// free (or to dispose of in-flight rights) once it has released the lock.
func (sb *Sockbuf) DropLocked(n int) *mbuf.Mbuf {
	var freed, ftail *mbuf.Mbuf
	m := sb.mb
	var next *mbuf.Mbuf
	if m != nil {
		next = m.NextPkt
		m.NextPkt = nil
	}
	for n > 0 || (m != nil && m.Len() == 0 && m.Type != mbuf.MT_SONAME && m.Obj == nil) {
		if m == nil {
			if next == nil {
				break
			}
			m = next
			next = m.NextPkt
			m.NextPkt = nil
			continue
		}
		if l := acctLen(m); l > n {
			mbuf.Adj(m, n)
			sb.ccc -= n
			sb.acc -= n
			if m.Type != mbuf.MT_DATA && m.Type != mbuf.MT_OOBDATA {
				sb.ctl -= n
			}
			n = 0
			break
		} else {
			n -= l
		}
		sb.sbfree(m)
		nm := m.Next
		m.Next = nil
		if freed == nil {
			freed = m
		} else {
			ftail.Next = m
		}
		ftail = m
		m = nm
	}
	if m != nil {
		sb.mb = m
		m.NextPkt = next
	} else {
		sb.mb = next
	}
	sb.fixTail()
	return freed
}

// fixTail repairs lastrecord and mbtail after the front of the buffer was
// consumed: only the first record can have changed, and it is the last one
// when it has no successor. Consumption goes front to back, so a surviving
// record keeps its last mbuf.
func (sb *Sockbuf) fixTail() {
	switch {
	case sb.mb == nil:
		sb.lastrecord, sb.mbtail = nil, nil
	case sb.mb.NextPkt == nil:
		sb.lastrecord = sb.mb
		if sb.mbtail == nil {
			sb.mbtail = sb.mb.Last()
		}
	}
}

// DropRecordLocked is sbdroprecord_locked: remove the first record whole and
// return it for the caller to free or dispose of.
func (sb *Sockbuf) DropRecordLocked() *mbuf.Mbuf {
	m := sb.mb
	if m == nil {
		return nil
	}
	sb.mb = m.NextPkt
	m.NextPkt = nil
	for n := m; n != nil; n = n.Next {
		sb.sbfree(n)
	}
	if sb.mb == nil {
		sb.lastrecord, sb.mbtail = nil, nil
	}
	return m
}

// FlushLocked is sbflush_locked: empty the buffer and return its records
// (NextPkt-linked) for the caller to dispose of after unlocking.
func (sb *Sockbuf) FlushLocked() *mbuf.Mbuf {
	var head, tail *mbuf.Mbuf
	for sb.mb != nil {
		r := sb.DropRecordLocked()
		if head == nil {
			head = r
		} else {
			tail.NextPkt = r
		}
		tail = r
	}
	sb.acc, sb.ccc, sb.ctl, sb.mbcnt = 0, 0, 0, 0
	return head
}

// FirstLocked returns the first mbuf of the first record (sb_mb), for
// protocols that read the buffer in place.
func (sb *Sockbuf) FirstLocked() *mbuf.Mbuf { return sb.mb }

// SetStateLocked sets bits in sb_state.
func (sb *Sockbuf) SetStateLocked(s int) { sb.state |= s }

// WaitLocked is sbwait: sleep until the buffer is woken, the context ends or
// the buffer's timeout (SO_RCVTIMEO/SO_SNDTIMEO) passes; the lock is held on
// entry and on return. EWOULDBLOCK on timeout, EINTR on cancellation.
func (sb *Sockbuf) WaitLocked(ctx context.Context, to *timeout) error {
	sb.flags |= SB_WAIT
	return sb.so.vnet.msleep(&sb.mu, &sb.wq, ctx, to)
}

// ioLock takes the buffer's I/O lock (soiolock / SOCKBUF_LOCK of sb_sx), with
// sb.mu held; without wait it fails at once with EWOULDBLOCK when busy.
func (sb *Sockbuf) ioLock(ctx context.Context, wait bool) error {
	for sb.iobusy {
		if !wait {
			return syscall.EWOULDBLOCK
		}
		if err := sb.so.vnet.msleep(&sb.mu, &sb.iowq, ctx, nil); err != nil {
			return err
		}
	}
	sb.iobusy = true
	return nil
}

// ioUnlock releases the I/O lock, with sb.mu held.
func (sb *Sockbuf) ioUnlock() {
	sb.iobusy = false
	sb.iowq.wakeup()
}
