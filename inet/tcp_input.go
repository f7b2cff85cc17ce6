package inet

import (
	"encoding/binary"
	"net/netip"
	"syscall"
	"time"

	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

// tcpIn is an arriving segment, parsed.
type tcpIn struct {
	src, dst     netip.Addr
	sport, dport uint16
	seq, ack     seqnum
	flags        uint8
	win          uint16
	tlen         int
	mss          int // 0: none
	wscale       int // -1: none
	urp          int
	ts           bool
	tsVal, tsEcr uint32
	sackOK       bool         // SACK-permitted (on a SYN)
	nsack        int          // SACK blocks
	sack         [4][2]seqnum // their left and right edges
	m            *mbuf.Mbuf
}

// tcpInputOne is tcp_input: check the segment, find its connection and
// run the state machine, or answer with a RST. It consumes m.
func (s *Stack) tcpInputOne(ifa *Iface, m *mbuf.Mbuf, off int, v6 bool) {
	st := &s.Stats.TCP
	st.RcvTotal.Add(1)
	m, err := mbuf.Pullup(m, off+header.TCPMinLen)
	if err != nil {
		st.RcvShort.Add(1)
		mbuf.FreeChain(m)
		return
	}
	var src, dst netip.Addr
	if v6 {
		h := header.IPv6(m.Data())
		src, dst = h.Src(), h.Dst()
	} else {
		h := header.IPv4(m.Data())
		src, dst = h.Src(), h.Dst()
	}
	seglen := mbuf.Length(m) - off
	hl := header.TCP(m.Data()[off:]).DataOffset()
	if hl < header.TCPMinLen || hl > seglen {
		st.RcvBadOff.Add(1)
		mbuf.FreeChain(m)
		return
	}
	if m, err = mbuf.Pullup(m, off+hl); err != nil {
		st.RcvShort.Add(1)
		mbuf.FreeChain(m)
		return
	}
	if ifa.ifp.Checksum.Load() && !m.Csum.Delayed {
		if header.ChecksumMbuf(m, off, seglen, header.PseudoHeaderChecksum(header.ProtoTCP, src, dst, uint16(seglen))) != 0xffff {
			st.RcvBadSum.Add(1)
			mbuf.FreeChain(m)
			return
		}
	}
	if dst.IsMulticast() || src.IsMulticast() || src.IsUnspecified() || !v6 && (s.isBroadcast4(dst, ifa) || src == limitedBroadcast) {
		mbuf.FreeChain(m)
		return
	}
	th := header.TCP(m.Data()[off : off+hl])
	in := &tcpIn{src: zoned(src, ifa), dst: dst, sport: th.SrcPort(), dport: th.DstPort(),
		seq: seqnum(th.Seq()), ack: seqnum(th.Ack()), flags: th.Flags(), win: th.Window(),
		tlen: seglen - hl, wscale: -1, urp: int(th.Urgent())}
	if hl > header.TCPMinLen {
		header.TCPOptions(th.Options(), func(kind uint8, data []byte) {
			switch kind {
			case header.TCPOptTimestamp:
				if len(data) == 8 {
					in.ts = true
					in.tsVal = binary.BigEndian.Uint32(data)
					in.tsEcr = binary.BigEndian.Uint32(data[4:])
				}
			case header.TCPOptMSS:
				if len(data) == 2 && in.flags&tcpSyn != 0 {
					in.mss = int(data[0])<<8 | int(data[1])
				}
			case header.TCPOptWindowScale:
				if len(data) == 1 && in.flags&tcpSyn != 0 {
					in.wscale = int(min(data[0], 14))
				}
			case header.TCPOptSACKPermitted:
				if len(data) == 0 && in.flags&tcpSyn != 0 {
					in.sackOK = true
				}
			case header.TCPOptSACK:
				if len(data)%8 == 0 && in.flags&tcpSyn == 0 {
					for i := 0; i+8 <= len(data) && in.nsack < len(in.sack); i += 8 {
						in.sack[in.nsack] = [2]seqnum{seqnum(binary.BigEndian.Uint32(data[i:])), seqnum(binary.BigEndian.Uint32(data[i+4:]))}
						in.nsack++
					}
				}
			}
		})
	}
	mbuf.Adj(m, off+hl)
	m.Csum = mbuf.Csum{}
	in.m = m
	if in.sport == 0 || in.dport == 0 {
		mbuf.FreeChain(m)
		return
	}
	p := s.tcp.pcbs.lookup(in.src, in.sport, in.dst, in.dport)
	var tp *tcpcb
	if p != nil {
		if p.tw != nil {
			if s.twCompactInput(p, in) {
				s.tcpInputRedo(ifa, in)
			} else {
				mbuf.FreeChain(in.m)
			}
			return
		}
		tp = tcpcbOf(p.so)
	}
	if tp == nil {
		st.NoPort.Add(1)
		s.tcpDropWithReset(in)
		return
	}
	tp.lock()
	if tp.state == tcpsListen {
		tp.mu.Unlock()
		s.tcpListenInput(tp, in)
		return
	}
	if tp.state == tcpsClosed || tp.flags&tfFreed != 0 {
		compacted := tp.state == tcpsTimeWait
		tp.mu.Unlock()
		if compacted {
			// The block became a compact TIME_WAIT since the lookup.
			if p := s.tcp.pcbs.lookup(in.src, in.sport, in.dst, in.dport); p != nil && p.tw != nil {
				if s.twCompactInput(p, in) {
					s.tcpInputRedo(ifa, in)
				} else {
					mbuf.FreeChain(in.m)
				}
				return
			}
		}
		st.NoPort.Add(1)
		s.tcpDropWithReset(in)
		return
	}
	if tp.state == tcpsTimeWait {
		again := tp.twInput(in)
		tp.unlockAndSend()
		if again {
			// A new SYN recycled the TIME_WAIT: the listener takes it.
			s.tcpInputRedo(ifa, in)
			return
		}
		mbuf.FreeChain(in.m)
		return
	}
	reset := tp.doSegment(in)
	tp.unlockAndSend()
	if reset {
		s.tcpDropWithReset(in)
	} else {
		mbuf.FreeChain(in.m)
	}
}

// tcpInputRedo looks the segment up again after its TIME_WAIT block went
// away and hands it to the listener, or answers with a RST.
func (s *Stack) tcpInputRedo(ifa *Iface, in *tcpIn) {
	p := s.tcp.pcbs.lookup(in.src, in.sport, in.dst, in.dport)
	var lp *tcpcb
	if p != nil {
		lp = tcpcbOf(p.so)
	}
	if lp != nil {
		lp.lock()
		if lp.state == tcpsListen {
			lp.mu.Unlock()
			s.tcpListenInput(lp, in)
			return
		}
		lp.mu.Unlock()
	}
	s.Stats.TCP.NoPort.Add(1)
	s.tcpDropWithReset(in)
}

// tcpDropWithReset is tcp_dropwithreset: answer a segment that belongs to
// no connection with a RST (never a RST to a RST). It consumes in.m.
func (s *Stack) tcpDropWithReset(in *tcpIn) {
	mbuf.FreeChain(in.m)
	in.m = nil
	if in.flags&tcpRst != 0 {
		return
	}
	var seq, ack seqnum
	flags := uint8(tcpRst)
	if in.flags&tcpAck != 0 {
		seq = in.ack
	} else {
		ack = in.seq + seqnum(in.tlen)
		if in.flags&tcpSyn != 0 {
			ack++
		}
		if in.flags&tcpFin != 0 {
			ack++
		}
		flags |= tcpAck
	}
	s.Stats.TCP.SndRst.Add(1)
	s.Stats.TCP.SndTotal.Add(1)
	m := s.tcpBuild(in.dst, in.dport, in.src, in.sport, seq, ack, flags, 0, nil, nil, 0)
	o := &ipOut{src: in.dst, dst: in.src, proto: header.ProtoTCP, ttl: -1}
	if in.src.Is4() {
		s.ip4Output(m, o)
	} else {
		s.ip6Output(m, o)
	}
}

// tcpListenInput handles a segment for a listener: a SYN goes to the SYN
// cache (or gets a cookie); an ACK or RST is for the cache to judge;
// anything else is dropped.
func (s *Stack) tcpListenInput(lp *tcpcb, in *tcpIn) {
	switch {
	case in.flags&(tcpRst|tcpAck) != 0 && in.flags&tcpSyn == 0:
		s.scInput(lp, in)
		return
	case in.flags&tcpSyn == 0 || in.flags&(tcpFin|tcpAck|tcpRst) != 0:
		if in.flags&tcpAck != 0 && in.flags&tcpRst == 0 {
			s.tcpDropWithReset(in) // a SYN-ACK to a listener
			return
		}
		mbuf.FreeChain(in.m)
		return
	}
	mbuf.FreeChain(in.m) // data on a SYN is not kept; the peer resends it
	in.m = nil
	if !lp.inp.family(in.dst) {
		return
	}
	s.scAdd(lp, in)
}

// synOptions takes the MSS from a SYN.
func (tp *tcpcb) synOptions(in *tcpIn) {
	tp.mssUpdate(cmp0(in.mss, tp.s.defaultPeerMSS(in.src)), in.src)
}

// established moves the connection to ESTABLISHED and tells the socket.
func (tp *tcpcb) established() {
	tp.state = tcpsEstablished
	tp.s.Stats.TCP.Connects.Add(1)
	mss := uint32(tp.maxseg)
	tp.ccInit()
	tp.cwnd = min(uint32(tp.s.tcp.tun.InitCwndSegs)*mss, max(2*mss, 14600))
	tp.ssthresh = 1 << 30
	tp.recover = tp.iss // RFC 6582: recover starts at the ISS
	tp.timerStop(ttKeep)
	tp.keepArm()
	if tp.flags&tfDetached == 0 {
		tp.so.Isconnected()
	}
	if tp.flags&tfNeedFin != 0 {
		tp.flags &^= tfNeedFin
		tp.state = tcpsFinWait1
	}
}

// challengeAck is RFC 5961's ACK for a suspicious RST or SYN.
// They are limited to 5 a second per connection (FreeBSD's ack-war
// prevention, net.inet.tcp.ack_war_cnt), which also stops two stacks that
// disagree from trading ACKs forever.
func (tp *tcpcb) challengeAck() {
	if now := tp.clock(); now.Sub(tp.ackWarStart) >= time.Second {
		tp.ackWarStart, tp.ackWarCnt = now, 0
	}
	if tp.ackWarCnt >= 5 {
		return
	}
	tp.ackWarCnt++
	tp.s.Stats.TCP.ChallengeAck.Add(1)
	tp.respond(tp.sndNxt, tp.rcvNxt, tcpAck)
}

// enterTimeWait starts 2*MSL.
// The block sheds what TIME_WAIT does not need (tcp_twstart).
func (tp *tcpcb) enterTimeWait() {
	tp.state = tcpsTimeWait
	tp.timerKill()
	tp.reass.free()
	tp.reass = nil
	tp.sm = nil
	tp.cc = nil
	mbuf.FreeChain(tp.orphan)
	tp.orphan = nil
	tp.twStart()
	if tp.flags&tfDetached == 0 {
		tp.so.Isdisconnected()
	} else {
		tp.twCompact()
	}
}

// doSegment is tcp_do_segment for every state but LISTEN and CLOSED, with
// tp locked. It reports whether the segment is to be answered with a RST
// (the caller frees in.m either way, unless consumed).
func (tp *tcpcb) doSegment(in *tcpIn) (reset bool) {
	st := &tp.s.Stats.TCP
	thflags := in.flags
	seq, ack := in.seq, in.ack
	tlen := in.tlen
	tiwin := uint32(in.win)
	if thflags&tcpSyn == 0 {
		tiwin <<= tp.sndScale
	}
	tp.rcvtime = tp.clock()
	tp.keepProbes = 0

	if tp.state == tcpsSynSent {
		if thflags&tcpAck != 0 && (ack.leq(tp.iss) || ack.gt(tp.sndMax)) {
			return thflags&tcpRst == 0
		}
		if thflags&tcpRst != 0 {
			if thflags&tcpAck != 0 {
				tp.drop(syscall.ECONNREFUSED)
			}
			return false
		}
		if thflags&tcpSyn == 0 {
			return false
		}
		tp.irs = seq
		tp.rcvNxt = seq + 1
		tp.rcvAdv, tp.rcvUp = tp.rcvNxt, tp.rcvNxt
		tp.synOptions(in)
		if in.wscale >= 0 && tp.flags&tfReqScale != 0 {
			tp.flags |= tfRcvdScale
			tp.sndScale = uint8(in.wscale)
		} else {
			tp.flags &^= tfReqScale
			tp.rcvScale = 0
		}
		if in.sackOK && tp.flags&tfReqSack != 0 {
			tp.flags |= tfSackPermit
		}
		if in.ts && tp.flags&tfReqTstmp != 0 {
			tp.flags |= tfRcvdTstmp
			tp.tsRecent, tp.tsRecentAge = in.tsVal, tp.clock()
		} else {
			tp.flags &^= tfReqTstmp
		}
		tp.sndWnd = tiwin
		tp.maxSndWnd = tiwin
		tp.sndWl1 = seq
		tp.flags |= tfAckNow
		if thflags&tcpAck != 0 {
			tp.sndUna = ack
			tp.sndWl2 = ack
			if tp.sndNxt.lt(tp.sndUna) {
				tp.sndNxt = tp.sndUna
			}
			if !tp.rtttime.IsZero() {
				tp.rttUpdate(tp.clock().Sub(tp.rtttime))
				tp.rtttime = time.Time{}
			}
			tp.timerStop(ttRexmt)
			tp.established()
		} else {
			// Simultaneous open: answer with SYN-ACK.
			tp.state = tcpsSynReceived
			tp.timerStop(ttRexmt)
			tp.sndNxt = tp.iss
		}
		tp.output()
		return false
	}

	rcvWnd := tp.recwin()

	// RFC 5961 3: a RST resets only at exactly rcv_nxt; elsewhere in the
	// window it earns a challenge ACK.
	if thflags&tcpRst != 0 {
		if seq.geq(tp.rcvNxt) && seq.lt(tp.rcvNxt+seqnum(max(rcvWnd, 1))) {
			if seq == tp.rcvNxt {
				// The peer reset the connection: close it, answering
				// nothing (tcp_do_segment's "close" path, not tcp_drop).
				errno := syscall.ECONNRESET
				if tp.state == tcpsSynReceived {
					errno = syscall.ECONNREFUSED
				}
				st.Drops.Add(1)
				if tp.flags&tfDetached == 0 {
					tp.so.SetError(errno)
				}
				tp.close()
				return false
			}
			tp.challengeAck()
		} else {
			st.RcvBadRst.Add(1)
		}
		return false
	}
	// RFC 5961 4: a SYN on a synchronized connection earns a challenge
	// ACK; a retransmitted SYN in SYN_RECEIVED the SYN-ACK again.
	if thflags&tcpSyn != 0 {
		if tp.state == tcpsSynReceived && seq == tp.irs {
			tp.sndNxt = tp.iss
			tp.output()
			return false
		}
		tp.challengeAck()
		return false
	}

	// PAWS (RFC 7323 5): a timestamp older than TS.Recent marks an old
	// duplicate; it is dropped and acknowledged. TS.Recent older than 24
	// days is stale and no longer used.
	if in.ts && tp.useTS() && tp.tsRecent != 0 && int32(in.tsVal-tp.tsRecent) < 0 {
		if tp.clock().Sub(tp.tsRecentAge) > 24*24*time.Hour {
			tp.tsRecent = 0
		} else {
			st.PAWSDrop.Add(1)
			st.RcvDupPack.Add(1)
			tp.flags |= tfAckNow
			tp.output()
			return false
		}
	}
	// TS.Recent follows the segment that covers the last ACK sent (RFC
	// 7323 4.3).
	if in.ts && tp.useTS() && seq.leq(tp.lastAckSent) {
		tp.tsRecent, tp.tsRecentAge = in.tsVal, tp.clock()
	}

	// Trim what was received already.
	if todrop := int(int32(tp.rcvNxt - seq)); todrop > 0 {
		if todrop > tlen || todrop == tlen && thflags&tcpFin == 0 {
			thflags &^= tcpFin
			tp.flags |= tfAckNow
			todrop = tlen
			st.RcvDupPack.Add(1)
			st.RcvDupByte.Add(uint64(todrop))
		} else {
			st.RcvPartDupPack.Add(1)
		}
		if todrop > 0 && tp.sackOK() {
			tp.dsack = [2]seqnum{seq, seq + seqnum(todrop)}
			tp.flags |= tfDsack | tfAckNow
		}
		mbuf.Adj(in.m, todrop)
		seq += seqnum(todrop)
		tlen -= todrop
	}
	// Data for a socket that is gone: the connection is reset.
	if tp.flags&tfDetached != 0 && tp.state > tcpsCloseWait && tlen > 0 {
		st.RcvAfterClose.Add(1)
		tp.close()
		return true
	}
	// Trim what lies beyond the window.
	if todrop := int(int32(seq + seqnum(tlen) - (tp.rcvNxt + seqnum(rcvWnd)))); todrop > 0 {
		st.RcvPackAfterWin.Add(1)
		if todrop >= tlen {
			if rcvWnd == 0 && seq == tp.rcvNxt {
				tp.flags |= tfAckNow
				st.RcvWinProbe.Add(1)
			} else {
				tp.flags |= tfAckNow
				tp.output()
				return false
			}
		}
		mbuf.Adj(in.m, -todrop)
		tlen -= min(todrop, tlen)
		thflags &^= tcpPsh | tcpFin
	}
	if thflags&tcpAck == 0 {
		if tp.flags&tfAckNow != 0 {
			tp.output()
		}
		return false
	}

	// RFC 5961 5.2: an ACK of data never sent, or too old, is answered
	// and dropped.
	if ack.gt(tp.sndMax) || ack.lt(tp.sndUna-seqnum(tp.maxSndWnd)) {
		if tp.state == tcpsSynReceived {
			return true
		}
		st.RcvAckTooMuch.Add(1)
		tp.challengeAck()
		return false
	}
	if tp.state == tcpsSynReceived {
		if ack.leq(tp.iss) {
			return true
		}
		tp.sndUna = tp.iss + 1
		tp.sndWnd = tiwin
		tp.maxSndWnd = tiwin
		tp.sndWl1, tp.sndWl2 = seq, ack
		if !tp.rtttime.IsZero() {
			tp.rttUpdate(tp.clock().Sub(tp.rtttime))
			tp.rtttime = time.Time{}
		} else if in.ts && tp.useTS() && in.tsEcr != 0 && int32(tp.tsNow()-in.tsEcr) >= 0 {
			tp.rttUpdate(time.Duration(tp.tsNow()-in.tsEcr) * time.Millisecond)
		}
		tp.timerStop(ttRexmt)
		st.Accepts.Add(1)
		tp.established()
	}

	ourFinAcked := false
	sackConn := tp.sm != nil && tp.sackOK()
	if sackConn && in.nsack > 0 {
		tp.sackInput(in)
	}
	if ack.leq(tp.sndUna) {
		if ack == tp.sndUna && tlen == 0 && thflags&tcpFin == 0 && (tiwin == tp.sndWnd || in.nsack > 0) && tp.sndMax != tp.sndUna {
			st.RcvDupAck.Add(1)
			tp.dupacks++
			if !tp.timerActive(ttRexmt) {
				// Only a window probe is out: the ACK says nothing of
				// loss (tcp_do_segment resets t_dupacks here).
				tp.dupacks = 0
			}
			mss := uint32(tp.maxseg)
			switch {
			case sackConn:
				// SACK recovery decides below.
			case tp.dupacks == 3 && tp.flags&tfInRecovery == 0 && ack.gt(tp.recover):
				st.FastRexmit.Add(1)
				st.FastRecovery.Add(1)
				tp.cc.congSignal(tp, ccSigRecovery)
				tp.recover = tp.sndMax
				tp.flags |= tfInRecovery
				tp.timerStop(ttRexmt)
				tp.rtttime = time.Time{}
				onxt := tp.sndNxt
				tp.sndNxt = ack
				tp.cwnd = mss
				tp.output()
				tp.cwnd = tp.ssthresh + 3*mss
				if onxt.gt(tp.sndNxt) {
					tp.sndNxt = onxt
				}
			case tp.dupacks > 3 && tp.flags&tfInRecovery != 0:
				tp.cwnd += mss
			}
		} else if ack != tp.sndUna || tlen > 0 {
			tp.dupacks = 0
		}
	} else {
		acked := int(ack - tp.sndUna)
		st.RcvAckPack.Add(1)
		st.RcvAckByte.Add(uint64(acked))
		partial := false
		mss := uint32(tp.maxseg)
		if sackConn {
			t, e, rx := tp.sm.ack(ack)
			if !t.IsZero() && tp.rackOn() {
				tp.rackUpdate(t, e, rx)
			}
			if tp.rackOn() {
				tp.tlpAck(ack)
			}
		}
		if tp.flags&tfInRecovery != 0 {
			if ack.lt(tp.recover) {
				partial = true
				st.PartialAck.Add(1)
			} else {
				tp.flags &^= tfInRecovery
				tp.sndUna = ack // postRecovery sees the flight after this ACK
				tp.cc.postRecovery(tp)
			}
		} else if tp.cwnd <= tp.sndWnd {
			// Only a window that limits the sender grows (FreeBSD's
			// CCF_CWND_LIMITED; RFC 7661's concern).
			tp.cc.ackReceived(tp, uint32(acked))
		}
		tp.dupacks = 0
		if in.ts && tp.useTS() && in.tsEcr != 0 && int32(tp.tsNow()-in.tsEcr) >= 0 {
			tp.rttUpdate(time.Duration(tp.tsNow()-in.tsEcr) * time.Millisecond)
			tp.rtttime = time.Time{}
		} else if !tp.rtttime.IsZero() && ack.gt(tp.rtseq) {
			tp.rttUpdate(tp.clock().Sub(tp.rtttime))
			tp.rtttime = time.Time{}
		}
		if ack == tp.sndMax {
			tp.timerStop(ttRexmt)
		} else if !tp.timerActive(ttPersist) {
			tp.timerSet(ttRexmt, tp.rxtcur)
		}
		avail := tp.sndAvail()
		if acked > avail {
			tp.sndDrop(avail)
			ourFinAcked = true
		} else {
			tp.sndDrop(acked)
		}
		tp.sndUna = ack
		if tp.sndNxt.lt(tp.sndUna) {
			tp.sndNxt = tp.sndUna
		}
		if partial && !sackConn {
			// NewReno (RFC 6582 3.2 step 3): resend the next hole, deflate.
			onxt := tp.sndNxt
			ocwnd := tp.cwnd
			tp.sndNxt = tp.sndUna
			tp.cwnd = mss
			tp.output()
			if onxt.gt(tp.sndNxt) {
				tp.sndNxt = onxt
			}
			if ocwnd > uint32(acked) {
				tp.cwnd = ocwnd - uint32(acked) + mss
			} else {
				tp.cwnd = mss
			}
			tp.timerSet(ttRexmt, tp.rxtcur)
		}
		switch tp.state {
		case tcpsFinWait1:
			if ourFinAcked {
				tp.state = tcpsFinWait2
				if tp.flags&tfDetached != 0 || tp.rcvShut() {
					if tp.flags&tfDetached == 0 {
						tp.so.Isdisconnected()
					}
					tp.timerSet(tt2MSL, tp.s.tcp.tun.FinWait2Timeout)
				}
			}
		case tcpsClosing:
			if ourFinAcked {
				tp.enterTimeWait()
				return false
			}
		case tcpsLastAck:
			if ourFinAcked {
				tp.close()
				return false
			}
		}
	}

	// SACK loss detection (RFC 6675 IsLost, RACK) and recovery entry.
	if sackConn && tp.sm != nil {
		lost := false
		if tp.sm.sackedBytes > 0 {
			lost = tp.sm.markLost(tp.segSize())
		}
		if tp.rackOn() && tp.rackDetectLoss() {
			st.RackLoss.Add(1)
			lost = true
		}
		if tp.flags&tfInRecovery == 0 && ack.gt(tp.recover) {
			if tp.dupacks >= 3 {
				tp.sm.markFirstLost()
				lost = true
			}
			if lost {
				tp.lossRecovery()
				tp.flags |= tfForceRexmit
				st.FastRexmit.Add(1)
			}
		}
	}

	// Window update (RFC 9293 3.10.7.4).
	if tp.sndWl1.lt(seq) || tp.sndWl1 == seq && (tp.sndWl2.lt(ack) || tp.sndWl2 == ack && tiwin > tp.sndWnd) {
		if tlen == 0 && tp.sndWl2 == ack && tiwin > tp.sndWnd {
			st.RcvWinUpd.Add(1)
		}
		tp.sndWnd = tiwin
		tp.sndWl1, tp.sndWl2 = seq, ack
		tp.maxSndWnd = max(tp.maxSndWnd, tiwin)
	}

	// Urgent data (tcp_input's "process segments with URG"): a new
	// urgent pointer sets the mark; the byte is taken out of the stream
	// unless SO_OOBINLINE (only from an in-order segment here).
	if thflags&header.TCPFlagUrg != 0 && in.urp > 0 && !haveRcvdFin(tp.state) && tp.flags&tfDetached == 0 {
		up := seq + seqnum(in.urp)
		if up.gt(tp.rcvUp) {
			tp.rcvUp = up
			so := tp.so
			so.Rcv.Lock()
			so.SetOOBMarkLocked(so.Rcv.AvailLocked() + int(up-tp.rcvNxt) - 1)
			so.Rcv.Unlock()
			so.HasOutOfBand()
			tp.oobflags &^= tcpoobHaveData | tcpoobHadData
		}
		if in.urp <= tlen && seq == tp.rcvNxt && tp.so.Options()&socket.SO_OOBINLINE == 0 &&
			(tp.reass == nil || len(tp.reass.segs) == 0) {
			var b [1]byte
			mbuf.CopyData(in.m, in.urp-1, b[:])
			tp.iobc = b[0]
			tp.oobflags |= tcpoobHaveData
			rest := mbuf.Split(in.m, in.urp-1)
			if rest != nil {
				mbuf.Adj(rest, 1)
				in.m = mbuf.Cat(in.m, rest)
			}
		}
	}

	// Data and FIN.
	if (tlen > 0 || thflags&tcpFin != 0) && !haveRcvdFin(tp.state) {
		if seq == tp.rcvNxt && (tp.reass == nil || len(tp.reass.segs) == 0) {
			if tlen > 0 {
				if tp.flags&tfDelAck != 0 || thflags&tcpFin != 0 || tlen > tp.maxseg {
					// The second segment, a FIN, or more than one
					// segment's worth at once (offloaded or merged):
					// no delay (DELAY_ACK's tlen <= t_maxseg).
					tp.flags |= tfAckNow
				} else {
					tp.flags |= tfDelAck
					tp.timerSet(ttDelack, tp.s.tcp.tun.DelAck)
				}
				tp.rcvNxt += seqnum(tlen)
				tp.rcvDataTime = tp.clock()
				st.RcvPack.Add(1)
				st.RcvByte.Add(uint64(tlen))
				m := in.m
				in.m = nil
				tp.autoRcvBuf(tlen)
				tp.deliver(m)
			}
		} else if tlen > 0 || thflags&tcpFin != 0 {
			fin := thflags&tcpFin != 0
			thflags &^= tcpFin
			m := in.m
			in.m = nil
			tp.reassInsert(seq, m, tlen, fin)
			if tp.reassDrain() {
				thflags |= tcpFin
			}
			tp.flags |= tfAckNow
		}
	}
	if thflags&tcpFin != 0 && (tp.reass == nil || len(tp.reass.segs) == 0) {
		if !haveRcvdFin(tp.state) {
			if tp.flags&tfDetached == 0 {
				tp.so.Cantrcvmore()
			}
			tp.rcvNxt++
		}
		tp.flags |= tfAckNow
		switch tp.state {
		case tcpsSynReceived, tcpsEstablished:
			tp.state = tcpsCloseWait
		case tcpsFinWait1:
			tp.state = tcpsClosing
		case tcpsFinWait2:
			tp.enterTimeWait()
		}
	}
	if tp.state != tcpsClosed {
		tp.output()
	}
	return false
}

// autoRcvBuf is tcp_autorcvbuf: when a round trip brings in more than 3/8
// of the receive buffer, the buffer grows by half, up to RecvBufMax, so
// that the window keeps ahead of the path's bandwidth-delay product.
func (tp *tcpcb) autoRcvBuf(n int) {
	t := &tp.s.tcp.tun
	if !t.AutoRcvBuf || tp.flags&tfDetached != 0 {
		return
	}
	now := tp.rcvtime
	if tp.rfbufTs.IsZero() {
		tp.rfbufTs = now
	}
	if tp.srtt == 0 || now.Sub(tp.rfbufTs) <= tp.srtt {
		tp.rfbufCnt += n
		return
	}
	so := tp.so
	so.Rcv.Lock()
	hi := so.Rcv.HiwatLocked()
	if so.Rcv.FlagsLocked()&socket.SB_AUTOSIZE != 0 && tp.rfbufCnt > hi/2/4*3 && hi < t.RecvBufMax {
		if so.Rcv.ReserveLocked(min(hi+hi/2, t.RecvBufMax)) != nil {
			so.Rcv.ClearFlagsLocked(socket.SB_AUTOSIZE)
		}
	}
	so.Rcv.Unlock()
	tp.rfbufTs, tp.rfbufCnt = now, n
}

// rcvShut reports whether the socket will read no more.
func (tp *tcpcb) rcvShut() bool {
	tp.so.Rcv.Lock()
	defer tp.so.Rcv.Unlock()
	return tp.so.Rcv.StateLocked()&socket.SBS_CANTRCVMORE != 0
}

// deliver appends in-order data to the receive buffer and wakes readers;
// data for a socket that reads no more is discarded.
func (tp *tcpcb) deliver(m *mbuf.Mbuf) {
	if tp.flags&tfDetached != 0 {
		mbuf.FreeChain(m)
		return
	}
	so := tp.so
	so.Rcv.Lock()
	if so.Rcv.StateLocked()&socket.SBS_CANTRCVMORE != 0 {
		so.Rcv.Unlock()
		mbuf.FreeChain(m)
		return
	}
	so.Rcv.AppendStreamLocked(m)
	so.RwakeupLocked()
}

// reassInsert queues an out-of-order segment (tcp_reass), bounded in count.
func (tp *tcpcb) reassInsert(seq seqnum, m *mbuf.Mbuf, n int, fin bool) {
	st := &tp.s.Stats.TCP
	if tp.reass == nil {
		tp.reass = &tcpReass{}
	}
	r := tp.reass
	tp.rcvLastOO = seq
	if seq != tp.rcvNxt {
		st.RcvOOPack.Add(1)
		tp.nRcvOOO++
		st.RcvOOByte.Add(uint64(n))
		if len(r.segs) >= tp.s.tcp.tun.ReassMaxQueue {
			st.RcvReassFull.Add(1)
			mbuf.FreeChain(m)
			return
		}
	}
	i := len(r.segs)
	for i > 0 && r.segs[i-1].seq.gt(seq) {
		i--
	}
	if i > 0 {
		prev := r.segs[i-1]
		if prev.seq == seq && prev.n >= n && (prev.fin || !fin) {
			if n > 0 && tp.sackOK() {
				tp.dsack = [2]seqnum{seq, seq + seqnum(n)}
				tp.flags |= tfDsack
			}
			mbuf.FreeChain(m)
			return
		}
	}
	r.segs = append(r.segs, reassSeg{})
	copy(r.segs[i+1:], r.segs[i:])
	r.segs[i] = reassSeg{seq: seq, m: m, n: n, fin: fin}
	r.bytes += n
}

// reassDrain delivers the queue's in-order front; true when it reached a
// FIN.
func (tp *tcpcb) reassDrain() bool {
	r := tp.reass
	st := &tp.s.Stats.TCP
	fin := false
	k := 0
	var chain *mbuf.Mbuf
	for ; k < len(r.segs); k++ {
		sg := r.segs[k]
		if sg.seq.gt(tp.rcvNxt) {
			break
		}
		r.bytes -= sg.n
		skip := int(tp.rcvNxt - sg.seq)
		if skip >= sg.n && !(sg.fin && skip == sg.n) {
			mbuf.FreeChain(sg.m)
			continue
		}
		mbuf.Adj(sg.m, skip)
		n := sg.n - skip
		if n > 0 {
			tp.rcvNxt += seqnum(n)
			st.RcvPack.Add(1)
			st.RcvByte.Add(uint64(n))
			chain = mbuf.Cat(chain, sg.m)
		} else {
			mbuf.FreeChain(sg.m)
		}
		if sg.fin {
			fin = true
			k++
			break
		}
	}
	for i := 0; i < k; i++ {
		r.segs[i] = reassSeg{}
	}
	r.segs = r.segs[k:]
	if fin {
		for _, sg := range r.segs {
			mbuf.FreeChain(sg.m)
		}
		r.segs = nil
		r.bytes = 0
	}
	if len(r.segs) == 0 {
		r.segs = nil
	}
	if chain != nil {
		tp.deliver(chain)
	}
	return fin
}

// tcpCtlinput is tcp_ctlinput: an ICMP error quoting a segment we sent
// from laddr to faddr. quote holds the quoted TCP header's first bytes.
func (s *Stack) tcpCtlinput(laddr, faddr netip.Addr, quote []byte, errno syscall.Errno) {
	if len(quote) < 8 {
		return
	}
	lport := uint16(quote[0])<<8 | uint16(quote[1])
	fport := uint16(quote[2])<<8 | uint16(quote[3])
	seq := seqnum(uint32(quote[4])<<24 | uint32(quote[5])<<16 | uint32(quote[6])<<8 | uint32(quote[7]))
	p := s.tcp.pcbs.lookup(faddr, fport, laddr, lport)
	if p == nil {
		return
	}
	tp := tcpcbOf(p.so)
	if tp == nil {
		return
	}
	tp.lock()
	if tp.state == tcpsListen || tp.state == tcpsClosed || seq.lt(tp.sndUna) || seq.geq(tp.sndMax) {
		tp.mu.Unlock()
		return
	}
	switch {
	case errno == syscall.EMSGSIZE:
		if mss, tso := s.routeMSS(faddr, tp.userMSS); mss < tp.maxseg || tso < tp.tsoMax {
			if mss < tp.maxseg {
				s.Stats.TCP.PMTUUpdate.Add(1)
				tp.maxseg = mss
			}
			if tso <= tp.maxseg {
				tso = 0
			}
			tp.tsoMax = min(tp.tsoMax, tso)
			tp.sndNxt = tp.sndUna
			tp.rtttime = time.Time{}
			tp.output()
		}
	case tp.state == tcpsSynSent && (errno == syscall.ECONNREFUSED || tp.rxtshift > 3):
		tp.drop(errno)
	default:
		tp.softErr = errno
	}
	tp.unlockAndSend()
}
