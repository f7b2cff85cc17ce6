package inet

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

const (
	tcpFin = header.TCPFlagFin
	tcpSyn = header.TCPFlagSyn
	tcpRst = header.TCPFlagRst
	tcpPsh = header.TCPFlagPsh
	tcpAck = header.TCPFlagAck

	tcpMaxWin = 65535
	// tcpMinMSS is net.inet.tcp.minmss: the smallest send MSS, however
	// small the peer's offer; a segment of that size goes without DF.
	tcpMinMSS = 216
	// tcpHdrRoom is the room left before a segment for the IP and link
	// headers.
	tcpHdrRoom = linkHdrRoom + header.IPv6Len
)

// sndAvail is the data in the send buffer (or orphaned after close).
func (tp *tcpcb) sndAvail() int {
	if tp.flags&tfDetached != 0 {
		return mbuf.Length(tp.orphan)
	}
	tp.so.Snd.Lock()
	n := tp.so.Snd.AvailLocked()
	tp.so.Snd.Unlock()
	return n
}

// sndAvailAuto is sndAvail with tcp_output's send buffer autosizing: a
// buffer nearly full of data the peer's window could take grows by
// SendBufInc, up to SendBufMax.
func (tp *tcpcb) sndAvailAuto() int {
	t := &tp.s.tcp.tun
	if tp.flags&tfDetached != 0 || !t.AutoSndBuf {
		return tp.sndAvail()
	}
	sb := &tp.so.Snd
	sb.Lock()
	n := sb.AvailLocked()
	hi := sb.HiwatLocked()
	if sb.FlagsLocked()&socket.SB_AUTOSIZE != 0 && int(tp.sndWnd/4*5) >= hi && n >= hi/8*7 && n < t.SendBufMax &&
		int(min(tp.sndWnd, tp.cwnd)) >= n-int(tp.sndNxt-tp.sndUna) {
		if sb.ReserveLocked(min(hi+t.SendBufInc, t.SendBufMax)) != nil {
			sb.ClearFlagsLocked(socket.SB_AUTOSIZE)
		} else {
			tp.so.WwakeupLocked()
			return n
		}
	}
	sb.Unlock()
	return n
}

// sndCopy refers to n bytes of the send data starting off bytes past
// snd_una, sharing storage.
func (tp *tcpcb) sndCopy(off, n int) *mbuf.Mbuf {
	if tp.flags&tfDetached != 0 {
		return mbuf.Copy(tp.orphan, off, n)
	}
	tp.so.Snd.Lock()
	m := mbuf.Copy(tp.so.Snd.FirstLocked(), off, n)
	tp.so.Snd.Unlock()
	return m
}

// sndDrop discards n acknowledged bytes and wakes writers.
func (tp *tcpcb) sndDrop(n int) {
	if tp.flags&tfDetached != 0 {
		if n >= mbuf.Length(tp.orphan) {
			mbuf.FreeChain(tp.orphan)
			tp.orphan = nil
			return
		}
		// Trim in place: free emptied mbufs at the front.
		mbuf.Adj(tp.orphan, n)
		for tp.orphan != nil && tp.orphan.Len() == 0 && tp.orphan.Next != nil {
			tp.orphan = tp.orphan.Free()
		}
		return
	}
	so := tp.so
	so.Snd.Lock()
	freed := so.Snd.DropLocked(n)
	so.WwakeupLocked()
	mbuf.FreeChain(freed)
}

// recwin is the receive window to offer: the buffer's room, zero when it
// is too small to be worth offering (receiver silly-window avoidance), never
// less than what was offered already.
func (tp *tcpcb) recwin() int {
	var space int
	if tp.flags&tfDetached == 0 {
		tp.so.Rcv.Lock()
		space = tp.so.Rcv.SpaceLocked()
		hi := tp.so.Rcv.HiwatLocked()
		tp.so.Rcv.Unlock()
		if space < hi/4 && space < tp.maxseg {
			space = 0
		}
	}
	space = max(space, 0)
	space = min(space, tcpMaxWin<<tp.rcvScale)
	if adv := tp.rcvAdv.sub(tp.rcvNxt); tp.state >= tcpsSynReceived && adv > space {
		space = adv
	}
	return space
}

// output is tcp_output: send what the windows, Nagle and the flags call
// for, building the segments into tp.out.
func (tp *tcpcb) output() {
	for i := 0; i < 4096 && tp.outputOne(); i++ {
	}
	if tp.flags&tfRack != 0 && tp.sm != nil {
		tp.tlpArm()
	}
}

func (tp *tcpcb) outputOne() bool {
	switch tp.state {
	case tcpsClosed, tcpsListen:
		return false
	case tcpsSynSent, tcpsSynReceived:
		if tp.sndNxt == tp.iss || tp.flags&tfAckNow != 0 {
			tp.sendSyn()
		}
		return false
	}
	st := &tp.s.Stats.TCP
	sackRecovery := tp.flags&tfInRecovery != 0 && tp.sm != nil && tp.sackOK()
	if sackRecovery && tp.sackRexmit() {
		return true
	}
	avail := tp.sndAvailAuto()
	if tp.sm != nil && tp.sndNxt.lt(tp.sndMax) && len(tp.sm.segs) > 0 {
		// Resending after a timeout: skip what the peer holds.
		if to, _, in := tp.sm.sackedRun(tp.sndNxt); in {
			if to.gt(tp.sndMax) {
				to = tp.sndMax
			}
			tp.sndNxt = to
		}
	}
	if tp.sndMax == tp.sndUna && tp.cc != nil && avail > 0 && tp.clock().Sub(tp.rcvtime) >= tp.rxtcur {
		tp.afterIdle()
	}
	off := int(tp.sndNxt - tp.sndUna)
	sendwin := int(min(tp.sndWnd, tp.cwnd))
	if sackRecovery {
		// New data only as far as pipe leaves room (RFC 6675 NextSeg 2).
		sendwin = min(int(tp.sndWnd), off+max(int(tp.cwnd)-tp.sm.pipe(), 0))
	}
	if tp.flags&tfForce != 0 && sendwin == 0 && off < avail {
		sendwin = 1
	}
	n := min(avail, sendwin) - off
	if n < 0 {
		n = 0
	}
	if n == 0 && sendwin == 0 && off > 0 && tp.flags&tfForce == 0 && off <= avail {
		// The window closed on data already sent: start over at
		// snd_una when it opens, probing meanwhile.
		tp.timerStop(ttRexmt)
		tp.rxtshift = 0
		tp.sndNxt = tp.sndUna
		off = 0
		if !tp.timerActive(ttPersist) {
			tp.setPersist()
		}
	}
	if sendwin > 0 && tp.timerActive(ttPersist) && tp.flags&tfForce == 0 {
		tp.timerStop(ttPersist)
		tp.rxtshift = 0
	}
	sendalot := false
	mss := tp.segSize()
	if n > mss && tp.tsoMax > 0 && !sackRecovery && (tp.reass == nil || len(tp.reass.segs) == 0) && tp.flags&tfDsack == 0 {
		// TCP segmentation offload: one segment of many MSS-sized
		// pieces for the interface to cut, whole pieces unless it ends
		// the data (tcp_output's tso case; none with SACK blocks).
		if lim := tp.tsoSize(); n > lim {
			n = lim
			sendalot = true
		}
		if off+n < avail {
			n -= n % mss
		}
	} else if n > mss {
		n = mss
		sendalot = true
	}
	if n > 0 && tp.sm != nil && tp.sndNxt.lt(tp.sndMax) {
		if _, stop, _ := tp.sm.sackedRun(tp.sndNxt); stop != 0 && (tp.sndNxt + seqnum(n)).gt(stop) {
			n = int(stop - tp.sndNxt)
			sendalot = true
		}
	}
	finState := tp.state == tcpsFinWait1 || tp.state == tcpsClosing || tp.state == tcpsLastAck
	fin := finState && off+n == avail && (tp.flags&tfSentFin == 0 || tp.sndNxt.lt(tp.sndMax))
	rw := tp.recwin()

	send := false
	if n > 0 {
		idle := tp.sndMax == tp.sndUna
		switch {
		case n >= mss:
			send = true
		case tp.flags&tfMoreToCome == 0 && (idle || tp.flags&tfNoDelay != 0) && tp.flags&tfNoPush == 0 && off+n >= avail:
			// A short segment goes when nothing more is coming from this
			// send (PRUS_MORETOCOME), with or without TCP_NODELAY.
			send = true
		case tp.flags&tfForce != 0:
			send = true
		case tp.maxSndWnd > 0 && n >= int(tp.maxSndWnd/2):
			send = true
		case tp.sndNxt.lt(tp.sndMax):
			send = true
		}
	}
	if !send && rw > 0 && tp.flags&tfDelAck == 0 && !haveRcvdFin(tp.state) {
		// A window update, when the window grew by two segments and a
		// good part of the buffer, or by half the buffer (tcp_output's
		// rule; a pending delayed ACK will carry the window anyway).
		oldwin := max(tp.rcvAdv.sub(tp.rcvNxt), 0)
		adv := max(min(rw, tcpMaxWin<<tp.rcvScale)-oldwin, 0)
		hi := tp.rcvHiwat()
		if oldwin>>tp.rcvScale < (adv+oldwin)>>tp.rcvScale &&
			(adv >= 2*tp.maxseg && (adv >= hi/4 || rw <= hi/8 || hi <= 8*tp.maxseg || adv >= tcpMaxWin<<tp.rcvScale) ||
				2*adv >= hi) {
			send = true
			if n == 0 && tp.flags&tfAckNow == 0 {
				st.SndWinUp.Add(1)
			}
		}
	}
	if tp.flags&tfAckNow != 0 || fin {
		send = true
	}
	if !send {
		if avail > off && !tp.timerActive(ttRexmt) && !tp.timerActive(ttPersist) {
			tp.rxtshift = 0
			tp.setPersist()
		}
		return false
	}
	var optb [40]byte
	opts := tp.segOptions(&optb)
	if room := tp.maxseg - len(opts); n > room && room < tp.segSize() {
		// SACK blocks leave less room for data: the segment and its
		// options stay within the MSS (tcp_output trims len by optlen),
		// and a FIN waits for the last segment.
		n = room
		fin = false
		sendalot = true
	}
	flags := uint8(tcpAck)
	if fin {
		flags |= tcpFin
	}
	var data *mbuf.Mbuf
	if n > 0 {
		data = tp.sndCopy(off, n)
		if off+n == avail {
			flags |= tcpPsh
		}
	}
	seq := tp.sndMax
	if n > 0 || fin || tp.timerActive(ttPersist) {
		seq = tp.sndNxt
	}
	st.SndTotal.Add(1)
	switch {
	case n > 0 && tp.flags&tfForce != 0 && sendwin == 1:
		st.SndProbe.Add(1)
	case n > 0 && tp.sndNxt.lt(tp.sndMax):
		st.SndRexmitPack.Add(1)
		st.SndRexmitByte.Add(uint64(n))
		tp.nRexmit++
	case n > 0:
		st.SndPack.Add(1)
		st.SndByte.Add(uint64(n))
	case fin:
		st.SndCtrl.Add(1)
	default:
		st.SndAcks.Add(1)
	}
	tp.sendSeg(seq, flags, data, n, rw, opts)
	if (n > 0 || fin) && tp.flags&tfForce != 0 && tp.timerActive(ttPersist) {
		// A window probe: snd_max covers it, snd_nxt stays, so that
		// the probed bytes go again, with the rest, once the window
		// opens (tcp_output's persist case).
		e := tp.sndNxt + seqnum(n)
		if fin {
			e++
			tp.flags |= tfSentFin
		}
		if e.gt(tp.sndMax) {
			tp.sndMax = e
		}
		return false
	}
	if n > 0 || fin {
		startSeq := tp.sndNxt
		if n > 0 && tp.sackOK() {
			tp.smSent(startSeq, startSeq+seqnum(n), tp.clock())
		}
		tp.sndNxt += seqnum(n)
		if fin {
			tp.sndNxt++
			tp.flags |= tfSentFin
		}
		if tp.sndNxt.gt(tp.sndMax) {
			tp.sndMax = tp.sndNxt
			if tp.rtttime.IsZero() {
				tp.rtttime = tp.clock()
				tp.rtseq = startSeq
				st.SegsTimed.Add(1)
			}
		}
		if !tp.timerActive(ttRexmt) && !tp.timerActive(ttPersist) && tp.sndNxt != tp.sndUna {
			tp.timerSet(ttRexmt, tp.rxtcur)
		}
	}
	return sendalot
}

// sendSeg emits one segment at seq carrying data (n bytes) with the
// window rw offers, the urgent pointer, timestamps and SACK blocks, and
// notes that an ACK went out.
func (tp *tcpcb) sendSeg(seq seqnum, flags uint8, data *mbuf.Mbuf, n int, rw int, opts []byte) {
	win := rw >> tp.rcvScale
	if win == 0 {
		tp.nZeroWin++
	}
	urp := 0
	if tp.sndUp.gt(seq) {
		flags |= header.TCPFlagUrg
		urp = min(int(tp.sndUp-seq), tcpMaxWin)
	} else {
		tp.sndUp = tp.sndUna // drag it along
	}
	m := tp.emit(seq, tp.rcvNxt, flags, uint16(min(win, tcpMaxWin)), opts, data, n)
	if m != nil && urp > 0 {
		header.TCP(m.Data()).SetUrgent(uint16(urp))
	}
	if m != nil && n > tp.segSize() {
		m.Csum.TSO = uint16(tp.segSize())
	}
	if rw > 0 && (tp.rcvNxt + seqnum(rw)).gt(tp.rcvAdv) {
		tp.rcvAdv = tp.rcvNxt + seqnum(rw)
	}
	tp.lastAckSent = tp.rcvNxt
	if n > 0 && !tp.rcvDataTime.IsZero() && tp.clock().Sub(tp.rcvDataTime) < tp.s.tcp.tun.DelAck {
		// Data answers data that came within the ACK delay: a request
		// and response exchange, whose readers leave ACKs to the
		// answers (Linux's ping-pong mode).
		tp.flags |= tfPingPong
	}
	tp.flags &^= tfAckNow | tfDelAck
	tp.timerStop(ttDelack)
}

// segOptions builds the options of a segment about to go into b:
// timestamps, and the SACK blocks (after a D-SACK) that the receive side
// has to report, which it takes as reported.
func (tp *tcpcb) segOptions(b *[40]byte) []byte {
	opts := b[:0]
	if tp.useTS() {
		opts = tp.tsOption(b[:12])
	}
	if tp.sackOK() && (tp.reass != nil || tp.flags&tfDsack != 0) {
		opts = tp.sackOption(opts)
	}
	return opts
}

// sendRange resends the first segment's worth of [start, end), which lies
// between snd_una and snd_max, for SACK recovery and the tail loss probe.
func (tp *tcpcb) sendRange(start, end seqnum) {
	off := int(start - tp.sndUna)
	avail := tp.sndAvail()
	if off < 0 || off >= avail {
		return
	}
	var optb [40]byte
	opts := tp.segOptions(&optb)
	n := min(int(end-start), tp.maxseg-len(opts), avail-off)
	st := &tp.s.Stats.TCP
	st.SndTotal.Add(1)
	st.SndRexmitPack.Add(1)
	st.SndRexmitByte.Add(uint64(n))
	st.SackRexmitByte.Add(uint64(n))
	tp.nRexmit++
	flags := uint8(tcpAck)
	if off+n == avail {
		flags |= tcpPsh
	}
	tp.sendSeg(start, flags, tp.sndCopy(off, n), n, tp.recwin(), opts)
	tp.smSent(start, start+seqnum(n), tp.clock())
	tp.rtttime = time.Time{} // Karn
	if !tp.timerActive(ttRexmt) {
		tp.timerSet(ttRexmt, tp.rxtcur)
	}
}

// sackRexmit is RFC 6675's NextSeg rule 1 in recovery: resend the lowest
// lost segment when pipe leaves room in cwnd (or when forced, on entering
// recovery). It reports whether it sent.
func (tp *tcpcb) sackRexmit() bool {
	sm := tp.sm
	start, end, ok := sm.nextLost()
	if !ok {
		return false
	}
	if tp.flags&tfForceRexmit == 0 && sm.pipe()+tp.segSize() > int(tp.cwnd) {
		return false
	}
	tp.flags &^= tfForceRexmit
	tp.sendRange(start, end)
	return true
}

func (tp *tcpcb) rcvHiwat() int {
	if tp.flags&tfDetached != 0 {
		return 0
	}
	return tp.so.Rcv.Hiwat()
}

// ourMSS is tcp_mssopt: the MSS our route's MTU allows.
func (tp *tcpcb) ourMSS(dst netip.Addr) int {
	return tp.s.mssFor(dst, tp.userMSS)
}

// mssUpdate is tcp_mss_update: the send MSS is the peer's, no more than
// the route to dst allows; a route whose interface takes TCP segmentation
// offload lets one segment carry up to its limit.
func (tp *tcpcb) mssUpdate(peer int, dst netip.Addr) {
	mss, tso := tp.s.routeMSS(dst, tp.userMSS)
	// No less than net.inet.tcp.minmss, however small the peer's offer:
	// a tiny MSS would make a sender's every byte cost a segment.
	tp.maxseg = max(min(peer, mss), tcpMinMSS)
	tp.tsoMax = 0
	if tso > tp.maxseg {
		tp.tsoMax = tso
	}
}

// tsoSize is the most data one offloaded segment carries: tsoMax less the
// options every segment has.
func (tp *tcpcb) tsoSize() int {
	if tp.useTS() {
		return tp.tsoMax - 12
	}
	return tp.tsoMax
}

// mssFor is the MSS the route to dst allows, no more than userMSS if set.
func (s *Stack) mssFor(dst netip.Addr, userMSS int) int {
	mss, _ := s.routeMSS(dst, userMSS)
	return mss
}

// routeMSS is the MSS the route to dst allows (no more than userMSS if
// set) and, when its interface takes TCP segmentation offload, the most
// data an offloaded segment without options carries (0 otherwise).
func (s *Stack) routeMSS(dst netip.Addr, userMSS int) (mss, tso int) {
	o := &ipOut{dst: dst}
	var ifa *Iface
	var err error
	hl := header.IPv4MinLen + header.TCPMinLen
	if dst.Is4() {
		ifa, _, err = s.routeOut(o)
	} else {
		ifa, _, err = s.routeOut6(o)
		hl = header.IPv6Len + header.TCPMinLen
	}
	if err != nil || ifa == nil {
		return s.tcp.tun.MSSDflt, 0
	}
	mtu := ifa.ifp.MTU()
	if p := s.pathMTU(dst.WithZone("")); p > 0 && p < mtu {
		mtu = p
	} else if t := ifa.ifp.TSOMax(); t > mtu {
		tso = t - hl
	}
	mss = mtu - hl
	if userMSS > 0 {
		mss = min(mss, userMSS)
	}
	return max(mss, 64), tso
}

// sendSyn sends our SYN (SYN_SENT) or SYN-ACK (SYN_RECEIVED) with the MSS
// and window scale options.
func (tp *tcpcb) sendSyn() {
	_, _, fa, _ := tp.inp.addrs()
	var opts [24]byte
	mss := tp.ourMSS(fa)
	opts[0], opts[1], opts[2], opts[3] = header.TCPOptMSS, 4, byte(mss>>8), byte(mss)
	ol := 4
	flags := uint8(tcpSyn)
	ack := seqnum(0)
	if tp.state == tcpsSynReceived {
		flags |= tcpAck
		ack = tp.rcvNxt
	}
	if tp.flags&tfReqScale != 0 && (tp.state == tcpsSynSent || tp.flags&tfRcvdScale != 0) {
		opts[4], opts[5], opts[6], opts[7] = header.TCPOptNOP, header.TCPOptWindowScale, 3, tp.rcvScale
		ol = 8
	}
	if tp.flags&tfReqTstmp != 0 && (tp.state == tcpsSynSent || tp.flags&tfRcvdTstmp != 0) {
		ol += len(tp.tsOption(opts[ol:]))
	}
	if tp.state == tcpsSynSent && tp.flags&tfReqSack != 0 || tp.state == tcpsSynReceived && tp.sackOK() {
		opts[ol], opts[ol+1], opts[ol+2], opts[ol+3] = header.TCPOptNOP, header.TCPOptNOP, header.TCPOptSACKPermitted, 2
		ol += 4
	}
	rw := tp.recwin()
	st := &tp.s.Stats.TCP
	st.SndTotal.Add(1)
	st.SndCtrl.Add(1)
	tp.emit(tp.iss, ack, flags, uint16(min(rw, tcpMaxWin)), opts[:ol], nil, 0)
	if tp.state == tcpsSynReceived {
		tp.rcvAdv = tp.rcvNxt + seqnum(min(rw, tcpMaxWin))
		tp.lastAckSent = tp.rcvNxt
	}
	tp.flags &^= tfAckNow | tfDelAck
	tp.sndNxt = tp.iss + 1
	if tp.sndMax.lt(tp.sndNxt) {
		tp.sndMax = tp.sndNxt
		tp.rtttime = tp.clock()
		tp.rtseq = tp.iss
	}
	if !tp.timerActive(ttRexmt) {
		tp.timerSet(ttRexmt, tp.rtoBackoff())
	}
}

// emit builds a segment of the connection into tp.out and returns it (nil
// when the connection has no addresses any more).
func (tp *tcpcb) emit(seq, ack seqnum, flags uint8, win uint16, opts []byte, data *mbuf.Mbuf, n int) *mbuf.Mbuf {
	la, lp, fa, fp := tp.inp.addrs()
	if !la.IsValid() || !fa.IsValid() {
		mbuf.FreeChain(data)
		return nil
	}
	if flags&tcpAck == 0 {
		ack = 0
	}
	m := tp.s.tcpBuild(la, lp, fa, fp, seq, ack, flags, win, opts, data, n)
	ttl, tos := tp.inp.ttlTos()
	// Path MTU discovery: DF on every IPv4 segment, unless the MSS is
	// already so small that fragments are the safer fallback (tcp_output,
	// net.inet.tcp.minmss).
	df := fa.Is4() && tp.maxseg > tcpMinMSS
	tp.out = append(tp.out, tcpSeg{m: m, o: ipOut{src: la, dst: fa, proto: header.ProtoTCP, ttl: ttl, tos: tos, df: df}})
	return m
}

// respond is tcp_respond for a connection: a bare segment with the
// connection's addresses (keepalive probes, RSTs, challenge ACKs).
func (tp *tcpcb) respond(seq, ack seqnum, flags uint8) {
	if flags&tcpRst != 0 {
		tp.s.Stats.TCP.SndRst.Add(1)
	}
	tp.s.Stats.TCP.SndTotal.Add(1)
	win := 0
	if flags&tcpRst == 0 {
		win = min(tp.recwin()>>tp.rcvScale, tcpMaxWin)
	}
	tp.emit(seq, ack, flags, uint16(win), nil, nil, 0)
}

// tcpBuild makes a segment: a header (with options) in front of data,
// its checksum left for the link.
func (s *Stack) tcpBuild(src netip.Addr, sport uint16, dst netip.Addr, dport uint16, seq, ack seqnum, flags uint8, win uint16, opts []byte, data *mbuf.Mbuf, n int) *mbuf.Mbuf {
	hl := header.TCPMinLen + (len(opts)+3)&^3
	m := s.pool.GetHdr(mbuf.MT_DATA, hl, tcpHdrRoom)
	b := m.Extend(hl)
	clear(b)
	th := header.TCP(b)
	th.SetSrcPort(sport)
	th.SetDstPort(dport)
	th.SetSeq(uint32(seq))
	th.SetAck(uint32(ack))
	th.SetDataOffset(hl)
	th.SetFlags(flags)
	th.SetWindow(win)
	copy(b[header.TCPMinLen:], opts)
	th.SetChecksum(header.PseudoHeaderChecksum(header.ProtoTCP, src.WithZone(""), dst.WithZone(""), uint16(hl+n)))
	if data != nil {
		data.Flags &^= mbuf.M_PKTHDR
		data.Csum = mbuf.Csum{}
	}
	m.Next = data
	m.PktLen = hl + n
	m.Csum = mbuf.Csum{Delayed: true, Start: 0, Off: 16}
	return m
}

// useTS reports whether both ends agreed on timestamps.
func (tp *tcpcb) useTS() bool {
	return tp.flags&(tfReqTstmp|tfRcvdTstmp) == tfReqTstmp|tfRcvdTstmp
}

// segSize is the most data a segment carries: the MSS less the options
// every segment has.
func (tp *tcpcb) segSize() int {
	if tp.useTS() {
		return max(tp.maxseg-12, 32)
	}
	return tp.maxseg
}

// tsNow is our timestamp clock: milliseconds, offset per connection.
func (tp *tcpcb) tsNow() uint32 {
	return uint32(tp.clock().UnixMilli()) + tp.tsOffset
}

// tsOption writes NOP, NOP, Timestamps (TSval, TSecr) into b[:12].
func (tp *tcpcb) tsOption(b []byte) []byte {
	b[0], b[1], b[2], b[3] = header.TCPOptNOP, header.TCPOptNOP, header.TCPOptTimestamp, 10
	binary.BigEndian.PutUint32(b[4:], tp.tsNow())
	binary.BigEndian.PutUint32(b[8:], tp.tsRecent)
	return b[:12]
}
