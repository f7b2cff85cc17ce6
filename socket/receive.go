package socket

import (
	"context"
	"syscall"

	"github.com/bsdnet/bsdnet/mbuf"
)

// Receive is soreceive(9), the kernel's recvmsg(2): receive into uio, or,
// when mp0 is not nil, as an mbuf chain returned in *mp0 (uio then only
// counts: use UioLen). The sender's address goes to *psa and control data to
// *controlp when those are not nil; *flagsp carries MSG_* in and out
// (MSG_EOR, MSG_TRUNC, MSG_CTRUNC, MSG_OOB out). A caller's MSG_TRUNC asks
// for the real length of a truncated record: uio's Resid then goes down by
// the bytes dropped too. It dispatches to the protocol's receive routine
// (pr_soreceive). Control returned in *controlp belongs to the caller, in
// flight rights included (Rights); DisposeControl releases it.
func (so *Socket) Receive(ctx context.Context, psa *Sockaddr, uio *Uio, mp0, controlp **mbuf.Mbuf, flagsp *int) error {
	if err := so.checkOpen(); err != nil {
		return err
	}
	switch so.proto.Soreceive {
	case ReceiveGeneric:
		return so.ReceiveGeneric(ctx, psa, uio, mp0, controlp, flagsp)
	case ReceiveStream:
		return so.ReceiveStream(ctx, psa, uio, mp0, controlp, flagsp)
	case ReceiveDgram:
		return so.ReceiveDgram(ctx, psa, uio, mp0, controlp, flagsp)
	}
	return so.soreceiveProto(ctx, psa, uio, mp0, controlp, flagsp)
}

// soreceiveProto calls the protocol's own receive routine through copies of
// the caller's arguments, which therefore do not escape (see sosendProto).
func (so *Socket) soreceiveProto(ctx context.Context, psa *Sockaddr, uio *Uio, mp0, controlp **mbuf.Mbuf, flagsp *int) error {
	type args struct {
		psa      Sockaddr
		uio      Uio
		mp0, ctl *mbuf.Mbuf
		flags    int
	}
	a := new(args)
	a.uio = *uio
	var pa *Sockaddr
	var pm, pc **mbuf.Mbuf
	var pf *int
	if psa != nil {
		pa = &a.psa
	}
	if mp0 != nil {
		pm = &a.mp0
	}
	if controlp != nil {
		pc = &a.ctl
	}
	if flagsp != nil {
		a.flags = *flagsp
		pf = &a.flags
	}
	err := so.proto.Usrreqs.Soreceive(ctx, so, pa, &a.uio, pm, pc, pf)
	*uio = a.uio
	if psa != nil {
		*psa = a.psa
	}
	if mp0 != nil {
		*mp0 = a.mp0
	}
	if controlp != nil {
		*controlp = a.ctl
	}
	if flagsp != nil {
		*flagsp = a.flags
	}
	return err
}

// receiveOOB is soreceive_rcvoob: out-of-band data from the protocol.
func (so *Socket) receiveOOB(uio *Uio, flags int) error {
	m, err := so.proto.Usrreqs.Rcvoob(so, flags&MSG_PEEK)
	if err != nil {
		return err
	}
	defer mbuf.FreeChain(m)
	for n := m; n != nil && uio.Resid > 0; n = n.Next {
		if _, err := uio.copyOut(n.Data()); err != nil {
			return err
		}
	}
	return nil
}

// pushsync is sockbuf_pushsync: after the front of the first record was
// consumed, link what is left of it to the next record and repair the tail.
func (sb *Sockbuf) pushsync(nextrecord *mbuf.Mbuf) {
	if sb.mb != nil {
		sb.mb.NextPkt = nextrecord
	} else {
		sb.mb = nextrecord
	}
	switch {
	case sb.mb == nil:
		sb.lastrecord, sb.mbtail = nil, nil
	case sb.mb.NextPkt == nil:
		sb.lastrecord = sb.mb
	}
}

// takeLocked unlinks up to max bytes of data of type typ from the front of
// the first record, splitting an mbuf that straddles the end. It reports
// whether it took the record's end mark and whether the record is used up.
func (sb *Sockbuf) takeLocked(max int, typ mbuf.Type) (chain *mbuf.Mbuf, eor, ended bool) {
	var tail *mbuf.Mbuf
	add := func(c *mbuf.Mbuf) {
		if chain == nil {
			chain = c
		} else {
			tail.Next = c
		}
		tail = c
	}
	for max > 0 && sb.mb != nil && sb.mb.Type == typ {
		m := sb.mb
		if m.Len() > max {
			c := mbuf.Copy(m, 0, max)
			c.Flags &^= mbuf.M_PKTHDR | mbuf.M_EOR
			mbuf.Adj(m, max)
			sb.ccc -= max
			sb.acc -= max
			add(c)
			break
		}
		max -= m.Len()
		c, rest := sb.consumeFirst()
		add(c)
		if c.Flags&mbuf.M_EOR != 0 {
			eor = true
		}
		if rest == nil {
			ended = true
		}
		if eor || ended {
			break
		}
	}
	return chain, eor, ended
}

// consumeFirst removes the first mbuf of the first record and returns it
// detached, with what is left of its record: nil when the record is used
// up (the buffer then starts at the next record, read live from the
// record's link, not from a value captured before the lock was dropped).
func (sb *Sockbuf) consumeFirst() (m, rest *mbuf.Mbuf) {
	m = sb.mb
	next := m.NextPkt
	sb.sbfree(m)
	rest = m.Next
	sb.mb = rest
	m.Next, m.NextPkt = nil, nil
	sb.pushsync(next)
	return m, rest
}

// takeControl moves the control mbufs at the front of the first record to
// a chain for the caller, or copies them (without in-flight rights, which a
// peek never delivers) under MSG_PEEK.
func (so *Socket) takeControl(m *mbuf.Mbuf, peek bool) (cm, rest *mbuf.Mbuf) {
	var tail *mbuf.Mbuf
	add := func(c *mbuf.Mbuf) {
		if cm == nil {
			cm = c
		} else {
			tail.Next = c
		}
		tail = c
	}
	sb := &so.Rcv
	for m != nil && m.Type == mbuf.MT_CONTROL {
		if peek {
			if _, rights := m.Obj.(Rights); !rights {
				c := mbuf.Copy(m, 0, -1)
				c.Obj = nil
				add(c)
			}
			m = m.Next
			continue
		}
		c, rest := sb.consumeFirst()
		add(c)
		m = rest
	}
	return cm, m
}

// ReceiveGeneric is soreceive_generic(9), the receive routine of most
// protocols. It sleeps (unless non-blocking or MSG_DONTWAIT, then
// EWOULDBLOCK) while the buffer is empty, or for stream protocols while it
// holds less than both the request and the low watermark. A pending
// so_error is returned once data runs out (and consumed, unless MSG_PEEK);
// after the peer's shutdown the call returns 0 bytes. Records of atomic
// protocols are never merged: what does not fit is dropped with MSG_TRUNC.
// MSG_WAITALL on a stream waits for the whole request unless an error or
// end of file comes first.
func (so *Socket) ReceiveGeneric(ctx context.Context, psa *Sockaddr, uio *Uio, mp0, controlp **mbuf.Mbuf, flagsp *int) error {
	if psa != nil {
		*psa = nil
	}
	if controlp != nil {
		*controlp = nil
	}
	if mp0 != nil {
		*mp0 = nil
	}
	flags := 0
	if flagsp != nil {
		flags = *flagsp &^ MSG_EOR
		*flagsp &^= MSG_TRUNC
	}
	reportReal := flags&MSG_TRUNC != 0
	flags &^= MSG_TRUNC
	if flags&MSG_OOB != 0 {
		return so.receiveOOB(uio, flags)
	}
	if so.Listening() {
		return syscall.ENOTCONN
	}
	pr := so.proto
	atomic := pr.Flags&PR_ATOMIC != 0
	peek := flags&MSG_PEEK != 0
	sb := &so.Rcv
	sb.mu.Lock()
	if err := sb.ioLock(ctx, !so.dontwait(flags)); err != nil {
		sb.mu.Unlock()
		return err
	}
	defer func() {
		sb.ioUnlock()
		sb.mu.Unlock()
	}()
	if so.Listening() {
		return syscall.ENOTCONN
	}
	var to *timeout
	if sb.timeo > 0 {
		to = &timeout{d: sb.timeo}
		defer to.stop()
	}
	origResid := uio.Resid
	var mpTail *mbuf.Mbuf
restart:
	m := sb.mb
	if m == nil || (flags&MSG_DONTWAIT == 0 && sb.acc < uio.Resid && sb.acc < sb.lowat &&
		m.NextPkt == nil && !atomic) {
		block := true
		switch {
		case so.soerror.Load() != 0 || so.sorerror.Load() != 0:
			if m != nil {
				block = false
				break
			}
			var e int32
			if peek {
				e = so.soerror.Load()
				if e == 0 {
					e = so.sorerror.Load()
				}
			} else if e = so.soerror.Swap(0); e == 0 {
				e = so.sorerror.Swap(0)
			}
			if e != 0 {
				return syscall.Errno(e)
			}
			goto restart
		case sb.state&SBS_CANTRCVMORE != 0:
			if m == nil {
				return nil
			}
			block = false
		}
		if block {
			for n := m; n != nil; n = n.Next {
				if n.Type == mbuf.MT_OOBDATA || n.Flags&mbuf.M_EOR != 0 {
					block = false
					break
				}
			}
		}
		if block {
			if so.State()&(SS_ISCONNECTED|SS_ISCONNECTING|SS_ISDISCONNECTING|SS_ISDISCONNECTED) == 0 &&
				pr.Flags&PR_CONNREQUIRED != 0 {
				return syscall.ENOTCONN
			}
			if uio.Resid == 0 && !reportReal {
				return nil
			}
			if so.dontwait(flags) {
				return syscall.EWOULDBLOCK
			}
			if err := sb.WaitLocked(ctx, to); err != nil {
				return err
			}
			goto restart
		}
	}
	// dontblock:
	if pr.Flags&PR_ADDR != 0 && m.Type == mbuf.MT_SONAME {
		origResid = 0
		if psa != nil {
			if sa, ok := m.Obj.(Sockaddr); ok {
				*psa = DupSockaddr(sa)
			}
		}
		if peek {
			m = m.Next
		} else {
			c, rest := sb.consumeFirst()
			c.Free()
			m = rest
		}
	}
	if m != nil && m.Type == mbuf.MT_CONTROL {
		var cm *mbuf.Mbuf
		cm, m = so.takeControl(m, peek)
		if cm != nil {
			if controlp != nil {
				if d := so.proto.Domain; !peek && d != nil && d.Externalize != nil {
					d.Externalize(cm)
				}
				*controlp = mbuf.Cat(*controlp, cm)
			} else {
				sb.mu.Unlock()
				so.vnet.disposeQueue(so.proto.Domain, cm)
				sb.mu.Lock()
			}
		}
		origResid = 0
	}
	typ := mbuf.MT_DATA
	if m != nil {
		typ = m.Type
		if typ == mbuf.MT_OOBDATA {
			flags |= MSG_OOB
		}
	}
	moff, offset := 0, 0
	for m != nil && uio.Resid > 0 {
		if m.Type == mbuf.MT_CONTROL || m.Type == mbuf.MT_SONAME {
			break // another record's head
		}
		if m.Type == mbuf.MT_OOBDATA {
			if typ != mbuf.MT_OOBDATA {
				break
			}
		} else if typ == mbuf.MT_OOBDATA {
			break
		}
		sb.state &^= SBS_RCVATMARK
		n := uio.Resid
		if !peek && mp0 == nil && !atomic && so.oobmark == 0 && uio.hasBuffers() {
			// Stream fast path: unlink what this read takes, let the
			// protocol reopen the sender's window (pr_rcvd), and copy out
			// with the lock dropped, so that the sender refills the buffer
			// while we copy.
			chain, eor, ended := sb.takeLocked(uio.Resid, typ)
			sb.mu.Unlock()
			if pr.Flags&PR_WANTRCVD != 0 && flags&MSG_SOCALLBCK == 0 {
				pr.Usrreqs.Rcvd(so, flags)
			}
			var err error
			for c := chain; c != nil && err == nil; c = c.Next {
				_, err = uio.copyOut(c.Data())
			}
			mbuf.FreeChain(chain)
			sb.mu.Lock()
			if err != nil {
				return err
			}
			if eor {
				flags |= MSG_EOR
			}
			m = sb.mb
			if ended {
				m = nil
			}
		} else {
			if so.oobmark != 0 && n > so.oobmark-offset {
				n = so.oobmark - offset
			}
			if n > m.Len()-moff {
				n = m.Len() - moff
			}
			if mp0 == nil {
				data := m.Data()[moff : moff+n]
				sb.mu.Unlock()
				_, err := uio.copyOut(data)
				sb.mu.Lock()
				if err != nil {
					if atomic && !peek {
						mbuf.FreeChain(sb.DropRecordLocked())
					}
					return err
				}
			} else {
				uio.skip(n)
			}
			if n == m.Len()-moff {
				if m.Flags&mbuf.M_EOR != 0 {
					flags |= MSG_EOR
				}
				if peek {
					m = m.Next
					moff = 0
				} else {
					c, rest := sb.consumeFirst()
					if mp0 != nil {
						if mpTail == nil {
							*mp0 = c
						} else {
							mpTail.Next = c
						}
						mpTail = c
					} else {
						c.Free()
					}
					m = rest
				}
			} else if peek {
				moff += n
			} else {
				if mp0 != nil {
					c := mbuf.Copy(m, 0, n)
					c.Flags &^= mbuf.M_PKTHDR
					if mpTail == nil {
						*mp0 = c
					} else {
						mpTail.Next = c
					}
					mpTail = c
				}
				mbuf.Adj(m, n)
				sb.ccc -= n
				sb.acc -= n
			}
		}
		if so.oobmark != 0 {
			if !peek {
				so.oobmark -= n
				if so.oobmark == 0 {
					sb.state |= SBS_RCVATMARK
					break
				}
			} else if offset += n; offset == so.oobmark {
				break
			}
		}
		if flags&MSG_EOR != 0 {
			break
		}
		for flags&MSG_WAITALL != 0 && m == nil && uio.Resid > 0 && !atomic && sb.mb == nil {
			if so.soerror.Load() != 0 || so.sorerror.Load() != 0 || sb.state&SBS_CANTRCVMORE != 0 {
				break
			}
			if pr.Flags&PR_WANTRCVD != 0 {
				sb.mu.Unlock()
				pr.Usrreqs.Rcvd(so, flags)
				sb.mu.Lock()
			}
			if sb.mb == nil {
				if err := sb.WaitLocked(ctx, to); err != nil {
					return err
				}
			}
			if m = sb.mb; m != nil && m.Type != typ {
				m = nil // a new record with an address or control: stop here
				break
			}
		}
	}
	if m != nil && atomic {
		flags |= MSG_TRUNC
		if reportReal {
			uio.Resid -= mbuf.Length(m) - moff
		}
		if !peek {
			mbuf.FreeChain(sb.DropRecordLocked())
		}
	}
	if !peek {
		if flags&MSG_SOCALLBCK == 0 && pr.Flags&PR_WANTRCVD != 0 {
			sb.mu.Unlock()
			pr.Usrreqs.Rcvd(so, flags)
			sb.mu.Lock()
		}
	}
	if origResid == uio.Resid && origResid != 0 && flags&MSG_EOR == 0 && sb.state&SBS_CANTRCVMORE == 0 {
		goto restart
	}
	if flagsp != nil {
		*flagsp |= flags
	}
	return nil
}

// ReceiveStream is soreceive_stream(9), the fast path for SOCK_STREAM
// protocols that carry no control data (TCP): a zero-length request is
// EINVAL, a socket never connected ENOTCONN. Without MSG_WAITALL it returns
// once the low watermark, the request or the buffer's size is there.
func (so *Socket) ReceiveStream(ctx context.Context, psa *Sockaddr, uio *Uio, mp0, controlp **mbuf.Mbuf, flagsp *int) error {
	if psa != nil {
		*psa = nil
	}
	if controlp != nil {
		*controlp = nil
	}
	flags := 0
	if flagsp != nil {
		flags = *flagsp
	}
	if so.typ != SOCK_STREAM {
		return syscall.EINVAL
	}
	if flags&MSG_OOB != 0 {
		return so.receiveOOB(uio, flags)
	}
	if flags&MSG_PEEK != 0 || mp0 != nil {
		return so.ReceiveGeneric(ctx, psa, uio, mp0, controlp, flagsp)
	}
	if uio.Resid == 0 {
		return syscall.EINVAL
	}
	if so.Listening() {
		return syscall.ENOTCONN
	}
	sb := &so.Rcv
	sb.mu.Lock()
	if err := sb.ioLock(ctx, !so.dontwait(flags)); err != nil {
		sb.mu.Unlock()
		return err
	}
	defer func() {
		sb.ioUnlock()
		sb.mu.Unlock()
	}()
	var to *timeout
	if sb.timeo > 0 {
		to = &timeout{d: sb.timeo}
		defer to.stop()
	}
	oresid := uio.Resid
	nb := so.dontwait(flags)
	sb.state &^= SBS_RCVATMARK
	for {
		if so.State()&(SS_ISCONNECTED|SS_ISDISCONNECTED|SS_ISDISCONNECTING) == 0 {
			return syscall.ENOTCONN
		}
		deliver := false
		switch {
		case so.soerror.Load() != 0:
			if sb.acc == 0 {
				if oresid > uio.Resid {
					return nil
				}
				return so.takeError()
			}
			deliver = true
		case sb.state&SBS_CANTRCVMORE != 0:
			if sb.acc == 0 {
				return nil
			}
			deliver = true
		case sb.acc == 0 && nb:
			return syscall.EWOULDBLOCK
		case sb.acc > 0 && flags&MSG_WAITALL == 0 &&
			(nb || sb.acc >= sb.lowat || sb.acc >= uio.Resid || sb.acc >= sb.hiwat):
			deliver = true
		case flags&MSG_WAITALL != 0 && (sb.acc >= uio.Resid || sb.acc >= sb.lowat):
			// As soreceive_stream: take what there is and come back for
			// the rest, so that the window reopens (a receiver waiting
			// for a full buffer would wait on a sender that waits on it).
			deliver = true
		}
		if !deliver {
			if err := sb.WaitLocked(ctx, to); err != nil {
				return err
			}
			continue
		}
		n := min(sb.acc, uio.Resid)
		if so.oobmark != 0 {
			// A read stops at the out-of-band mark (soreceive_generic).
			n = min(n, so.oobmark)
		}
		left := n
		for m := sb.mb; m != nil && left > 0; {
			k := min(left, m.Len())
			data, next := m.Data()[:k], m.Next
			sb.mu.Unlock()
			_, err := uio.copyOut(data)
			sb.mu.Lock()
			if err != nil {
				return err
			}
			left -= k
			m = next
		}
		atMark := false
		if so.oobmark != 0 {
			so.oobmark -= n
			if so.oobmark == 0 {
				sb.state |= SBS_RCVATMARK
				atMark = true
			}
		}
		mbuf.FreeChain(sb.DropLocked(n))
		if so.proto.Flags&PR_WANTRCVD != 0 {
			sb.mu.Unlock()
			so.proto.Usrreqs.Rcvd(so, flags)
			sb.mu.Lock()
		}
		if flags&MSG_WAITALL == 0 || uio.Resid == 0 || atMark {
			return nil
		}
	}
}

// ReceiveDgram is soreceive_dgram(9), the fast path for datagram protocols:
// one whole record per call, its address and control handed over, what
// does not fit dropped with MSG_TRUNC. MSG_PEEK, MSG_OOB, MSG_TRUNC and mp0
// go to ReceiveGeneric.
func (so *Socket) ReceiveDgram(ctx context.Context, psa *Sockaddr, uio *Uio, mp0, controlp **mbuf.Mbuf, flagsp *int) error {
	flags := 0
	if flagsp != nil {
		flags = *flagsp
	}
	if mp0 != nil || flags&(MSG_PEEK|MSG_OOB|MSG_TRUNC) != 0 {
		return so.ReceiveGeneric(ctx, psa, uio, mp0, controlp, flagsp)
	}
	if psa != nil {
		*psa = nil
	}
	if controlp != nil {
		*controlp = nil
	}
	sb := &so.Rcv
	sb.mu.Lock()
	var to *timeout
	if sb.timeo > 0 {
		to = &timeout{d: sb.timeo}
		defer to.stop()
	}
	for sb.mb == nil {
		if err := so.takeError(); err != nil {
			sb.mu.Unlock()
			return err
		}
		if sb.state&SBS_CANTRCVMORE != 0 || uio.Resid == 0 {
			sb.mu.Unlock()
			return nil
		}
		if so.dontwait(flags) {
			sb.mu.Unlock()
			return syscall.EWOULDBLOCK
		}
		if err := sb.WaitLocked(ctx, to); err != nil {
			sb.mu.Unlock()
			return err
		}
	}
	rec := sb.DropRecordLocked()
	sb.mu.Unlock()
	m := rec
	if m.Type == mbuf.MT_SONAME {
		if psa != nil {
			if sa, ok := m.Obj.(Sockaddr); ok {
				*psa = sa
			}
		}
		m = m.Free()
	}
	var cm, ctail *mbuf.Mbuf
	for m != nil && m.Type == mbuf.MT_CONTROL {
		c := m
		m = m.Next
		c.Next = nil
		if cm == nil {
			cm = c
		} else {
			ctail.Next = c
		}
		ctail = c
	}
	if controlp != nil {
		if d := so.proto.Domain; cm != nil && d != nil && d.Externalize != nil {
			d.Externalize(cm)
		}
		*controlp = cm
	} else {
		so.vnet.disposeQueue(so.proto.Domain, cm)
	}
	var err error
	out := 0
	for ; m != nil; m = m.Free() {
		if err != nil || uio.Resid == 0 {
			if m.Len() > 0 {
				out |= MSG_TRUNC
			}
			continue
		}
		n, e := uio.copyOut(m.Data())
		if e != nil {
			err = e
		}
		if n < m.Len() {
			out |= MSG_TRUNC
		}
	}
	mbuf.FreeChain(m)
	if flagsp != nil {
		*flagsp |= out
	}
	return err
}
