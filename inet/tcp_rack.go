package inet

import "time"

// RACK-TLP loss detection (RFC 8985), on connections that agreed on SACK
// when the stack's or the socket's TCP function block is "rack"
// (TCPTunables.RACK, TCP_FUNCTION_BLK).
//
// RACK deems a segment lost when a segment sent after it has been
// delivered and a reordering window has passed since it was sent: time,
// not a count of duplicate ACKs, decides, so lost retransmissions and
// losses at the tail of a flight are found without waiting for the RTO.
// The tail loss probe sends one segment two round trips after the last
// one when no ACK came back, so that a lost tail earns SACKs instead of a
// timeout.

// rackState is RACK's per-connection state (RFC 8985 5.2).
type rackState struct {
	xmit    time.Time     // RACK.xmit_ts: send time of the latest delivered segment
	end     seqnum        // RACK.end_seq
	rtt     time.Duration // RACK.rtt: its round-trip time
	minRTT  time.Duration
	fack    seqnum // RACK.fack: highest delivered sequence
	reord   bool   // reordering was seen
	tlpEnd  seqnum // snd_max when a probe was sent; 0: none outstanding
	tlpRx   bool   // the probe was a retransmission
	tlpDup  bool   // a DSACK arrived since the probe
	haveFck bool
	reoMult uint8 // RACK.reo_wnd_mult: grown by DSACKs (6.2 step 4)
	reoKeep uint8 // RACK.reo_wnd_persist: recoveries before reoMult resets
}

// dsack notes a D-SACK: the reordering window was too small (a resend
// proved spurious), and a probe that was answered by one repaired nothing.
func (r *rackState) dsack() {
	r.reoMult = min(max(r.reoMult, 1)+1, 16)
	r.reoKeep = 16
	r.tlpDup = true
}

// rackOn reports whether RACK-TLP runs on this connection.
func (tp *tcpcb) rackOn() bool {
	return tp.flags&(tfSackPermit|tfRack) == tfSackPermit|tfRack
}

// rackUpdate is RACK_update (6.2 steps 2-3): a segment sent at xmit and
// ending at end was delivered (ACKed or SACKed).
func (tp *tcpcb) rackUpdate(xmit time.Time, end seqnum, rexmit bool) {
	r := &tp.sm.rack
	rtt := tp.clock().Sub(xmit)
	if rexmit && (r.minRTT == 0 || rtt < r.minRTT) {
		// The ACK may be for the original: the sample is ambiguous.
		return
	}
	if rtt <= 0 {
		rtt = time.Microsecond
	}
	if r.minRTT == 0 || rtt < r.minRTT {
		r.minRTT = rtt
	}
	r.rtt = rtt
	if xmit.After(r.xmit) || xmit.Equal(r.xmit) && end.gt(r.end) {
		r.xmit, r.end = xmit, end
	}
	if !r.haveFck || end.gt(r.fack) {
		r.fack, r.haveFck = end, true
	} else if !rexmit && end.lt(r.fack) {
		r.reord = true
	}
}

// rackReoWnd is RACK_update_reo_wnd without DSACK adaptation.
func (tp *tcpcb) rackReoWnd() time.Duration {
	r := &tp.sm.rack
	if !r.reord {
		if tp.flags&tfInRecovery != 0 {
			return 0
		}
		sacked := 0
		for k := range tp.sm.segs {
			if tp.sm.segs[k].flags&smSacked != 0 {
				if sacked++; sacked >= 3 {
					return 0
				}
			}
		}
	}
	w := r.minRTT / 4 * time.Duration(max(r.reoMult, 1))
	if tp.srtt > 0 {
		w = min(w, tp.srtt)
	}
	return w
}

// rackDetectLoss is RACK_detect_loss (6.2 step 5): mark lost every
// segment sent before the latest delivered one whose reordering window has
// passed; arm the reordering timer for the rest. It reports whether a
// segment was newly deemed lost.
func (tp *tcpcb) rackDetectLoss() bool {
	sm := tp.sm
	r := &sm.rack
	if r.xmit.IsZero() {
		return false
	}
	now := tp.clock()
	reo := tp.rackReoWnd()
	var wait time.Duration
	lost := false
	for k := range sm.segs {
		s := &sm.segs[k]
		if s.flags&smSacked != 0 || s.flags&(smLost|smRexmit) == smLost {
			continue
		}
		if s.xmit.After(r.xmit) || s.xmit.Equal(r.xmit) && s.end.geq(r.end) {
			if s.flags&smRexmit == 0 {
				break // originals go out in sequence order: the rest are later
			}
			continue
		}
		if left := s.xmit.Add(r.rtt + reo).Sub(now); left > 0 {
			wait = max(wait, left)
			continue
		}
		s.flags |= smLost
		s.flags &^= smRexmit
		lost = true
	}
	if wait > 0 {
		tp.timerSet(ttReorder, wait)
	} else {
		tp.timerStop(ttReorder)
	}
	return lost
}

// lossRecovery enters SACK loss recovery (RFC 6675 4, RFC 8985 6.3): the
// congestion module lowers ssthresh and cwnd drops to it.
func (tp *tcpcb) lossRecovery() {
	st := &tp.s.Stats.TCP
	st.FastRecovery.Add(1)
	st.SackRecovery.Add(1)
	tp.cc.congSignal(tp, ccSigRecovery)
	tp.cwnd = tp.ssthresh
	tp.recover = tp.sndMax
	tp.flags |= tfInRecovery
	if r := &tp.sm.rack; r.reoKeep > 0 {
		if r.reoKeep--; r.reoKeep == 0 {
			r.reoMult = 1
		}
	}
	tp.rtttime = time.Time{}
	tp.sm.rack.tlpEnd = 0
	tp.timerStop(ttTLP)
}

// tlpArm arms the probe timeout (7.2) when the flight has no other
// detection pending: SACK on, neither recovering nor backing off after a
// timeout, data in flight, no probe out.
func (tp *tcpcb) tlpArm() {
	if !tp.rackOn() || tp.sm == nil || tp.flags&tfInRecovery != 0 || tp.sndMax == tp.sndUna || tp.rxtshift != 0 ||
		tp.sm.rack.tlpEnd != 0 || tp.srtt == 0 || tp.state != tcpsEstablished && tp.state != tcpsCloseWait {
		tp.timerStop(ttTLP)
		return
	}
	pto := 2 * tp.srtt
	if int(tp.sndMax-tp.sndUna) <= tp.segSize() {
		pto += 200 * time.Millisecond // the peer may delay its ACK
	} else {
		pto += 2 * time.Millisecond
	}
	if tp.timerActive(ttRexmt) {
		if left := tp.tdl[ttRexmt].Sub(tp.clock()); left < pto {
			return // the RTO comes first
		}
	}
	tp.timerSet(ttTLP, pto)
}

// tlpTimeout is the probe (7.3): new data if the window allows, else the
// last segment again, without touching cwnd.
func (tp *tcpcb) tlpTimeout() {
	sm := tp.sm
	if sm == nil || tp.sndMax == tp.sndUna || tp.flags&tfInRecovery != 0 {
		return
	}
	tp.s.Stats.TCP.TLPProbe.Add(1)
	avail := tp.sndAvail()
	off := int(tp.sndMax - tp.sndUna)
	sm.rack.tlpDup = false
	if avail > off && int(tp.sndWnd) > off && tp.sndNxt == tp.sndMax {
		ocwnd := tp.cwnd
		tp.cwnd = max(tp.cwnd, uint32(off+tp.segSize()))
		tp.flags |= tfForce
		tp.outputOne()
		tp.flags &^= tfForce
		tp.cwnd = ocwnd
		sm.rack.tlpRx = false
	} else if n := len(sm.segs); n > 0 {
		s := sm.segs[n-1]
		if s.flags&smSacked != 0 {
			return
		}
		tp.sendRange(s.start, s.end)
		sm.rack.tlpRx = true
	}
	sm.rack.tlpEnd = tp.sndMax
	tp.timerSet(ttRexmt, tp.rxtcur)
}

// tlpAck is the probe's loss detection (7.4) on an ACK that advanced
// snd_una to una: a resent probe that was needed repaired a loss, which
// costs a congestion response.
func (tp *tcpcb) tlpAck(una seqnum) {
	r := &tp.sm.rack
	if r.tlpEnd == 0 || una.lt(r.tlpEnd) {
		return
	}
	if r.tlpRx && !r.tlpDup {
		tp.s.Stats.TCP.TLPRecovery.Add(1)
		tp.cc.congSignal(tp, ccSigRecovery)
		tp.cwnd = tp.ssthresh
	}
	r.tlpEnd = 0
}
