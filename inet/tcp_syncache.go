package inet

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"sync"
	"time"

	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/mbuf"
)

// The SYN cache and SYN cookies (tcp_syncache.c).
//
// A SYN to a listener makes no socket: it makes a small cache entry and
// gets a SYN-ACK, resent up to SyncacheRexmts times. Only the ACK that
// completes the handshake makes the socket (sonewconn) and its control
// block, so half-open connections cost a cache entry each and nothing
// else. When the cache is full, the SYN-ACK carries a cookie instead: its
// ISS encodes, under a keyed hash of the connection and a 16-second time
// slot, what the entry would have held (the MSS, the peer's window scale,
// SACK), and a returning ACK whose acknowledgment number decodes to a
// valid cookie makes the connection as a cache entry would.

// scKey names an embryonic connection.
type scKey struct {
	laddr, faddr netip.Addr
	lport, fport uint16
}

// scEntry is a syncache entry: what the SYN said and what we answered.
type scEntry struct {
	lp       *tcpcb // the listener
	irs, iss seqnum
	peerMSS  int    // 0: none offered
	wscale   int8   // the peer's window scale; -1: none
	sack, ts bool   // the peer offered SACK, timestamps
	tsRecent uint32 // the SYN's TSval
	win      uint16 // the SYN's window
	rexmits  int
	next     time.Time // next SYN-ACK retransmission
	sent     time.Time // when the first SYN-ACK went out, for an RTT sample
}

// syncache is a stack's cache of embryonic connections.
type syncache struct {
	mu    sync.Mutex
	m     map[scKey]*scEntry
	timer *time.Timer
	tfire time.Time
}

// synCookieMSS are the MSS values a cookie can carry (tcp_sc_msstab).
var synCookieMSS = [8]int{216, 536, 1200, 1360, 1400, 1440, 1452, 1460}

// scWindowScale is the window scale a listener's connections offer.
func (s *Stack) scWindowScale(lp *tcpcb) uint8 {
	m := max(lp.so.Rcv.Hiwat(), s.vnet.SbMax())
	var sc uint8
	for sc < 14 && 65535<<sc < m {
		sc++
	}
	return sc
}

// scTSOffset is a connection's timestamp offset: a keyed hash of its
// addresses and ports (RFC 7323 5.4), so that a cookie needs no state and
// a later incarnation of the four-tuple goes on from the same clock.
func (s *Stack) scTSOffset(k scKey) uint32 {
	return binary.BigEndian.Uint32(s.scHash(k, 0, 0x7473)[4:])
}

func (s *Stack) scHash(k scKey, irs seqnum, slot uint32) []byte {
	sum := s.keyedHash(k, uint32(irs), slot)
	return sum[:]
}

// keyedHash is SHA-256 over the stack's secret, a connection's addresses
// and ports, and two words: RFC 6528's ISN function, and the cookies' and
// timestamp offsets' too. It allocates nothing.
func (s *Stack) keyedHash(k scKey, a, b uint32) [32]byte {
	var in [len(s.tcp.secret) + 16 + 16 + 12]byte
	n := copy(in[:], s.tcp.secret[:])
	la, fa := k.laddr.As16(), k.faddr.As16()
	n += copy(in[n:], la[:])
	n += copy(in[n:], fa[:])
	binary.BigEndian.PutUint16(in[n:], k.lport)
	binary.BigEndian.PutUint16(in[n+2:], k.fport)
	binary.BigEndian.PutUint32(in[n+4:], a)
	binary.BigEndian.PutUint32(in[n+8:], b)
	return sha256.Sum256(in[:])
}

func cookieSlot(t time.Time) uint32 { return uint32(t.Unix() >> 4) }

// cookieISS encodes e's options into an ISS (the cookie).
func (s *Stack) cookieISS(k scKey, e *scEntry, slot uint32) seqnum {
	mi := 0
	for i, v := range synCookieMSS {
		if e.peerMSS == 0 && v == s.tcp.tun.MSSDflt || e.peerMSS >= v {
			mi = i
		}
	}
	ws := uint32(15)
	if e.wscale >= 0 {
		ws = uint32(e.wscale)
	}
	var sack uint32
	if e.sack {
		sack = 1
	}
	h := binary.BigEndian.Uint32(s.scHash(k, e.irs, slot))
	return seqnum(h&^0xff | uint32(mi)<<5 | ws<<1 | sack)
}

// cookieCheck decodes the cookie an ACK returns, filling e when valid.
func (s *Stack) cookieCheck(k scKey, in *tcpIn, e *scEntry) bool {
	iss := in.ack - 1
	irs := in.seq - 1
	now := cookieSlot(time.Now())
	for _, slot := range []uint32{now, now - 1} {
		h := binary.BigEndian.Uint32(s.scHash(k, irs, slot))
		if h&^0xff != uint32(iss)&^0xff {
			continue
		}
		v := uint32(iss)
		e.irs, e.iss = irs, iss
		e.peerMSS = synCookieMSS[v>>5&7]
		e.wscale = -1
		if ws := v >> 1 & 15; ws <= 14 {
			e.wscale = int8(ws)
		}
		e.sack = v&1 != 0
		e.ts = in.ts
		e.tsRecent = in.tsVal
		e.win = in.win
		return true
	}
	return false
}

// scAdd is syncache_add: a SYN arrived for the listener lp.
func (s *Stack) scAdd(lp *tcpcb, in *tcpIn) {
	st := &s.Stats.TCP
	t := &s.tcp.tun
	k := scKey{laddr: in.dst, faddr: in.src, lport: in.dport, fport: in.sport}
	e := &scEntry{lp: lp, irs: in.seq, peerMSS: in.mss, wscale: -1, sack: in.sackOK && t.SACK,
		ts: in.ts && t.Timestamps, tsRecent: in.tsVal, win: in.win}
	if in.wscale >= 0 && t.WindowScaling {
		e.wscale = int8(in.wscale)
	}
	sc := &s.tcp.sc
	sc.mu.Lock()
	if old := sc.m[k]; old != nil {
		// A SYN for an entry: the same SYN-ACK again, whatever its
		// sequence number (syncache_add with an entry found).
		st.SyncacheDupSyn.Add(1)
		if old.ts && in.ts {
			old.tsRecent = in.tsVal
		} else {
			old.ts = false
		}
		cp := *old
		sc.mu.Unlock()
		s.scSynAck(k, &cp)
		return
	}
	if sc.m == nil {
		sc.m = make(map[scKey]*scEntry)
	}
	if _, dup := sc.m[k]; !dup && len(sc.m) >= t.SyncacheLimit {
		sc.mu.Unlock()
		if !t.SynCookies {
			st.SyncacheOverflow.Add(1)
			return
		}
		e.iss = s.cookieISS(k, e, cookieSlot(time.Now()))
		st.SyncookiesSent.Add(1)
		s.scSynAck(k, e)
		return
	}
	e.iss = s.tcpISN(k.laddr, k.lport, k.faddr, k.fport)
	e.sent = time.Now()
	e.next = e.sent.Add(t.RexmtInit)
	sc.m[k] = e
	st.SyncacheAdded.Add(1)
	s.scArmLocked(e.next)
	cp := *e
	sc.mu.Unlock()
	s.scSynAck(k, &cp)
}

// scArmLocked makes the cache's timer fire by at.
func (s *Stack) scArmLocked(at time.Time) {
	sc := &s.tcp.sc
	if !sc.tfire.IsZero() && !sc.tfire.After(at) {
		return
	}
	sc.tfire = at
	d := max(time.Until(at), 0)
	if sc.timer == nil {
		sc.timer = time.AfterFunc(d, s.scTimer)
	} else {
		sc.timer.Reset(d)
	}
}

// scTimer resends due SYN-ACKs and expires entries that used up their
// retransmissions (syncache_timer).
func (s *Stack) scTimer() {
	sc := &s.tcp.sc
	t := &s.tcp.tun
	st := &s.Stats.TCP
	type resend struct {
		k scKey
		e scEntry
	}
	var out []resend
	sc.mu.Lock()
	sc.tfire = time.Time{}
	now := time.Now()
	var next time.Time
	for k, e := range sc.m {
		if e.next.After(now) {
			if next.IsZero() || e.next.Before(next) {
				next = e.next
			}
			continue
		}
		if e.rexmits >= t.SyncacheRexmts {
			delete(sc.m, k)
			st.SyncacheTimeout.Add(1)
			continue
		}
		e.rexmits++
		e.next = now.Add(t.RexmtInit << e.rexmits)
		if next.IsZero() || e.next.Before(next) {
			next = e.next
		}
		out = append(out, resend{k, *e})
	}
	if !next.IsZero() {
		s.scArmLocked(next)
	}
	sc.mu.Unlock()
	for i := range out {
		st.SyncacheRexmit.Add(1)
		s.scSynAck(out[i].k, &out[i].e)
	}
}

// scSynAck sends the SYN-ACK for e (syncache_respond).
func (s *Stack) scSynAck(k scKey, e *scEntry) {
	lp := e.lp
	mss := s.mssFor(k.faddr, 0)
	var opts [24]byte
	opts[0], opts[1], opts[2], opts[3] = header.TCPOptMSS, 4, byte(mss>>8), byte(mss)
	ol := 4
	if e.wscale >= 0 {
		opts[4], opts[5], opts[6], opts[7] = header.TCPOptNOP, header.TCPOptWindowScale, 3, s.scWindowScale(lp)
		ol = 8
	}
	if e.ts {
		b := opts[ol : ol+12]
		b[0], b[1], b[2], b[3] = header.TCPOptNOP, header.TCPOptNOP, header.TCPOptTimestamp, 10
		binary.BigEndian.PutUint32(b[4:], uint32(time.Now().UnixMilli())+s.scTSOffset(k))
		binary.BigEndian.PutUint32(b[8:], e.tsRecent)
		ol += 12
	}
	if e.sack {
		opts[ol], opts[ol+1], opts[ol+2], opts[ol+3] = header.TCPOptNOP, header.TCPOptNOP, header.TCPOptSACKPermitted, 2
		ol += 4
	}
	s.Stats.TCP.SndCtrl.Add(1)
	s.scSend(k, e, e.iss, tcpSyn|tcpAck, opts[:ol])
}

// scSend sends a segment for an entry: from seq, acknowledging the SYN.
func (s *Stack) scSend(k scKey, e *scEntry, seq seqnum, flags uint8, opts []byte) {
	lp := e.lp
	win := min(lp.so.Rcv.Hiwat(), tcpMaxWin)
	s.Stats.TCP.SndTotal.Add(1)
	m := s.tcpBuild(k.laddr, k.lport, k.faddr, k.fport, seq, e.irs+1, flags, uint16(win), opts, nil, 0)
	lp.inp.mu.Lock()
	po := lp.inp.opts
	lp.inp.mu.Unlock()
	o := &ipOut{src: k.laddr, dst: k.faddr, proto: header.ProtoTCP, ttl: po.ttl, tos: po.tos}
	if k.faddr.Is4() {
		s.ip4Output(m, o)
	} else {
		s.ip6Output(m, o)
	}
}

// scInput handles an ACK or RST for a listener: it completes a cached or
// cookie handshake (syncache_expand), or removes an entry a RST names.
// It consumes in.m.
func (s *Stack) scInput(lp *tcpcb, in *tcpIn) {
	st := &s.Stats.TCP
	k := scKey{laddr: in.dst, faddr: in.src, lport: in.dport, fport: in.sport}
	sc := &s.tcp.sc
	sc.mu.Lock()
	e := sc.m[k]
	if in.flags&tcpRst != 0 {
		// syncache_chkrst: an exact RST removes the entry; one elsewhere
		// in the window earns a challenge ACK (RFC 5961 3).
		var challenge *scEntry
		if e != nil && in.seq.geq(e.irs) && in.seq.leq(e.irs+seqnum(min(lp.so.Rcv.Hiwat(), tcpMaxWin))) {
			if in.seq == e.irs+1 {
				delete(sc.m, k)
				st.SyncacheReset.Add(1)
			} else {
				st.RcvBadRst.Add(1)
				cp := *e
				challenge = &cp
			}
		}
		sc.mu.Unlock()
		mbuf.FreeChain(in.m)
		if challenge != nil {
			st.ChallengeAck.Add(1)
			s.scSend(k, challenge, challenge.iss+1, tcpAck, nil)
		}
		return
	}
	var ce scEntry
	switch {
	case e != nil && in.ack == e.iss+1 && in.seq == e.irs+1:
		delete(sc.m, k)
		ce = *e
		sc.mu.Unlock()
		st.SyncacheCompleted.Add(1)
	case e == nil && s.tcp.tun.SynCookies && s.cookieCheck(k, in, &ce):
		sc.mu.Unlock()
		ce.lp = lp
		st.SyncookiesRecvd.Add(1)
	default:
		sc.mu.Unlock()
		if e == nil && s.tcp.tun.SynCookies {
			st.SyncookiesFailed.Add(1)
		}
		s.tcpDropWithReset(in)
		return
	}
	s.scExpand(lp, k, &ce, in)
}

// scExpand makes the connection's socket and control block in
// SYN_RECEIVED from the entry, then lets the ACK finish the handshake.
func (s *Stack) scExpand(lp *tcpcb, k scKey, e *scEntry, in *tcpIn) {
	st := &s.Stats.TCP
	if !lp.inp.family(in.dst) {
		mbuf.FreeChain(in.m)
		return
	}
	child := lp.so.Newconn(0)
	if child == nil {
		st.ListenDrop.Add(1)
		if s.tcp.tun.SyncacheRstOnSockFail {
			s.tcpDropWithReset(in)
		} else {
			mbuf.FreeChain(in.m)
		}
		return
	}
	tp := tcpcbOf(child)
	lp.lock()
	inherit := lp.flags & (tfNoDelay | tfNoPush | tfRack)
	ki, kd, kn, kc, um := lp.keepIdle, lp.keepIntvl, lp.keepInit, lp.keepCnt, lp.userMSS
	var cc ccAlgo
	if lp.cc != nil {
		cc = newCC(lp.cc.name())
	}
	lp.mu.Unlock()
	lp.inp.mu.Lock()
	lopts := lp.inp.opts
	lp.inp.mu.Unlock()
	tp.inp.mu.Lock()
	tp.inp.opts.ttl, tp.inp.opts.tos, tp.inp.opts.v6only = lopts.ttl, lopts.tos, lopts.v6only
	tp.inp.mu.Unlock()
	tp.lock()
	tp.flags = tp.flags&^tfRack | inherit
	tp.keepIdle, tp.keepIntvl, tp.keepInit, tp.keepCnt, tp.userMSS = ki, kd, kn, kc, um
	tp.cc = cc
	if !s.tcp.pcbs.hashConnected(tp.inp, k.laddr, k.lport, k.faddr, k.fport) {
		tp.close()
		tp.mu.Unlock()
		child.Abort()
		mbuf.FreeChain(in.m)
		return
	}
	tp.state = tcpsSynReceived
	tp.irs, tp.iss = e.irs, e.iss
	tp.rcvNxt = e.irs + 1
	tp.rcvAdv = tp.rcvNxt + seqnum(min(lp.so.Rcv.Hiwat(), tcpMaxWin))
	tp.lastAckSent = tp.rcvNxt
	tp.rcvUp = tp.rcvNxt
	tp.sndUna, tp.recover, tp.sndUp = e.iss, e.iss, e.iss
	tp.sndNxt, tp.sndMax = e.iss+1, e.iss+1
	tp.sndWnd = uint32(e.win)
	tp.maxSndWnd = tp.sndWnd
	tp.sndWl1 = e.irs
	tp.mssUpdate(cmp0(e.peerMSS, s.defaultPeerMSS(k.faddr)), k.faddr)
	if e.wscale >= 0 {
		tp.flags |= tfRcvdScale | tfReqScale
		tp.sndScale = uint8(e.wscale)
		tp.rcvScale = s.scWindowScale(lp)
	}
	if e.ts {
		tp.flags |= tfRcvdTstmp | tfReqTstmp
		tp.tsRecent, tp.tsRecentAge = e.tsRecent, tp.clock()
		tp.tsOffset = s.scTSOffset(k)
	}
	if e.sack {
		tp.flags |= tfReqSack | tfSackPermit
	}
	if e.rexmits == 0 && !e.sent.IsZero() {
		tp.rtttime, tp.rtseq = e.sent, e.iss // Karn: only an unrepeated SYN-ACK
	}
	tp.rcvtime = tp.clock()
	reset := tp.doSegment(in)
	embryonic := tp.state < tcpsEstablished
	tp.unlockAndSend()
	if reset {
		s.tcpDropWithReset(in)
	} else {
		mbuf.FreeChain(in.m)
	}
	if embryonic && reset {
		child.Abort()
	}
}

// cmp0 is a unless it is zero, else b.
func cmp0(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// defaultPeerMSS is the MSS assumed when a SYN offers none.
func (s *Stack) defaultPeerMSS(a netip.Addr) int {
	if a.Is6() && !a.Is4In6() {
		return ipv6MinMTU - header.IPv6Len - header.TCPMinLen
	}
	return s.tcp.tun.MSSDflt
}

// SyncacheLen reports how many embryonic connections the SYN cache holds.
func (s *Stack) SyncacheLen() int {
	s.tcp.sc.mu.Lock()
	defer s.tcp.sc.mu.Unlock()
	return len(s.tcp.sc.m)
}
