package inet

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

// IPPROTO_TCP options, with FreeBSD's values (netinet/tcp.h).
const (
	TCP_NODELAY    = 1
	TCP_MAXSEG     = 2
	TCP_NOPUSH     = 4
	TCP_INFO       = 32
	TCP_CONGESTION = 64
	TCP_KEEPINIT   = 128
	TCP_KEEPIDLE   = 256
	TCP_KEEPINTVL  = 512
	TCP_KEEPCNT    = 1024
	// TCP_FUNCTION_BLK selects the TCP stack of a connection (struct
	// tcp_function_set: a 32-byte name, then a uint32): "freebsd" for
	// duplicate-ACK and SACK loss detection, "rack" for RACK-TLP on top.
	TCP_FUNCTION_BLK = 8192
	// TCPFunctionSetLen is sizeof(struct tcp_function_set).
	TCPFunctionSetLen = 36
)

// TCP states (tcp_fsm.h), in FreeBSD's order so that comparisons work.
const (
	tcpsClosed = iota
	tcpsListen
	tcpsSynSent
	tcpsSynReceived
	tcpsEstablished
	tcpsCloseWait
	tcpsFinWait1
	tcpsClosing
	tcpsLastAck
	tcpsFinWait2
	tcpsTimeWait
)

var tcpStateNames = [...]string{"CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED",
	"CLOSE_WAIT", "FIN_WAIT_1", "CLOSING", "LAST_ACK", "FIN_WAIT_2", "TIME_WAIT"}

func haveRcvdFin(st int) bool {
	return st == tcpsTimeWait || st == tcpsCloseWait || st == tcpsClosing || st == tcpsLastAck
}

// TCPTunables are the net.inet.tcp sysctl knobs. Set them before the
// connections they should affect exist.
type TCPTunables struct {
	Sendspace, Recvspace  int           // net.inet.tcp.sendspace / recvspace
	MSSDflt               int           // net.inet.tcp.mssdflt: MSS when the peer sends none (IPv4)
	MSL                   time.Duration // net.inet.tcp.msl: TIME_WAIT lasts twice this
	RexmtMin              time.Duration // net.inet.tcp.rexmit_min
	RexmtInit             time.Duration // initial RTO (RFC 6298: 1 s)
	RexmtMax              time.Duration // largest RTO
	RexmtShiftMax         int           // retransmissions before the connection is dropped
	DelAck                time.Duration // net.inet.tcp.delacktime
	KeepInit              time.Duration // net.inet.tcp.keepinit
	KeepIdle              time.Duration // net.inet.tcp.keepidle
	KeepIntvl             time.Duration // net.inet.tcp.keepintvl
	KeepCnt               int           // net.inet.tcp.keepcnt
	FinWait2Timeout       time.Duration // net.inet.tcp.fin_wait_2_timeout
	InitCwndSegs          int           // net.inet.tcp.initcwnd_segments
	ReassMaxQueue         int           // net.inet.tcp.reass.maxqueuelen (segments per connection)
	WindowScaling         bool          // net.inet.tcp.rfc1323 (window scaling part)
	Timestamps            bool          // net.inet.tcp.rfc1323 (timestamps part)
	SACK                  bool          // net.inet.tcp.sack.enable
	RACK                  bool          // RACK-TLP loss detection by default (net.inet.tcp.functions_default=rack)
	AutoRcvBuf            bool          // net.inet.tcp.recvbuf_auto
	AutoSndBuf            bool          // net.inet.tcp.sendbuf_auto
	RecvBufMax            int           // net.inet.tcp.recvbuf_max
	SendBufMax            int           // net.inet.tcp.sendbuf_max
	SendBufInc            int           // net.inet.tcp.sendbuf_inc
	SyncacheLimit         int           // net.inet.tcp.syncache.cachelimit: embryonic connections held
	SyncacheRexmts        int           // SYN-ACK retransmissions before an entry expires (TCP_SYNCACHE_MAXREXMTS)
	SynCookies            bool          // net.inet.tcp.syncookies: answer with cookies when the cache is full
	SyncacheRstOnSockFail bool          // net.inet.tcp.syncache.rst_on_sock_fail
	CongestionControl     string        // net.inet.tcp.cc.algorithm: "cubic" or "newreno"
}

// DefaultTCPTunables are FreeBSD's defaults.
func DefaultTCPTunables() TCPTunables {
	return TCPTunables{
		Sendspace: 32768, Recvspace: 65536, MSSDflt: 536,
		MSL: 30 * time.Second, RexmtMin: 200 * time.Millisecond, RexmtInit: time.Second,
		RexmtMax: 64 * time.Second, RexmtShiftMax: 12, DelAck: 40 * time.Millisecond,
		KeepInit: 75 * time.Second, KeepIdle: 2 * time.Hour, KeepIntvl: 75 * time.Second, KeepCnt: 8,
		FinWait2Timeout: 60 * time.Second, InitCwndSegs: 10, ReassMaxQueue: 1024,
		WindowScaling: true, Timestamps: true, SACK: true, RACK: true, CongestionControl: "cubic",
		AutoRcvBuf: true, AutoSndBuf: true, RecvBufMax: 2 << 20, SendBufMax: 2 << 20, SendBufInc: 8192,
		SyncacheLimit: 15360, SyncacheRexmts: 3, SynCookies: true, SyncacheRstOnSockFail: true,
	}
}

// TCPStats are struct tcpstat's counters, as netstat -s -p tcp prints them.
type TCPStats struct {
	ConnAttempt     atomic.Uint64 // connections initiated
	Accepts         atomic.Uint64 // connections accepted
	Connects        atomic.Uint64 // connections established
	Drops           atomic.Uint64 // connections dropped
	ConnDrops       atomic.Uint64 // embryonic connections dropped
	Closed          atomic.Uint64 // connections closed (including drops)
	ListenDrop      atomic.Uint64 // SYNs to a listener with a full queue
	SndTotal        atomic.Uint64 // packets sent
	SndPack         atomic.Uint64 // data packets sent
	SndByte         atomic.Uint64 // data bytes sent
	SndRexmitPack   atomic.Uint64 // data packets retransmitted
	SndRexmitByte   atomic.Uint64 // data bytes retransmitted
	SndAcks         atomic.Uint64 // ack-only packets sent
	SndProbe        atomic.Uint64 // window probes sent
	SndWinUp        atomic.Uint64 // window update-only packets sent
	SndCtrl         atomic.Uint64 // control (SYN|FIN|RST) packets sent
	SndRst          atomic.Uint64 // resets sent
	RcvTotal        atomic.Uint64 // packets received
	RcvPack         atomic.Uint64 // packets received in sequence
	RcvByte         atomic.Uint64 // bytes received in sequence
	RcvBadSum       atomic.Uint64 // discarded for bad checksums
	RcvBadOff       atomic.Uint64 // discarded for bad header offset fields
	RcvShort        atomic.Uint64 // discarded because packet too short
	RcvDupPack      atomic.Uint64 // completely duplicate packets
	RcvDupByte      atomic.Uint64
	RcvPartDupPack  atomic.Uint64 // packets with some duplicate data
	RcvOOPack       atomic.Uint64 // out-of-order packets received
	RcvOOByte       atomic.Uint64
	RcvPackAfterWin atomic.Uint64 // packets with data after the window
	RcvWinProbe     atomic.Uint64 // window probes received
	RcvDupAck       atomic.Uint64 // duplicate acks
	RcvAckTooMuch   atomic.Uint64 // acks for unsent data
	RcvAckPack      atomic.Uint64 // ack packets received
	RcvAckByte      atomic.Uint64 // bytes acked by received acks
	RcvWinUpd       atomic.Uint64 // window update packets
	RcvAfterClose   atomic.Uint64 // packets received after close
	RcvReassFull    atomic.Uint64 // segments dropped for a full reassembly queue
	NoPort          atomic.Uint64 // segments for no connection (RST sent)
	RexmtTimeo      atomic.Uint64 // retransmit timeouts
	PersistTimeo    atomic.Uint64 // persist timeouts
	KeepTimeo       atomic.Uint64 // keepalive timeouts
	KeepProbe       atomic.Uint64 // keepalive probes sent
	KeepDrops       atomic.Uint64 // connections dropped by keepalive
	TimeoutDrop     atomic.Uint64 // connections dropped by retransmit timeout
	DelAck          atomic.Uint64 // delayed acks sent
	RttUpdated      atomic.Uint64 // times RTT estimators updated
	SegsTimed       atomic.Uint64 // segments timed for RTT
	FastRexmit      atomic.Uint64 // fast retransmits
	FastRecovery    atomic.Uint64 // NewReno recoveries entered
	PartialAck      atomic.Uint64 // NewReno partial acks
	ChallengeAck    atomic.Uint64 // RFC 5961 challenge acks sent
	RcvBadRst       atomic.Uint64 // RSTs outside the window, ignored
	PMTUUpdate      atomic.Uint64 // MSS lowered by ICMP need-frag / packet too big
	PAWSDrop        atomic.Uint64 // segments dropped by PAWS
	TWRecycled      atomic.Uint64 // TIME_WAIT blocks ended by a new SYN
	TWCompact       atomic.Uint64 // TIME_WAIT blocks made compact
	SackRecovery    atomic.Uint64 // SACK recovery episodes
	SackRexmitByte  atomic.Uint64 // bytes resent by SACK recovery and probes
	RcvDSack        atomic.Uint64 // SACK blocks below the cumulative ACK (DSACK)
	RackLoss        atomic.Uint64 // segments RACK deemed lost
	TLPProbe        atomic.Uint64 // tail loss probes sent
	TLPRecovery     atomic.Uint64 // losses repaired by a tail loss probe

	SyncacheAdded     atomic.Uint64 // embryonic entries added
	SyncacheCompleted atomic.Uint64 // completed handshakes
	SyncacheTimeout   atomic.Uint64 // entries expired after their retransmissions
	SyncacheRexmit    atomic.Uint64 // SYN-ACKs resent
	SyncacheDupSyn    atomic.Uint64 // duplicate SYNs
	SyncacheOverflow  atomic.Uint64 // SYNs dropped: cache full, cookies off
	SyncacheReset     atomic.Uint64 // entries removed by RST
	SyncookiesSent    atomic.Uint64 // cookies sent
	SyncookiesRecvd   atomic.Uint64 // cookies received and valid
	SyncookiesFailed  atomic.Uint64 // ACKs with no entry and no valid cookie
}

// tcpStack is the stack's TCP part (tcbinfo and the sysctls).
type tcpStack struct {
	pcbs      pcbTable
	tun       TCPTunables
	secret    [32]byte // RFC 6528's secret key
	isnOffset atomic.Uint32
	sc        syncache
	timers    tcpTimerQ
	twmu      sync.Mutex
	tw        twQueue
	conns     atomic.Int64

	// The input queue: segments wait here while another goroutine drains
	// it, so that segment ping-pong between stacks never nests.
	qmu      sync.Mutex
	q        []tcpPkt
	qhead    int
	draining bool
}

type tcpPkt struct {
	ifa *Iface
	m   *mbuf.Mbuf
	off int
	v6  bool
}

func (s *Stack) tcpInit() {
	s.tcp.pcbs.init(s, "tcp")
	s.tcp.tun = DefaultTCPTunables()
	for i := 0; i < len(s.tcp.secret); i += 8 {
		binary.BigEndian.PutUint64(s.tcp.secret[i:], s.rand64())
	}
}

// TCPTunables returns the stack's TCP knobs, for the caller to change
// before making connections.
func (s *Stack) TCPTunables() *TCPTunables { return &s.tcp.tun }

// TCPConnections returns how many TCP control blocks exist, TIME_WAIT and
// connections closing after their socket was closed included.
func (s *Stack) TCPConnections() int { return int(s.tcp.conns.Load()) }

// tcpISN is RFC 6528's ISN: a clock ticking every 4 µs plus a keyed hash
// of the connection's addresses and ports.
func (s *Stack) tcpISN(la netip.Addr, lp uint16, fa netip.Addr, fp uint16) seqnum {
	sum := s.keyedHash(scKey{laddr: la, faddr: fa, lport: lp, fport: fp}, 0, 0)
	m := uint32(time.Now().UnixNano() / 4000)
	// FreeBSD's isn_offset: every new ISN moves on by 4 KiB to 8 KiB, so
	// that two incarnations of a four-tuple within one 4 µs tick still
	// get ISNs in order (and the second passes the first's TIME_WAIT).
	off := s.tcp.isnOffset.Add(4096 + uint32(s.randN(4096)))
	return seqnum(m + off + binary.BigEndian.Uint32(sum[:]))
}

// tcpInput is the input dispatch: the segment joins the stack's queue;
// unless another goroutine is draining it, this one drains it, holding no
// lock while each segment is processed.
func (s *Stack) tcpInput(ifa *Iface, m *mbuf.Mbuf, off int, v6 bool) {
	t := &s.tcp
	t.qmu.Lock()
	t.q = append(t.q, tcpPkt{ifa, m, off, v6})
	if t.draining {
		t.qmu.Unlock()
		return
	}
	t.draining = true
	for t.qhead < len(t.q) {
		p := t.q[t.qhead]
		t.q[t.qhead] = tcpPkt{}
		t.qhead++
		t.qmu.Unlock()
		s.tcpInputOne(p.ifa, p.m, p.off, p.v6)
		t.qmu.Lock()
	}
	t.q = t.q[:0]
	t.qhead = 0
	t.draining = false
	t.qmu.Unlock()
}

// seqnum is a TCP sequence number with modular comparisons.
type seqnum uint32

func (a seqnum) lt(b seqnum) bool  { return int32(a-b) < 0 }
func (a seqnum) leq(b seqnum) bool { return int32(a-b) <= 0 }
func (a seqnum) gt(b seqnum) bool  { return int32(a-b) > 0 }
func (a seqnum) geq(b seqnum) bool { return int32(a-b) >= 0 }

// sub is a-b, negative when b is past a.
func (a seqnum) sub(b seqnum) int { return int(int32(a - b)) }

// Timers (tcp_timer.h).
const (
	ttRexmt = iota
	ttPersist
	ttKeep
	ttDelack
	tt2MSL
	ttReorder // RACK's reordering window
	ttTLP     // the tail loss probe
	ttN
)

// tcpcb flags.
const (
	tfAckNow      = 1 << iota // send an ACK now
	tfDelAck                  // an ACK is being delayed
	tfNoDelay                 // TCP_NODELAY
	tfNoPush                  // TCP_NOPUSH
	tfSentFin                 // a FIN was sent
	tfRcvdScale               // the peer sent window scale
	tfReqScale                // we asked for window scale
	tfMoreToCome              // the sender has more data coming (PRUS_MORETOCOME)
	tfInRecovery              // NewReno fast recovery
	tfForce                   // a forced window probe
	tfDetached                // the socket is gone
	tfFreed                   // the block is gone
	tfNoMaxSeg                // TCP_MAXSEG set by the user
	tfNeedFin                 // send a FIN once established
	tfReqTstmp                // we offer timestamps (RFC 7323)
	tfRcvdTstmp               // the peer offered timestamps
	tfReqSack                 // we offer SACK (RFC 2018)
	tfSackPermit              // both ends agreed on SACK
	tfRack                    // RACK-TLP loss detection (TCP_FUNCTION_BLK "rack")
	tfForceRexmit             // resend the first lost segment regardless of pipe
	tfDsack                   // report dsack as a D-SACK block (RFC 2883) in the next ACK
	tfPingPong                // interactive: data answers data, ACKs ride on it
)

// tcpcb is a TCP control block (struct tcpcb). Everything is guarded by mu;
// output segments are collected in out and sent after mu is released.
type tcpcb struct {
	mu    sync.Mutex
	s     *Stack
	inp   *inpcb
	so    *socket.Socket
	state int
	flags uint32

	iss, irs                      seqnum
	sndUna, sndNxt, sndMax        seqnum
	sndWl1, sndWl2                seqnum
	sndWnd, maxSndWnd             uint32
	rcvNxt, rcvAdv, lastAckSent   seqnum
	sndScale, rcvScale            uint8
	maxseg                        int // the send MSS
	tsoMax                        int // the most data in one segment the route's interface cuts up itself (TSO); 0: none
	userMSS                       int
	cwnd, ssthresh                uint32
	recover                       seqnum
	dupacks                       int
	srtt, rttvar, rxtcur          time.Duration
	rtttime                       time.Time // when the timed segment was sent; zero when none
	rtseq                         seqnum
	rxtshift                      int
	rcvtime                       time.Time // last segment received (keepalive idle)
	rcvDataTime                   time.Time // last in-order data received (ping-pong detection)
	keepProbes                    int
	softErr                       syscall.Errno
	keepIdle, keepIntvl, keepInit time.Duration
	keepCnt                       int
	ackWarStart                   time.Time // challenge ACK rate limit
	tsRecent                      uint32    // RFC 7323 TS.Recent
	tsRecentAge                   time.Time
	tsOffset                      uint32 // added to our clock, per connection
	sndUp, rcvUp                  seqnum // urgent pointers (BSD: one past the urgent byte)
	iobc                          byte   // the out-of-band byte (t_iobc)
	oobflags                      uint8  // tcpoobHaveData, tcpoobHadData
	ackWarCnt                     int
	cc                            ccAlgo    // congestion control module (set when established)
	rcvLastOO                     seqnum    // the latest out-of-order segment, for SACK blocks
	dsack                         [2]seqnum // a duplicate received, for a D-SACK block
	rfbufTs                       time.Time // receive autosizing: start of the measured round trip
	rfbufCnt                      int       // bytes received in it
	twExpire                      time.Time // TIME_WAIT ends (a restart moves it)
	now                           time.Time // the clock read in this locked section (clock)
	flushing                      bool      // a goroutine is sending tp.out (unlockAndSend)
	twRef                         *twRef    // the TIME_WAIT queue\'s reference
	nRexmit, nRcvOOO, nZeroWin    uint32    // TCP_INFO\'s per-connection counters

	orphan *mbuf.Mbuf // unsent data of a closed socket
	reass  *tcpReass  // out-of-order segments (lazy)
	sm     *sendmap   // SACK scoreboard and RACK's record (lazy)

	tdl   [ttN]time.Time // deadlines; zero when stopped
	tfire time.Time      // when the stack's timer queue has us due; zero when not queued
	tidx  int            // our place in the timer queue's heap + 1; 0 when not in it (tcpTimerQ.mu)
	out   []tcpSeg
	// outSpare is a second array for out, kept for streams of bursts.
	outSpare []tcpSeg
}

// tcpSeg is a segment built under the lock and sent after it.
type tcpSeg struct {
	m *mbuf.Mbuf
	o ipOut
}

func tcpcbOf(so *socket.Socket) *tcpcb {
	if so == nil {
		return nil
	}
	tp, _ := so.PCB.(*tcpcb)
	return tp
}

// tcpProto is TCP's protocol switch entry (tcp_usrreqs / tcp6_usrreqs).
type tcpProto struct {
	socket.ProtoDefaults
	s  *Stack
	v6 bool
}

func (s *Stack) tcpProtosw(v6 bool) *socket.Protosw {
	return &socket.Protosw{Type: socket.SOCK_STREAM, Protocol: IPPROTO_TCP,
		Flags:   socket.PR_CONNREQUIRED | socket.PR_IMPLOPCL | socket.PR_WANTRCVD,
		Usrreqs: &tcpProto{s: s, v6: v6}, Sosend: socket.SendGeneric, Soreceive: socket.ReceiveStream}
}

// Attach is tcp_usr_attach: buffers of the default sizes unless inherited
// from a listener, and a control block in CLOSED.
func (u *tcpProto) Attach(so *socket.Socket, proto int) error {
	if proto != 0 && proto != IPPROTO_TCP {
		return syscall.EPROTONOSUPPORT
	}
	s := u.s
	if so.Snd.Hiwat() == 0 || so.Rcv.Hiwat() == 0 {
		if err := so.Reserve(s.tcp.tun.Sendspace, s.tcp.tun.Recvspace); err != nil {
			return err
		}
		// Both buffers size themselves until the user sets a size.
		so.Snd.Lock()
		so.Snd.SetFlagsLocked(socket.SB_AUTOSIZE)
		so.Snd.Unlock()
		so.Rcv.Lock()
		so.Rcv.SetFlagsLocked(socket.SB_AUTOSIZE)
		so.Rcv.Unlock()
	}
	tp := &tcpcb{s: s, so: so}
	t := &s.tcp.tun
	tp.keepIdle, tp.keepIntvl, tp.keepInit, tp.keepCnt = t.KeepIdle, t.KeepIntvl, t.KeepInit, t.KeepCnt
	tp.rxtcur = t.RexmtInit
	tp.maxseg = t.MSSDflt
	if t.RACK {
		tp.flags |= tfRack
	}
	tp.inp = s.tcp.pcbs.attach(so, u.v6)
	so.PCB = tp // after attach, which set PCB to the inpcb
	s.tcp.conns.Add(1)
	return nil
}

// Detach is tcp_usr_detach: the socket is gone. A connection still
// closing keeps its block (and any unsent data) until it is done.
func (u *tcpProto) Detach(so *socket.Socket) {
	tp := tcpcbOf(so)
	if tp == nil {
		return
	}
	tp.lock()
	tp.flags |= tfDetached
	if tp.state != tcpsClosed && tp.state != tcpsListen && tp.state != tcpsTimeWait {
		so.Snd.Lock()
		tp.orphan = so.Snd.DropLocked(so.Snd.AvailLocked())
		so.Snd.Unlock()
	}
	if tp.state == tcpsListen {
		tp.state = tcpsClosed
	}
	if tp.state == tcpsClosed {
		tp.freeLocked()
	}
	if tp.state == tcpsTimeWait {
		tp.twCompact()
	}
	tp.mu.Unlock()
}

// freeLocked releases a closed block whose socket is gone.
func (tp *tcpcb) freeLocked() {
	if tp.flags&tfFreed != 0 {
		return
	}
	tp.flags |= tfFreed
	tp.timerKill()
	tp.s.tcp.pcbs.detach(tp.inp)
	mbuf.FreeChain(tp.orphan)
	tp.orphan = nil
	tp.reass.free()
	tp.reass = nil
	tp.sm = nil
	tp.s.tcp.conns.Add(-1)
}

// flush sends the segments built under the lock; call it unlocked. It
// reports whether a segment larger than the MTU was refused (EMSGSIZE)
// because its interface no longer takes TCP segmentation offload.
func (s *Stack) tcpFlush(segs []tcpSeg) (tsoRefused bool) {
	for i := range segs {
		o := segs[i].o
		tso := segs[i].m.Csum.TSO != 0
		var err error
		if o.dst.Is4() {
			err = s.ip4Output(segs[i].m, &o)
		} else {
			err = s.ip6Output(segs[i].m, &o)
		}
		if tso && errors.Is(err, syscall.EMSGSIZE) {
			tsoRefused = true
		}
	}
	return tsoRefused
}

// unlockAndSend releases the lock and sends what was built under it.
//
// One goroutine at a time sends a block's segments, in the order they
// were built: a delivery runs to completion in the sender's goroutine, so
// the ACK of the first segment of a batch can come back, and make more
// segments, before the rest of the batch has left; those wait in tp.out
// for the goroutine already sending, which takes them after its batch
// (FreeBSD keeps the order by holding the inpcb lock across ip_output).
func (tp *tcpcb) unlockAndSend() {
	if tp.flushing {
		tp.mu.Unlock()
		return
	}
	tp.flushing = true
	var buf [8]tcpSeg
	for len(tp.out) > 0 {
		var out, burst []tcpSeg
		if len(tp.out) <= len(buf) {
			out = buf[:copy(buf[:], tp.out)]
			clear(tp.out)
			tp.out = tp.out[:0]
		} else {
			// A burst: hand the slice over and build into the spare
			// one, so that a stream of bursts reallocates nothing.
			burst = tp.out
			out = burst
			tp.out, tp.outSpare = tp.outSpare[:0], nil
		}
		tp.mu.Unlock()
		tsoRefused := tp.s.tcpFlush(out)
		clear(buf[:])
		tp.mu.Lock()
		if tsoRefused && tp.tsoMax > 0 {
			// As tcp_output on EMSGSIZE: no more offload; what was
			// in flight goes again in MSS-sized segments.
			tp.tsoMax = 0
			tp.sndNxt = tp.sndUna
			tp.rtttime = time.Time{}
			tp.now = time.Time{}
			tp.output()
		}
		if burst != nil {
			clear(burst)
			if cap(burst) > cap(tp.outSpare) {
				tp.outSpare = burst[:0]
			}
		}
	}
	if tp.state == tcpsClosed || tp.state == tcpsTimeWait {
		tp.out, tp.outSpare = nil, nil // nothing more to send in bursts
	}
	tp.flushing = false
	tp.mu.Unlock()
}

// Bind is tcp_usr_bind.
func (u *tcpProto) Bind(so *socket.Socket, nam socket.Sockaddr) error {
	tp := tcpcbOf(so)
	a, port, err := tp.inp.sockaddr(nam)
	if err != nil {
		return err
	}
	if a.IsMulticast() || a.Is4() && a == limitedBroadcast {
		return syscall.EAFNOSUPPORT
	}
	return u.s.tcp.pcbs.bind(tp.inp, a, port)
}

// Listen is tcp_usr_listen: an unbound socket gets an ephemeral port.
func (u *tcpProto) Listen(so *socket.Socket, backlog int) error {
	tp := tcpcbOf(so)
	if _, lp, _, _ := tp.inp.addrs(); lp == 0 {
		if err := u.s.tcp.pcbs.bind(tp.inp, netip.Addr{}, 0); err != nil {
			return err
		}
	}
	tp.lock()
	defer tp.mu.Unlock()
	if tp.state != tcpsClosed && tp.state != tcpsListen {
		return syscall.EINVAL
	}
	so.Lock()
	if err := so.ListenProtoCheck(); err != nil {
		so.Unlock()
		return err
	}
	tp.state = tcpsListen
	so.ListenProto(backlog)
	so.Unlock()
	return nil
}

// Connect is tcp_usr_connect: choose the addresses, then send a SYN.
func (u *tcpProto) Connect(so *socket.Socket, nam socket.Sockaddr) error {
	tp := tcpcbOf(so)
	a, port, err := tp.inp.sockaddr(nam)
	if err != nil {
		return err
	}
	if a.IsMulticast() || a.Is4() && u.s.isBroadcast4(a, nil) {
		return syscall.EAFNOSUPPORT
	}
	tp.lock()
	if tp.state != tcpsClosed {
		tp.mu.Unlock()
		return syscall.EISCONN
	}
	tp.mu.Unlock()
	if err := u.s.tcp.pcbs.connect(tp.inp, a, port); err != nil {
		return err
	}
	tp.lock()
	if tp.state != tcpsClosed {
		tp.mu.Unlock()
		return syscall.EISCONN
	}
	u.s.Stats.TCP.ConnAttempt.Add(1)
	so.Isconnecting()
	tp.startConnect()
	tp.output()
	tp.unlockAndSend()
	return nil
}

// startConnect moves a block to SYN_SENT.
func (tp *tcpcb) startConnect() {
	la, lp, fa, fp := tp.inp.addrs()
	tp.iss = tp.s.tcpISN(la, lp, fa, fp)
	tp.sndUna, tp.sndNxt, tp.sndMax = tp.iss, tp.iss, tp.iss
	tp.recover, tp.sndUp = tp.iss, tp.iss
	tp.setRcvScale()
	if tp.s.tcp.tun.WindowScaling {
		tp.flags |= tfReqScale
	}
	if tp.s.tcp.tun.Timestamps {
		tp.flags |= tfReqTstmp
		// RFC 7323 5.4: an offset keyed on the connection, so that a
		// new incarnation of a four-tuple continues its timestamps.
		la, lp, fa, fp := tp.inp.addrs()
		tp.tsOffset = tp.s.scTSOffset(scKey{laddr: la, faddr: fa.WithZone(""), lport: lp, fport: fp})
	}
	if tp.s.tcp.tun.SACK {
		tp.flags |= tfReqSack
	}
	tp.state = tcpsSynSent
	tp.timerSet(ttKeep, tp.keepInit)
}

// setRcvScale picks the window scale that lets the receive buffer's
// largest size be advertised.
func (tp *tcpcb) setRcvScale() {
	max := max(tp.so.Rcv.Hiwat(), tp.s.vnet.SbMax())
	var sc uint8
	for sc < 14 && 65535<<sc < max {
		sc++
	}
	tp.rcvScale = sc
}

// Disconnect is tcp_usr_disconnect (tcp_disconnect): before ESTABLISHED
// the connection is simply dropped; with SO_LINGER and a zero linger time
// it is reset; otherwise a FIN follows the queued data.
func (u *tcpProto) Disconnect(so *socket.Socket) error {
	tp := tcpcbOf(so)
	linger0 := false
	if so.Options()&socket.SO_LINGER != 0 {
		var b [socket.LingerLen]byte
		sopt := socket.Sockopt{Level: socket.SOL_SOCKET, Name: socket.SO_LINGER, Val: b[:], Valsize: len(b)}
		if so.GetOpt(&sopt) == nil && socket.ParseLinger(b[:]).Linger == 0 {
			linger0 = true
		}
	}
	tp.lock()
	switch {
	case tp.state < tcpsEstablished:
		tp.close()
	case linger0:
		tp.drop(0)
	default:
		so.Isdisconnecting()
		so.Rcv.Lock()
		mbuf.FreeChain(so.Rcv.DropLocked(so.Rcv.AvailLocked()))
		so.Rcv.Unlock()
		tp.usrclosed()
		if tp.state != tcpsClosed {
			tp.output()
		}
	}
	tp.unlockAndSend()
	return nil
}

// usrclosed is tcp_usrclosed: the user will send no more.
func (tp *tcpcb) usrclosed() {
	switch tp.state {
	case tcpsClosed, tcpsListen:
		tp.close()
		return
	case tcpsSynSent, tcpsSynReceived:
		tp.flags |= tfNeedFin
		return
	case tcpsEstablished:
		tp.state = tcpsFinWait1
	case tcpsCloseWait:
		tp.state = tcpsLastAck
	}
	if tp.state >= tcpsFinWait2 {
		tp.so.Isdisconnected()
		if tp.state == tcpsFinWait2 {
			tp.timerSet(tt2MSL, tp.s.tcp.tun.FinWait2Timeout)
		}
	}
}

// Shutdown is tcp_usr_shutdown: SHUT_WR sends a FIN after the data.
func (u *tcpProto) Shutdown(so *socket.Socket) error {
	tp := tcpcbOf(so)
	so.Cantsendmore()
	tp.lock()
	tp.usrclosed()
	if tp.state != tcpsClosed {
		tp.output()
	}
	tp.unlockAndSend()
	return nil
}

// Rcvd is tcp_usr_rcvd: the reader made room; maybe a window update.
func (u *tcpProto) Rcvd(so *socket.Socket, flags int) error {
	tp := tcpcbOf(so)
	tp.lock()
	if tp.state >= tcpsEstablished && tp.state != tcpsTimeWait {
		// The reader caught up: a delayed ACK goes now with the window
		// it opened, so that a sender held by Nagle need not wait for
		// the delayed-ACK timer (as Linux's tcp_cleanup_rbuf does) —
		// unless the connection is interactive, where the answer the
		// reader is about to write carries the ACK, and the read did
		// not at least double a window that was under half the buffer.
		if tp.flags&tfDelAck != 0 {
			if tp.flags&tfPingPong == 0 {
				tp.flags |= tfAckNow
			} else if old := max(tp.rcvAdv.sub(tp.rcvNxt), 0); 2*old <= tp.rcvHiwat() && tp.recwin() >= max(2*old, 1) {
				tp.flags |= tfAckNow
			}
		}
		tp.output()
	}
	tp.unlockAndSend()
	return nil
}

// Send is tcp_usr_send: append to the send buffer and send what the
// windows allow; an unconnected socket with an address connects first
// (PR_IMPLOPCL).
func (u *tcpProto) Send(so *socket.Socket, flags int, m *mbuf.Mbuf, addr socket.Sockaddr, control *mbuf.Mbuf) error {
	u.s.vnet.DisposeControl(control)
	tp := tcpcbOf(so)
	if addr != nil {
		tp.lock()
		st := tp.state
		tp.mu.Unlock()
		if st != tcpsClosed {
			mbuf.FreeChain(m)
			return syscall.EISCONN
		}
		if err := u.Connect(so, addr); err != nil {
			mbuf.FreeChain(m)
			return err
		}
	}
	tp.lock()
	if tp.state == tcpsClosed || tp.state == tcpsListen {
		tp.mu.Unlock()
		mbuf.FreeChain(m)
		return syscall.ENOTCONN
	}
	if m != nil && mbuf.Length(m) > 0 {
		so.Snd.Lock()
		so.Snd.AppendStreamLocked(m)
		if flags&socket.PRUS_OOB != 0 {
			// The urgent pointer points past the last byte queued.
			tp.sndUp = tp.sndUna + seqnum(so.Snd.AvailLocked())
			tp.flags |= tfForce
		}
		so.Snd.Unlock()
	} else {
		mbuf.FreeChain(m)
	}
	if flags&socket.PRUS_MORETOCOME != 0 {
		tp.flags |= tfMoreToCome
	}
	if flags&socket.PRUS_EOF != 0 {
		so.Cantsendmore()
		tp.usrclosed()
	}
	if tp.state != tcpsClosed {
		tp.output()
	}
	tp.flags &^= tfMoreToCome | tfForce
	tp.unlockAndSend()
	return nil
}

const (
	tcpoobHaveData = 1
	tcpoobHadData  = 2
)

// Rcvoob is tcp_usr_rcvoob: the out-of-band byte, unless it was read or
// is kept inline (EINVAL), or has not arrived (EWOULDBLOCK).
func (u *tcpProto) Rcvoob(so *socket.Socket, flags int) (*mbuf.Mbuf, error) {
	tp := tcpcbOf(so)
	tp.lock()
	defer tp.mu.Unlock()
	if so.Options()&socket.SO_OOBINLINE != 0 || tp.oobflags&tcpoobHadData != 0 {
		return nil, syscall.EINVAL
	}
	if tp.oobflags&tcpoobHaveData == 0 {
		return nil, syscall.EWOULDBLOCK
	}
	m := u.s.pool.CopyIn(mbuf.MT_DATA, []byte{tp.iobc}, 0)
	if flags&socket.MSG_PEEK == 0 {
		tp.oobflags ^= tcpoobHaveData | tcpoobHadData
	}
	return m, nil
}

// Abort is tcp_usr_abort: drop a connection from a listen queue.
func (u *tcpProto) Abort(so *socket.Socket) {
	tp := tcpcbOf(so)
	tp.lock()
	if tp.state != tcpsClosed {
		tp.drop(syscall.ECONNABORTED)
	}
	tp.unlockAndSend()
}

// Close is tcp_usr_close: the last reference is going. A connection not
// yet disconnecting is disconnected; one still connecting is dropped.
func (u *tcpProto) Close(so *socket.Socket) {
	tp := tcpcbOf(so)
	tp.lock()
	switch {
	case tp.state == tcpsListen:
		tp.state = tcpsClosed
		tp.s.tcp.pcbs.detach(tp.inp)
	case tp.state < tcpsEstablished && tp.state != tcpsClosed:
		tp.close()
	case tp.state == tcpsEstablished || tp.state == tcpsCloseWait:
		tp.mu.Unlock()
		u.Disconnect(so)
		return
	}
	tp.unlockAndSend()
}

// Sockaddr is tcp_usr_sockaddr.
func (u *tcpProto) Sockaddr(so *socket.Socket) (socket.Sockaddr, error) {
	p := tcpcbOf(so).inp
	la, lp, _, _ := p.addrs()
	return p.makeSockaddr(la, lp), nil
}

// Peeraddr is tcp_usr_peeraddr.
func (u *tcpProto) Peeraddr(so *socket.Socket) (socket.Sockaddr, error) {
	p := tcpcbOf(so).inp
	_, _, fa, fp := p.addrs()
	if !fa.IsValid() {
		return nil, syscall.ENOTCONN
	}
	return p.makeSockaddr(fa, fp), nil
}

// Accept is tcp_usr_accept: the peer's address.
func (u *tcpProto) Accept(so *socket.Socket) (socket.Sockaddr, error) {
	return u.Peeraddr(so)
}

// Ctloutput is tcp_ctloutput: IPPROTO_TCP options here, IP options below,
// and SO_KEEPALIVE starts or stops the keepalive timer.
func (u *tcpProto) Ctloutput(so *socket.Socket, sopt *socket.Sockopt) error {
	tp := tcpcbOf(so)
	if sopt.Level == socket.SOL_SOCKET {
		if sopt.Name == socket.SO_KEEPALIVE {
			tp.lock()
			if tp.state >= tcpsEstablished && tp.state < tcpsTimeWait {
				tp.keepArm()
			}
			tp.mu.Unlock()
		}
		return nil
	}
	if sopt.Level != IPPROTO_TCP {
		return u.s.ctloutput(tp.inp, sopt)
	}
	if sopt.Dir == socket.SOPT_SET {
		if sopt.Name == TCP_FUNCTION_BLK {
			if sopt.Valsize < TCPFunctionSetLen || len(sopt.Val) < TCPFunctionSetLen {
				return syscall.EINVAL
			}
			name := string(sopt.Val[:32])
			if i := strings.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			tp.lock()
			defer tp.mu.Unlock()
			switch name {
			case "rack":
				tp.flags |= tfRack
			case "freebsd":
				tp.flags &^= tfRack
				tp.timerStop(ttTLP)
				tp.timerStop(ttReorder)
			default:
				return syscall.ENOENT
			}
			return nil
		}
		if sopt.Name == TCP_CONGESTION {
			var b [16]byte
			n := copy(b[:], sopt.Val[:min(len(sopt.Val), sopt.Valsize)])
			name := string(b[:n])
			for len(name) > 0 && name[len(name)-1] == 0 {
				name = name[:len(name)-1]
			}
			cc := newCC(name)
			if cc == nil {
				return syscall.ESRCH
			}
			tp.lock()
			if tp.cc == nil || tp.cc.name() != name {
				tp.cc = cc
				if tp.state >= tcpsEstablished {
					tp.ssthresh = max(tp.ssthresh, tp.cwnd)
				}
			}
			tp.mu.Unlock()
			return nil
		}
		v, err := sopt.OptInt()
		if err != nil {
			return err
		}
		tp.lock()
		defer tp.unlockAndSend()
		dur := func(d *time.Duration) error {
			if v <= 0 || v > 1<<30/1000 {
				return syscall.EINVAL
			}
			*d = time.Duration(v) * time.Second
			return nil
		}
		switch sopt.Name {
		case TCP_NODELAY, TCP_NOPUSH:
			bit := uint32(tfNoDelay)
			if sopt.Name == TCP_NOPUSH {
				bit = tfNoPush
			}
			if v != 0 {
				tp.flags |= bit
			} else {
				tp.flags &^= bit
				if tp.state >= tcpsEstablished && tp.state < tcpsTimeWait {
					tp.output()
				}
			}
		case TCP_MAXSEG:
			// As tcp_default_ctloutput: no less than minmss less the
			// largest headers.
			if v+40 < tcpMinMSS || v > 65535 {
				return syscall.EINVAL
			}
			tp.userMSS = v
			if tp.state < tcpsEstablished || v < tp.maxseg {
				tp.maxseg = min(tp.maxseg, v)
			}
		case TCP_KEEPIDLE:
			if err := dur(&tp.keepIdle); err != nil {
				return err
			}
			if tp.state >= tcpsEstablished && tp.state <= tcpsCloseWait {
				tp.keepArm()
			}
		case TCP_KEEPINTVL:
			return dur(&tp.keepIntvl)
		case TCP_KEEPINIT:
			return dur(&tp.keepInit)
		case TCP_KEEPCNT:
			if v <= 0 {
				return syscall.EINVAL
			}
			tp.keepCnt = v
		default:
			return syscall.ENOPROTOOPT
		}
		return nil
	}
	tp.lock()
	var v int
	switch sopt.Name {
	case TCP_NODELAY:
		v = b2i(tp.flags&tfNoDelay != 0)
	case TCP_NOPUSH:
		v = b2i(tp.flags&tfNoPush != 0)
	case TCP_MAXSEG:
		v = tp.maxseg
	case TCP_KEEPIDLE:
		v = int(tp.keepIdle / time.Second)
	case TCP_KEEPINTVL:
		v = int(tp.keepIntvl / time.Second)
	case TCP_KEEPINIT:
		v = int(tp.keepInit / time.Second)
	case TCP_KEEPCNT:
		v = tp.keepCnt
	case TCP_FUNCTION_BLK:
		var b [TCPFunctionSetLen]byte
		name := "freebsd"
		if tp.flags&tfRack != 0 {
			name = "rack"
		}
		copy(b[:], name)
		tp.mu.Unlock()
		return sopt.OptCopyOut(b[:])
	case TCP_CONGESTION:
		name := tp.s.tcp.tun.CongestionControl
		if tp.cc != nil {
			name = tp.cc.name()
		}
		tp.mu.Unlock()
		var b [16]byte
		copy(b[:], name)
		return sopt.OptCopyOut(b[:])
	case TCP_INFO:
		b := tp.info()
		tp.mu.Unlock()
		return sopt.OptCopyOut(b)
	default:
		tp.mu.Unlock()
		return syscall.ENOPROTOOPT
	}
	tp.mu.Unlock()
	return sopt.OptOutInt(v)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TCPInfoLen is sizeof(struct tcp_info) on FreeBSD.
const TCPInfoLen = 236

// TCP_INFO's option bits (tcpi_options).
const (
	TCPI_OPT_TIMESTAMPS = 0x01
	TCPI_OPT_SACK       = 0x02
	TCPI_OPT_WSCALE     = 0x04
)

// TCPInfo is FreeBSD's struct tcp_info, the fields FreeBSD fills, as
// ParseTCPInfo decodes getsockopt(IPPROTO_TCP, TCP_INFO). Times are
// durations here (microseconds on the wire).
type TCPInfo struct {
	State         uint8         // tcpi_state: the TCP state, as tcp_fsm.h numbers them
	Options       uint8         // tcpi_options: TCPI_OPT_* bits
	SndWscale     uint8         // tcpi_snd_wscale
	RcvWscale     uint8         // tcpi_rcv_wscale
	RTO           time.Duration // tcpi_rto
	SndMSS        uint32        // tcpi_snd_mss
	RcvMSS        uint32        // tcpi_rcv_mss
	LastDataRecv  time.Duration // tcpi_last_data_recv: since the last segment arrived
	RTT           time.Duration // tcpi_rtt: the smoothed round-trip time
	RTTVar        time.Duration // tcpi_rttvar
	SndSsthresh   uint32        // tcpi_snd_ssthresh
	SndCwnd       uint32        // tcpi_snd_cwnd
	RcvSpace      uint32        // tcpi_rcv_space: the window offered
	SndWnd        uint32        // tcpi_snd_wnd: the peer's window
	SndNxt        uint32        // tcpi_snd_nxt
	RcvNxt        uint32        // tcpi_rcv_nxt
	SndRexmitPack uint32        // tcpi_snd_rexmitpack: segments resent
	RcvOOOPack    uint32        // tcpi_rcv_ooopack: segments received out of order
	SndZeroWin    uint32        // tcpi_snd_zerowin: zero windows advertised
}

// struct tcp_info offsets.
const (
	tiState, tiOptions, tiWscale             = 0, 5, 6
	tiRTO, tiSndMSS, tiRcvMSS                = 8, 16, 20
	tiLastDataRecv, tiRTT, tiRTTVar          = 52, 68, 72
	tiSsthresh, tiCwnd, tiRcvSpace, tiSndWnd = 76, 80, 96, 100
	tiSndNxt, tiRcvNxt                       = 108, 112
	tiRexmitPack, tiRcvOOOPack, tiSndZeroWin = 120, 124, 128
)

// ParseTCPInfo decodes a struct tcp_info; EINVAL when b is short.
func ParseTCPInfo(b []byte) (TCPInfo, error) {
	if len(b) < tiSndZeroWin+4 {
		return TCPInfo{}, syscall.EINVAL
	}
	ne := binary.NativeEndian
	us := func(off int) time.Duration { return time.Duration(ne.Uint32(b[off:])) * time.Microsecond }
	return TCPInfo{
		State: b[tiState], Options: b[tiOptions], SndWscale: b[tiWscale] & 0xf, RcvWscale: b[tiWscale] >> 4,
		RTO: us(tiRTO), SndMSS: ne.Uint32(b[tiSndMSS:]), RcvMSS: ne.Uint32(b[tiRcvMSS:]),
		LastDataRecv: us(tiLastDataRecv), RTT: us(tiRTT), RTTVar: us(tiRTTVar),
		SndSsthresh: ne.Uint32(b[tiSsthresh:]), SndCwnd: ne.Uint32(b[tiCwnd:]),
		RcvSpace: ne.Uint32(b[tiRcvSpace:]), SndWnd: ne.Uint32(b[tiSndWnd:]),
		SndNxt: ne.Uint32(b[tiSndNxt:]), RcvNxt: ne.Uint32(b[tiRcvNxt:]),
		SndRexmitPack: ne.Uint32(b[tiRexmitPack:]), RcvOOOPack: ne.Uint32(b[tiRcvOOOPack:]),
		SndZeroWin: ne.Uint32(b[tiSndZeroWin:]),
	}, nil
}

// info encodes the connection as struct tcp_info (tcp_fill_info).
func (tp *tcpcb) info() []byte {
	b := make([]byte, TCPInfoLen)
	ne := binary.NativeEndian
	b[tiState] = byte(tp.state)
	var opts byte
	if tp.flags&tfRcvdScale != 0 && tp.flags&tfReqScale != 0 {
		opts |= TCPI_OPT_WSCALE
		b[tiWscale] = tp.sndScale&0xf | tp.rcvScale<<4
	}
	if tp.useTS() {
		opts |= TCPI_OPT_TIMESTAMPS
	}
	if tp.sackOK() {
		opts |= TCPI_OPT_SACK
	}
	b[tiOptions] = opts
	us := func(off int, d time.Duration) { ne.PutUint32(b[off:], uint32(d/time.Microsecond)) }
	us(tiRTO, tp.rxtcur)
	ne.PutUint32(b[tiSndMSS:], uint32(tp.maxseg))
	ne.PutUint32(b[tiRcvMSS:], uint32(tp.maxseg))
	if !tp.rcvtime.IsZero() {
		us(tiLastDataRecv, tp.clock().Sub(tp.rcvtime))
	}
	us(tiRTT, tp.srtt)
	us(tiRTTVar, tp.rttvar)
	ne.PutUint32(b[tiSsthresh:], tp.ssthresh)
	ne.PutUint32(b[tiCwnd:], tp.cwnd)
	ne.PutUint32(b[tiRcvSpace:], uint32(tp.recwin()))
	ne.PutUint32(b[tiSndWnd:], tp.sndWnd)
	ne.PutUint32(b[tiSndNxt:], uint32(tp.sndNxt))
	ne.PutUint32(b[tiRcvNxt:], uint32(tp.rcvNxt))
	ne.PutUint32(b[tiRexmitPack:], tp.nRexmit)
	ne.PutUint32(b[tiRcvOOOPack:], tp.nRcvOOO)
	ne.PutUint32(b[tiSndZeroWin:], tp.nZeroWin)
	return b
}

// close is tcp_close: the connection is over. The socket, if any, is
// disconnected; a block without a socket is freed.
func (tp *tcpcb) close() {
	if tp.state == tcpsClosed && tp.flags&tfFreed != 0 {
		return
	}
	tp.state = tcpsClosed
	tp.s.Stats.TCP.Closed.Add(1)
	tp.timerKill()
	tp.reass.free()
	tp.reass = nil
	tp.sm = nil
	if tp.flags&tfDetached != 0 {
		tp.freeLocked()
		return
	}
	// Unhash so that later segments find no connection; keep the
	// addresses for getsockname.
	t := &tp.s.tcp.pcbs
	t.mu.Lock()
	t.unhashLocked(tp.inp)
	t.mu.Unlock()
	tp.so.Isdisconnected()
}

// drop is tcp_drop: reset a synchronized connection and close it with
// errno (0: none) for the socket.
func (tp *tcpcb) drop(errno syscall.Errno) {
	if tp.state >= tcpsSynReceived && tp.state != tcpsTimeWait {
		tp.respond(tp.sndMax, 0, tcpRst)
		tp.s.Stats.TCP.Drops.Add(1)
	} else {
		tp.s.Stats.TCP.ConnDrops.Add(1)
	}
	if errno == syscall.ETIMEDOUT && tp.softErr != 0 {
		errno = tp.softErr
	}
	if errno != 0 && tp.flags&tfDetached == 0 {
		tp.so.SetError(errno)
	}
	tp.close()
}

// lock takes the block's lock; the section that follows reads the clock
// once (clock).
func (tp *tcpcb) lock() {
	tp.mu.Lock()
	tp.now = time.Time{}
}

// clock is the time, read once per locked section: processing a segment
// or a timer stamps, measures and arms everything from one reading (the
// clock is the most expensive thing on the per-packet path otherwise).
func (tp *tcpcb) clock() time.Time {
	if tp.now.IsZero() {
		tp.now = time.Now()
	}
	return tp.now
}

// timerSet arms timer i to fire after d. A connection is in its stack's
// timer queue (tcpTimerQ) once, due at its earliest deadline, as FreeBSD's
// tcpcb has one callout for all its timers. A connection due before the
// new deadline is left where it is: it queues itself again for the rest
// when it comes due, so that pushing a deadline back (the retransmission
// timer on every ACK) costs no queue operation.
func (tp *tcpcb) timerSet(i int, d time.Duration) {
	now := tp.clock()
	dl := now.Add(d)
	tp.tdl[i] = dl
	if !tp.tfire.IsZero() && !tp.tfire.After(dl) {
		return
	}
	tp.tfire = dl
	tp.s.tcp.timers.schedule(tp, dl, now)
}

// timerStop stops timer i lazily: the deadline goes, the connection stays
// queued and finds nothing to do when it comes due, so that a timer stopped
// and set again on every segment (the delayed ACK, the retransmission
// timer) costs no queue operation. timerKill stops them all for good.
func (tp *tcpcb) timerStop(i int) {
	tp.tdl[i] = time.Time{}
}

// timerKill stops every timer and takes the connection out of the queue,
// for a block that is closing.
func (tp *tcpcb) timerKill() {
	clear(tp.tdl[:])
	tp.tfire = time.Time{}
	// Even with tfire zero (inside timeout), the block may be queued: a
	// timer set between the queue taking it out and timeout running.
	tp.s.tcp.timers.cancel(tp)
}

func (tp *tcpcb) timerActive(i int) bool { return !tp.tdl[i].IsZero() }

// timeout runs the handlers of the timers that are due (tcp_timer_*),
// in the order of their numbers, then queues the connection again for the
// earliest deadline left.
func (tp *tcpcb) timeout() {
	tp.lock()
	tp.tfire = time.Time{}
	if tp.flags&tfFreed != 0 {
		tp.mu.Unlock()
		return
	}
	now := tp.clock()
	for i := range tp.tdl {
		if tp.tdl[i].IsZero() || now.Before(tp.tdl[i]) || tp.flags&tfFreed != 0 {
			continue
		}
		tp.tdl[i] = time.Time{}
		tp.timerFire(i)
	}
	if tp.flags&tfFreed == 0 {
		var next time.Time
		for _, dl := range tp.tdl {
			if !dl.IsZero() && (next.IsZero() || dl.Before(next)) {
				next = dl
			}
		}
		if !next.IsZero() && (tp.tfire.IsZero() || next.Before(tp.tfire)) {
			tp.tfire = next
			tp.s.tcp.timers.schedule(tp, next, now)
		}
	}
	tp.unlockAndSend()
}

// timerFire is timer i's handler.
func (tp *tcpcb) timerFire(i int) {
	st := &tp.s.Stats.TCP
	switch i {
	case ttDelack:
		if tp.flags&tfDelAck != 0 {
			// No answer came within the delay: not interactive.
			tp.flags = tp.flags&^(tfDelAck|tfPingPong) | tfAckNow
			st.DelAck.Add(1)
			tp.output()
		}
	case ttRexmt:
		tp.rexmtTimeout()
	case ttPersist:
		st.PersistTimeo.Add(1)
		if tp.rxtshift >= tp.s.tcp.tun.RexmtShiftMax && tp.clock().Sub(tp.rcvtime) >= tp.s.tcp.tun.RexmtMax {
			tp.drop(syscall.ETIMEDOUT)
			break
		}
		tp.setPersist()
		tp.sndNxt = tp.sndUna
		tp.flags |= tfForce
		tp.output()
		tp.flags &^= tfForce
	case ttKeep:
		tp.keepTimeout()
	case tt2MSL:
		if tp.state == tcpsTimeWait || tp.state == tcpsFinWait2 {
			tp.close()
		}
	case ttReorder:
		if tp.sm != nil && tp.rackOn() && tp.rackDetectLoss() {
			tp.s.Stats.TCP.RackLoss.Add(1)
			if tp.flags&tfInRecovery == 0 {
				tp.lossRecovery()
			}
			tp.output()
		}
	case ttTLP:
		if tp.rackOn() {
			tp.tlpTimeout()
		}
	}
}

// rexmtTimeout is tcp_timer_rexmt: back off and resend from snd_una.
func (tp *tcpcb) rexmtTimeout() {
	st := &tp.s.Stats.TCP
	st.RexmtTimeo.Add(1)
	tp.rxtshift++
	if tp.rxtshift > tp.s.tcp.tun.RexmtShiftMax {
		st.TimeoutDrop.Add(1)
		tp.drop(syscall.ETIMEDOUT)
		return
	}
	tp.rxtcur = tp.rtoBackoff()
	tp.rtttime = time.Time{} // Karn: no sample from a retransmission
	if tp.state == tcpsSynSent || tp.state == tcpsSynReceived {
		tp.sndNxt = tp.iss
	} else {
		tp.sndNxt = tp.sndUna
		// RFC 5681 3.1 (5): ssthresh from the flight on the first
		// timeout, cwnd one segment on each.
		if tp.rxtshift == 1 {
			tp.cc.congSignal(tp, ccSigRTO)
		}
		tp.cwnd = uint32(tp.maxseg)
		tp.recover = tp.sndMax
		tp.flags &^= tfInRecovery
		tp.dupacks = 0
		if tp.sm != nil {
			// Keep what the peer SACKed through the first timeout; after
			// a second, it may have reneged: resend everything.
			if tp.rxtshift > 1 {
				tp.sm.clearSacked()
			} else {
				tp.sm.clearLost()
			}
			tp.sm.rack.tlpEnd = 0
			tp.timerStop(ttTLP)
			tp.timerStop(ttReorder)
		}
	}
	tp.output()
}

// rto is RFC 6298's RTO with FreeBSD's minimum, before backoff.
func (tp *tcpcb) rto() time.Duration {
	t := &tp.s.tcp.tun
	if tp.srtt == 0 {
		return t.RexmtInit
	}
	r := tp.srtt + max(4*tp.rttvar, time.Millisecond)
	return min(max(r, t.RexmtMin), t.RexmtMax)
}

func (tp *tcpcb) rtoBackoff() time.Duration {
	r := tp.rto()
	for i := 0; i < tp.rxtshift && r < tp.s.tcp.tun.RexmtMax; i++ {
		r *= 2
	}
	return min(r, tp.s.tcp.tun.RexmtMax)
}

// rttUpdate is tcp_xmit_timer: fold a sample into SRTT and RTTVAR
// (RFC 6298 2.2, 2.3).
func (tp *tcpcb) rttUpdate(r time.Duration) {
	tp.s.Stats.TCP.RttUpdated.Add(1)
	if r <= 0 {
		r = time.Microsecond
	}
	if tp.srtt == 0 {
		tp.srtt, tp.rttvar = r, r/2
	} else {
		d := tp.srtt - r
		if d < 0 {
			d = -d
		}
		tp.rttvar = (3*tp.rttvar + d) / 4
		tp.srtt = (7*tp.srtt + r) / 8
	}
	tp.rxtshift = 0
	tp.rxtcur = tp.rto()
}

// setPersist is tcp_setpersist: the persist interval backs off between
// 5 s and 60 s.
func (tp *tcpcb) setPersist() {
	d := tp.rto()
	for i := 0; i < tp.rxtshift; i++ {
		d *= 2
	}
	d = min(max(d, 5*time.Second), 60*time.Second)
	tp.timerSet(ttPersist, d)
	if tp.rxtshift < tp.s.tcp.tun.RexmtShiftMax {
		tp.rxtshift++
	}
}

// keepArm (re)starts the keepalive timer of a synchronized connection.
func (tp *tcpcb) keepArm() {
	if tp.flags&tfDetached == 0 && tp.so.Options()&socket.SO_KEEPALIVE != 0 {
		tp.timerSet(ttKeep, tp.keepIdle)
	} else {
		tp.timerStop(ttKeep)
	}
}

// keepTimeout is tcp_timer_keep: an embryonic connection gives up; an
// idle one is probed, and dropped after keepcnt unanswered probes.
func (tp *tcpcb) keepTimeout() {
	st := &tp.s.Stats.TCP
	st.KeepTimeo.Add(1)
	if tp.state < tcpsEstablished {
		tp.drop(syscall.ETIMEDOUT)
		return
	}
	if tp.flags&tfDetached != 0 || tp.so.Options()&socket.SO_KEEPALIVE == 0 || tp.state > tcpsCloseWait {
		return
	}
	idle := tp.clock().Sub(tp.rcvtime)
	if idle < tp.keepIdle {
		tp.timerSet(ttKeep, tp.keepIdle-idle)
		return
	}
	if tp.keepProbes >= tp.keepCnt {
		st.KeepDrops.Add(1)
		tp.drop(syscall.ETIMEDOUT)
		return
	}
	tp.keepProbes++
	st.KeepProbe.Add(1)
	tp.respond(tp.sndUna-1, tp.rcvNxt, tcpAck)
	tp.timerSet(ttKeep, tp.keepIntvl)
}

// tcpReass is the reassembly queue: out-of-order segments sorted by
// sequence number.
type tcpReass struct {
	segs  []reassSeg
	bytes int
}

type reassSeg struct {
	seq seqnum
	m   *mbuf.Mbuf
	n   int
	fin bool
}

func (r *tcpReass) free() {
	if r == nil {
		return
	}
	for _, s := range r.segs {
		mbuf.FreeChain(s.m)
	}
	r.segs = nil
	r.bytes = 0
}
