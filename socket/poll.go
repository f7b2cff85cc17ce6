package socket

import "syscall"

// Wakeup is sowakeup(9): wake the sleepers and pollers of buffer sb and call
// its upcall. sb is locked on entry and unlocked on return. When an SO_RCV
// upcall returns SU_ISCONNECTED, the upcall is removed and the socket is
// connected (Isconnected) after the lock is released. Protocols call the
// wrappers Rwakeup, RwakeupLocked, Wwakeup and WwakeupLocked instead.
func (so *Socket) Wakeup(sb *Sockbuf) {
	sb.sel.wakeup()
	if sb.flags&SB_WAIT != 0 {
		sb.flags &^= SB_WAIT
		sb.wq.wakeup()
	}
	ret := SU_OK
	if sb.flags&SB_UPCALL != 0 && sb.upcall != nil {
		ret = sb.upcall(so, sb.upcallarg, M_NOWAIT)
		if ret == SU_ISCONNECTED {
			sb.upcall, sb.upcallarg = nil, nil
			sb.flags &^= SB_UPCALL
		}
	}
	sb.mu.Unlock()
	if ret == SU_ISCONNECTED {
		so.Isconnected()
	}
}

// Rwakeup is sorwakeup(9): wake readers; takes the receive buffer's lock.
func (so *Socket) Rwakeup() {
	so.Rcv.mu.Lock()
	so.Wakeup(&so.Rcv)
}

// RwakeupLocked is sorwakeup_locked(9): Rcv is locked on entry and unlocked
// on return.
func (so *Socket) RwakeupLocked() { so.Wakeup(&so.Rcv) }

// Wwakeup is sowwakeup(9): wake writers; takes the send buffer's lock.
func (so *Socket) Wwakeup() {
	so.Snd.mu.Lock()
	so.Wakeup(&so.Snd)
}

// WwakeupLocked is sowwakeup_locked(9): Snd is locked on entry and unlocked
// on return.
func (so *Socket) WwakeupLocked() { so.Wakeup(&so.Snd) }

// UpcallSet is soupcall_set(9): register f to be called with arg when the
// buffer which (SO_RCV or SO_SND) is woken. It replaces any previous upcall.
// EINVAL for a listener (use ListenUpcallSet) or a bad which.
func (so *Socket) UpcallSet(which int, f Upcall, arg any) error {
	sb, err := so.sockbuf(which)
	if err != nil || so.Listening() {
		return syscall.EINVAL
	}
	sb.mu.Lock()
	sb.upcall, sb.upcallarg = f, arg
	sb.flags |= SB_UPCALL
	sb.mu.Unlock()
	return nil
}

// UpcallClear is soupcall_clear(9): remove the upcall of buffer which.
func (so *Socket) UpcallClear(which int) error {
	sb, err := so.sockbuf(which)
	if err != nil {
		return err
	}
	sb.mu.Lock()
	sb.upcall, sb.upcallarg = nil, nil
	sb.flags &^= SB_UPCALL
	sb.mu.Unlock()
	return nil
}

func (so *Socket) sockbuf(which int) (*Sockbuf, error) {
	switch which {
	case SO_RCV:
		return &so.Rcv, nil
	case SO_SND:
		return &so.Snd, nil
	}
	return nil, syscall.EINVAL
}

// Poll is sopoll(9): report which of events are ready. When none is and p
// is not nil, p is recorded and notified at the socket's next wakeup.
func (so *Socket) Poll(events int, p *Poller) int {
	if so.gone.Load() {
		return POLLNVAL
	}
	return so.proto.Usrreqs.Sopoll(so, events, p)
}

// Unpoll forgets a poller the socket recorded (seltdclear): a poll(2)
// that returns stops listening to the sockets it did not hear from.
func (so *Socket) Unpoll(p *Poller) {
	for _, sb := range []*Sockbuf{&so.Snd, &so.Rcv} {
		sb.mu.Lock()
		sb.sel.forget(p)
		sb.mu.Unlock()
	}
	so.mu.Lock()
	if so.sol != nil {
		so.sol.sel.forget(p)
	}
	so.mu.Unlock()
}

// PollGeneric is sopoll_generic(9). A listener is readable when a
// connection is complete (POLLHUP joins when it was shut down). Otherwise:
// POLLIN|POLLRDNORM when the receive buffer holds its low watermark, an error
// is pending or (without POLLINIGNEOF) nothing more can arrive;
// POLLOUT|POLLWRNORM when the send buffer has its low watermark of space and
// the socket is connected or needs no connection, or when nothing more may
// be sent or an error is pending; POLLPRI|POLLRDBAND at the out-of-band
// mark; POLLHUP when both directions are shut; POLLRDHUP when asked and the
// receive side is shut.
func (so *Socket) PollGeneric(events int, p *Poller) int {
	if so.Listening() {
		if events&(POLLIN|POLLRDNORM) == 0 {
			return 0
		}
		so.mu.Lock()
		defer so.mu.Unlock()
		revents := 0
		if so.sol != nil && so.sol.comp.first != nil {
			revents = events & (POLLIN | POLLRDNORM)
		} else if events&POLLINIGNEOF == 0 && so.soerror.Load() != 0 {
			revents = events&(POLLIN|POLLRDNORM) | POLLHUP
		}
		if revents == 0 && p != nil && events&(POLLIN|POLLRDNORM) != 0 && so.sol != nil {
			so.sol.sel.record(p)
		}
		return revents
	}
	// The two buffers are locked one after the other, never together: a
	// protocol moving data between sockets may hold one socket's receive
	// buffer while it takes another's send buffer.
	revents := 0
	so.Snd.mu.Lock()
	if events&(POLLOUT|POLLWRNORM) != 0 && so.writableLocked() {
		revents |= events & (POLLOUT | POLLWRNORM)
	}
	cantsend := so.Snd.state&SBS_CANTSENDMORE != 0
	if revents == 0 && p != nil && events&(POLLOUT|POLLWRNORM) != 0 {
		so.Snd.sel.record(p)
		so.Snd.flags |= SB_SEL
	}
	so.Snd.mu.Unlock()
	so.Rcv.mu.Lock()
	defer so.Rcv.mu.Unlock()
	if events&(POLLIN|POLLRDNORM) != 0 && so.readableLocked() {
		revents |= events & (POLLIN | POLLRDNORM)
	}
	if events&(POLLPRI|POLLRDBAND) != 0 && (so.oobmark != 0 || so.Rcv.state&SBS_RCVATMARK != 0) {
		revents |= events & (POLLPRI | POLLRDBAND)
	}
	if events&POLLINIGNEOF == 0 && so.Rcv.state&SBS_CANTRCVMORE != 0 {
		revents |= events & (POLLIN | POLLRDNORM)
		if cantsend {
			revents |= POLLHUP
		}
	}
	if so.Rcv.state&SBS_CANTRCVMORE != 0 {
		revents |= events & POLLRDHUP
	}
	if revents == 0 && p != nil && events&(POLLIN|POLLPRI|POLLRDNORM|POLLRDBAND|POLLRDHUP) != 0 {
		so.Rcv.sel.record(p)
		so.Rcv.flags |= SB_SEL
	}
	return revents
}

// readableLocked is soreadabledata: enough data, or an error. Rcv locked.
func (so *Socket) readableLocked() bool {
	return so.Rcv.acc >= so.Rcv.lowat && so.Rcv.acc > 0 || so.soerror.Load() != 0 || so.sorerror.Load() != 0
}

// writableLocked is sowriteable. Snd locked.
func (so *Socket) writableLocked() bool {
	st := so.State()
	return so.Snd.SpaceLocked() >= so.Snd.lowat &&
		(st&SS_ISCONNECTED != 0 || so.proto.Flags&PR_CONNREQUIRED == 0) ||
		so.Snd.state&SBS_CANTSENDMORE != 0 || so.soerror.Load() != 0
}
