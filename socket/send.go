package socket

import (
	"context"
	"syscall"

	"github.com/bsdnet/bsdnet/mbuf"
)

// maxHdr is the leading space left in the first mbuf of a send for the
// protocol and link headers to be prepended in place (max_hdr): Ethernet,
// IPv6 and UDP.
const maxHdr = 64

// Send is sosend(9), the kernel's sendmsg(2): send the bytes of uio, or the
// mbuf chain top (only one of the two), with optional control data, to the
// connected peer or to addr. It dispatches to the protocol's send routine
// (pr_sosend). The bytes sent are uio's Resid before minus after; on a
// stream socket an error may follow partial progress. Data and control are
// consumed in every case. Blocking waits end with ctx: cancellation is
// EINTR, a deadline or SO_SNDTIMEO EWOULDBLOCK; MSG_DONTWAIT and
// non-blocking sockets never sleep.
func (so *Socket) Send(ctx context.Context, addr Sockaddr, uio *Uio, top, control *mbuf.Mbuf, flags int) error {
	if err := so.checkOpen(); err != nil {
		mbuf.FreeChain(top)
		so.vnet.DisposeControl(control)
		return err
	}
	switch so.proto.Sosend {
	case SendGeneric:
		return so.SendGeneric(ctx, addr, uio, top, control, flags)
	case SendDgram:
		return so.SendDgram(ctx, addr, uio, top, control, flags)
	}
	return so.sosendProto(ctx, addr, uio, top, control, flags)
}

// sosendProto calls the protocol's own send routine with a copy of uio, so
// that the caller's Uio does not escape through the interface call and the
// common paths above stay free of allocation.
func (so *Socket) sosendProto(ctx context.Context, addr Sockaddr, uio *Uio, top, control *mbuf.Mbuf, flags int) error {
	var u *Uio
	if uio != nil {
		u = new(Uio)
		*u = *uio
	}
	err := so.proto.Usrreqs.Sosend(ctx, so, addr, u, top, control, flags)
	if uio != nil {
		*uio = *u
	}
	return err
}

func (so *Socket) dontwait(flags int) bool {
	return flags&(MSG_DONTWAIT|MSG_NBIO) != 0 || so.nbio()
}

// sendCheckLocked holds the checks each round of a send makes with Snd
// locked: shut down, a pending error, no connection.
func (so *Socket) sendCheckLocked(addr Sockaddr, resid, clen int) error {
	if so.Snd.state&SBS_CANTSENDMORE != 0 {
		return syscall.EPIPE
	}
	if err := so.takeError(); err != nil {
		return err
	}
	if so.Listening() {
		return syscall.ENOTCONN
	}
	if so.State()&SS_ISCONNECTED == 0 {
		pf := so.proto.Flags
		if pf&PR_CONNREQUIRED != 0 && pf&PR_IMPLOPCL == 0 {
			if !(resid == 0 && clen != 0) {
				return syscall.ENOTCONN
			}
		} else if addr == nil {
			if pf&PR_CONNREQUIRED != 0 {
				return syscall.ENOTCONN
			}
			return syscall.EDESTADDRREQ
		}
	}
	return nil
}

// SendGeneric is sosend_generic(9), the send routine of most protocols.
// Atomic protocols (PR_ATOMIC, or a send of top) need room for the whole
// message (EMSGSIZE when it can never fit the buffer); stream protocols
// send as soon as the low watermark of room is free, in chunks, and may
// stop part-way with the error that stopped them. MSG_EOR on a stream
// socket is EINVAL.
func (so *Socket) SendGeneric(ctx context.Context, addr Sockaddr, uio *Uio, top, control *mbuf.Mbuf, flags int) (err error) {
	var resid int
	if uio != nil {
		resid = uio.Resid
	} else if top != nil {
		resid = mbuf.Length(top)
	}
	clen := mbuf.Length(control)
	defer func() {
		mbuf.FreeChain(top)
		so.vnet.DisposeControl(control)
	}()
	if resid < 0 || (so.typ == SOCK_STREAM && flags&MSG_EOR != 0) {
		return syscall.EINVAL
	}
	atomic := so.proto.Flags&PR_ATOMIC != 0 || top != nil
	dontroute := flags&MSG_DONTROUTE != 0 && so.Options()&SO_DONTROUTE == 0 && atomic
	var to *timeout
	so.Snd.mu.Lock()
	if err := so.Snd.ioLock(ctx, !so.dontwait(flags)); err != nil {
		so.Snd.mu.Unlock()
		return err
	}
	if so.Snd.timeo > 0 {
		to = &timeout{d: so.Snd.timeo}
		defer to.stop()
	}
	locked := true
	defer func() {
		if !locked {
			so.Snd.mu.Lock()
		}
		so.Snd.ioUnlock()
		so.Snd.mu.Unlock()
	}()
	for {
		if err := so.sendCheckLocked(addr, resid, clen); err != nil {
			return err
		}
		space := so.Snd.SpaceLocked()
		if flags&MSG_OOB != 0 {
			space += 1024
		}
		if atomic && resid > so.Snd.hiwat || clen > so.Snd.hiwat {
			return syscall.EMSGSIZE
		}
		if space < resid+clen && (atomic || space < so.Snd.lowat || space < clen) {
			if so.dontwait(flags) {
				return syscall.EWOULDBLOCK
			}
			if err := so.Snd.WaitLocked(ctx, to); err != nil {
				return err
			}
			continue
		}
		so.Snd.mu.Unlock()
		locked = false
		space -= clen
		for {
			var m *mbuf.Mbuf
			if uio == nil {
				m, top = top, nil
				resid = 0
				if m == nil {
					m = so.vnet.Pool.GetHdr(mbuf.MT_DATA, 0, maxHdr)
				}
				if m != nil && flags&MSG_EOR != 0 {
					m.Last().SetEOR(true)
				}
			} else {
				n := resid
				if !atomic {
					n = min(space, resid)
				}
				m = so.vnet.Pool.GetHdr(mbuf.MT_DATA, min(n, mbuf.MaxCluster-maxHdr), maxHdr)
				if n > 0 {
					if err := uioToMbuf(so.vnet.Pool, uio, m, n); err != nil {
						mbuf.FreeChain(m)
						return err
					}
				}
				m.PktLen = n
				space -= n
				resid = uio.Resid
				if atomic && flags&MSG_EOR != 0 {
					m.Last().SetEOR(true)
				}
			}
			prflags := 0
			switch {
			case flags&MSG_OOB != 0:
				prflags = PRUS_OOB
			case flags&MSG_EOF != 0 && so.proto.Flags&PR_IMPLOPCL != 0 && resid <= 0:
				prflags = PRUS_EOF
			case flags&MSG_MORETOCOME != 0 || resid > 0 && space > 0:
				prflags = PRUS_MORETOCOME
			}
			if dontroute {
				so.mu.Lock()
				so.setOptionLocked(SO_DONTROUTE, true)
				so.mu.Unlock()
			}
			c := control
			control = nil
			err := so.proto.Usrreqs.Send(so, prflags, m, addr, c)
			if dontroute {
				so.mu.Lock()
				so.setOptionLocked(SO_DONTROUTE, false)
				so.mu.Unlock()
			}
			clen = 0
			if err != nil {
				return err
			}
			if resid <= 0 || space <= 0 {
				break
			}
		}
		so.Snd.mu.Lock()
		locked = true
		if resid <= 0 {
			return nil
		}
	}
}

// uioToMbuf copies n bytes from uio into m, chaining more clusters after it
// as needed (m_uiotombuf).
func uioToMbuf(p *mbuf.Pool, uio *Uio, m *mbuf.Mbuf, n int) error {
	for {
		k := min(n, m.Trailing())
		got, err := uio.copyIn(m.Extend(k))
		if err != nil {
			return err
		}
		n -= got
		if n == 0 {
			return nil
		}
		next := p.Get(mbuf.MT_DATA, min(n, mbuf.MaxCluster))
		m.Next = next
		m = next
	}
}

// SendDgram is sosend_dgram(9), the send routine for datagram protocols
// such as UDP: no I/O lock and no waiting; a datagram larger than the room
// in the send buffer is EMSGSIZE.
func (so *Socket) SendDgram(ctx context.Context, addr Sockaddr, uio *Uio, top, control *mbuf.Mbuf, flags int) error {
	var resid int
	if uio != nil {
		resid = uio.Resid
	} else {
		resid = mbuf.Length(top)
	}
	if resid < 0 {
		mbuf.FreeChain(top)
		so.vnet.DisposeControl(control)
		return syscall.EINVAL
	}
	clen := mbuf.Length(control)
	so.Snd.mu.Lock()
	err := so.sendCheckLocked(addr, resid, clen)
	space := so.Snd.SpaceLocked() - clen
	so.Snd.mu.Unlock()
	if flags&MSG_OOB != 0 {
		space += 1024
	}
	if err == nil && resid > space {
		err = syscall.EMSGSIZE
	}
	if err != nil {
		mbuf.FreeChain(top)
		so.vnet.DisposeControl(control)
		return err
	}
	m := top
	if uio != nil {
		m = so.vnet.Pool.GetHdr(mbuf.MT_DATA, min(resid, mbuf.MaxCluster-maxHdr), maxHdr)
		if resid > 0 {
			if err := uioToMbuf(so.vnet.Pool, uio, m, resid); err != nil {
				mbuf.FreeChain(m)
				so.vnet.DisposeControl(control)
				return err
			}
		}
		m.PktLen = resid
	}
	prflags := 0
	switch {
	case flags&MSG_OOB != 0:
		prflags = PRUS_OOB
	case flags&MSG_EOF != 0 && so.proto.Flags&PR_IMPLOPCL != 0:
		prflags = PRUS_EOF
	case flags&MSG_MORETOCOME != 0:
		prflags = PRUS_MORETOCOME
	}
	return so.proto.Usrreqs.Send(so, prflags, m, addr, control)
}
