package inet

// Packet-level tests of TCP's state machine: the stack under test (host a,
// 10.0.0.1) talks to a scripted peer (10.0.0.2) whose segments are crafted
// and injected into a's interface, while what a sends is recorded and kept
// from b's stack (only ARP reaches it). Every test runs in a
// testing/synctest bubble, so timers fire at exact virtual instants.
//
// The expectations follow RFC 9293 3.10.7 (segment arrives), RFC 5961
// (blind RST, SYN and data injection), RFC 6298 (retransmission timer),
// RFC 7323 (window scale and timestamps), RFC 1122 4.2.2.17 (zero-window
// probes) and 4.2.3.6 (keepalives), and FreeBSD's tcp_input.c and
// tcp_timewait.c where the RFCs leave room (RFC 1337's TIME_WAIT, the
// syncache's answers in SYN_RCVD).

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

const (
	fSYN = header.TCPFlagSyn
	fACK = header.TCPFlagAck
	fFIN = header.TCPFlagFin
	fRST = header.TCPFlagRst
	fPSH = header.TCPFlagPsh
)

// tcpHarness is a stack and a scripted peer on a cable (see the file
// comment). The sequence numbers are the peer's view of the connection
// under test.
type tcpHarness struct {
	t    *testing.T
	a, b *host
	c    *cable
	sn   *sniffer
	read int // segments from the stack already returned by sent

	ls *socket.Socket // the stack's listener (passive opens)
	so *socket.Socket // the stack's socket for the connection, once it has one

	lport, pport uint16 // the stack's port and the peer's
	iss          uint32 // the peer's ISS
	irs          uint32 // the stack's ISS
	snd          uint32 // the peer's SND.NXT: the stack's RCV.NXT once in sync
	una          uint32 // the highest ACK the peer has sent
	rcv          uint32 // the peer's RCV.NXT: the stack's SND.NXT as last seen
	passive      bool   // the connection came through ls
}

// newTCPHarness returns a harness whose peer starts its sequence numbers
// just short of 2^32, so that they wrap during the test.
func newTCPHarness(t *testing.T) *tcpHarness {
	t.Helper()
	a, b, c := pair(t, 1500)
	sn := &sniffer{deaf: true}
	c.setHook(sn.hook)
	return &tcpHarness{t: t, a: a, b: b, c: c, sn: sn, pport: 40000, iss: 0xfffffff0}
}

// tseg is a segment for the peer to send.
type tseg struct {
	flags    uint8
	seq, ack uint32
	win      uint16
	opts     []byte // padded with EOL to a multiple of 4
	data     []byte
}

func (s tseg) String() string {
	return fmt.Sprintf("[%s] seq %d ack %d win %d, %d option bytes, %d data bytes",
		header.TCPFlagString(s.flags), s.seq, s.ack, s.win, len(s.opts), len(s.data))
}

// send injects s from the peer's port to the stack's.
func (h *tcpHarness) send(s tseg) {
	opts := s.opts
	if len(opts)%4 != 0 {
		opts = append(slices.Clip(opts), make([]byte, 4-len(opts)%4)...)
	}
	injectOpts(h.c, h.pport, h.lport, s.seq, s.ack, s.flags, s.win, opts, s.data)
}

// sent returns the segments the stack has sent since the last call.
func (h *tcpHarness) sent() []header.TCP {
	h.sn.mu.Lock()
	defer h.sn.mu.Unlock()
	l := slices.Clone(h.sn.segs[0][h.read:])
	h.read = len(h.sn.segs[0])
	return l
}

// expect returns the one segment the stack sent since the last look,
// failing the test (with why) if it sent none or several.
func (h *tcpHarness) expect(why string) header.TCP {
	h.t.Helper()
	l := h.sent()
	if len(l) != 1 {
		h.t.Fatalf("%s: the stack sent %d segments, want 1: %v", why, len(l), l)
	}
	return l[0]
}

// expectNone fails the test if the stack sent anything since the last look.
func (h *tcpHarness) expectNone(why string) {
	h.t.Helper()
	if l := h.sent(); len(l) != 0 {
		h.t.Fatalf("%s: the stack sent %v, want nothing", why, l)
	}
}

// segWant describes an expected segment: exact flags, sequence and
// acknowledgment numbers (the latter only when ACK is set), and payload
// length (-1: any).
type segWant struct {
	flags    uint8
	seq, ack uint32
	n        int
}

func (w segWant) String() string {
	s := fmt.Sprintf("[%s] seq %d", header.TCPFlagString(w.flags), w.seq)
	if w.flags&fACK != 0 {
		s += fmt.Sprintf(" ack %d", w.ack)
	}
	if w.n >= 0 {
		s += fmt.Sprintf(" length %d", w.n)
	}
	return s
}

func (w segWant) match(g header.TCP) bool {
	return g.Flags() == w.flags && g.Seq() == w.seq && (w.flags&fACK == 0 || g.Ack() == w.ack) &&
		(w.n < 0 || len(g.Payload()) == w.n)
}

// check fails the test unless g matches w.
func (h *tcpHarness) check(why string, g header.TCP, w segWant) {
	h.t.Helper()
	if !w.match(g) {
		h.t.Fatalf("%s: got %v, want %v", why, g, w)
	}
}

// ack is the bare ACK the stack sends with its current numbers.
func (h *tcpHarness) ack() segWant { return segWant{fACK, h.rcv, h.snd, 0} }

// listen makes the stack listen on 10.0.0.1:80.
func (h *tcpHarness) listen(backlog int) {
	h.ls = h.a.tcpListen("10.0.0.1:80", backlog)
	h.lport = 80
}

// synRcvd brings a passive connection to SYN_RCVD: the peer's SYN (with
// opts) to the listener is answered by a SYN-ACK, which is returned.
func (h *tcpHarness) synRcvd(opts []byte) header.TCP {
	h.t.Helper()
	if h.ls == nil {
		h.listen(5)
	}
	h.passive = true
	h.send(tseg{flags: fSYN, seq: h.iss, win: 65535, opts: opts})
	sa := h.expect("a SYN to a listener is answered (RFC 9293 3.10.7.2)")
	if sa.Flags() != fSYN|fACK || sa.Ack() != h.iss+1 {
		h.t.Fatalf("answer to SYN: got %v, want a SYN-ACK acking %d", sa, h.iss+1)
	}
	h.irs = sa.Seq()
	h.snd, h.una, h.rcv = h.iss+1, h.irs+1, h.irs+1
	return sa
}

// accept takes the connection from the listen queue without sleeping.
func (h *tcpHarness) accept() *socket.Socket {
	h.t.Helper()
	so, err := h.ls.ListenDequeue(bg, socket.MSG_DONTWAIT)
	if err != nil {
		h.t.Fatalf("accept: %v", err)
	}
	h.t.Cleanup(func() { so.Close() })
	return so
}

// established completes a passive open: SYN (MSS 1460, no other option),
// SYN-ACK, ACK, and accept.
func (h *tcpHarness) established() {
	h.t.Helper()
	h.synRcvd(optMSS(1460))
	h.send(tseg{flags: fACK, seq: h.snd, ack: h.rcv, win: 65535})
	h.expectNone("the handshake's last ACK needs no answer")
	h.so = h.accept()
	if st := tcpStateOf(h.t, h.so); st != tcpsEstablished {
		h.t.Fatalf("after the handshake: %s", tcpStateNames[st])
	}
}

// synSent starts an active open from 10.0.0.1:5000 to the peer's port 80
// and returns the stack's SYN.
func (h *tcpHarness) synSent() header.TCP {
	h.t.Helper()
	h.lport, h.pport = 5000, 80
	h.so = h.a.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
	if err := h.so.Bind(sa("10.0.0.1:5000")); err != nil {
		h.t.Fatal(err)
	}
	if err := h.so.Connect(sa("10.0.0.2:80")); err != nil {
		h.t.Fatal(err)
	}
	syn := h.expect("connect sends a SYN")
	if syn.Flags() != fSYN {
		h.t.Fatalf("connect sent %v, want a SYN", syn)
	}
	h.irs = syn.Seq()
	h.snd, h.rcv, h.una = h.iss, h.irs+1, h.irs+1
	return syn
}

// shutWR has the stack half-close (shutdown(SHUT_WR)) and checks its FIN.
func (h *tcpHarness) shutWR() {
	h.t.Helper()
	if err := h.so.Shutdown(socket.SHUT_WR); err != nil {
		h.t.Fatal(err)
	}
	h.check("shutdown(SHUT_WR) sends a FIN", h.expect("shutdown(SHUT_WR)"), segWant{fFIN | fACK, h.rcv, h.snd, 0})
	h.rcv++
}

// peerFIN has the peer send its FIN (acking everything) and checks the
// stack's ACK of it.
func (h *tcpHarness) peerFIN() {
	h.t.Helper()
	h.send(tseg{flags: fFIN | fACK, seq: h.snd, ack: h.rcv, win: 65535})
	h.snd++
	h.una = h.rcv
	h.check("a FIN is acknowledged at once", h.expect("the peer's FIN"), h.ack())
}

// peerACK has the peer acknowledge everything the stack sent.
func (h *tcpHarness) peerACK() {
	h.send(tseg{flags: fACK, seq: h.snd, ack: h.rcv, win: 65535})
	h.una = h.rcv
}

// tcpStateOf reads the connection's state from TCP_INFO.
func tcpStateOf(t *testing.T, so *socket.Socket) int {
	t.Helper()
	var info [TCPInfoLen]byte
	sopt := socket.Sockopt{Level: IPPROTO_TCP, Name: TCP_INFO, Val: info[:], Valsize: len(info)}
	if err := so.GetOpt(&sopt); err != nil {
		t.Fatalf("TCP_INFO: %v", err)
	}
	return int(info[0])
}

// Options, as a peer writes them.

func optMSS(v uint16) []byte { return []byte{header.TCPOptMSS, 4, byte(v >> 8), byte(v)} }
func optWS(shift byte) []byte {
	return []byte{header.TCPOptNOP, header.TCPOptWindowScale, 3, shift}
}
func optSACKOK() []byte {
	return []byte{header.TCPOptNOP, header.TCPOptNOP, header.TCPOptSACKPermitted, 2}
}
func cat(bs ...[]byte) []byte { return slices.Concat(bs...) }

// segOpts are the options found in a segment.
type segOpts struct {
	mss          int // 0: none
	ws           int // -1: none
	ts           bool
	tsVal, tsEcr uint32
	sackOK       bool
	sack         int // SACK blocks
	err          error
}

func optsOf(g header.TCP) segOpts { return optsOfBytes(g.Options()) }

func optsOfBytes(b []byte) segOpts {
	o := segOpts{ws: -1}
	o.err = header.TCPOptions(b, func(kind uint8, d []byte) {
		switch kind {
		case header.TCPOptMSS:
			if len(d) == 2 {
				o.mss = int(binary.BigEndian.Uint16(d))
			}
		case header.TCPOptWindowScale:
			if len(d) == 1 {
				o.ws = int(d[0])
			}
		case header.TCPOptTimestamp:
			if len(d) == 8 {
				o.ts = true
				o.tsVal, o.tsEcr = binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:])
			}
		case header.TCPOptSACKPermitted:
			o.sackOK = true
		case header.TCPOptSACK:
			o.sack = len(d) / 8
		}
	})
	return o
}

// TestTCPHandshakePassive checks the SYN-ACK a listener sends for SYNs
// with various options, the options of the segments that follow, and the
// sizes of the data segments the negotiated MSS allows.
func TestTCPHandshakePassive(t *testing.T) {
	const peerTS = 0x01020304
	for _, tc := range []struct {
		name     string
		opts     []byte
		ws, ts   bool // the SYN-ACK must carry window scale, timestamps
		dataMax  int  // largest data segment afterwards
		peerWS   int  // the peer's shift, for the window it advertises
		peerWin  int  // the window the peer's ACK advertises, unscaled
		sendSize int
	}{
		// RFC 9293 3.7.1: MSS 1460 on a 1500-byte link; RFC 7323 2 and 3:
		// window scale and timestamps answered because offered.
		{"all options", cat(optMSS(1460), optWS(7), optSACKOK(), tsOpt(peerTS, 0)), true, true, 1460 - 12, 7, 1000, 20000},
		// RFC 7323 1.3: no window scale and no timestamps unless offered;
		// RFC 2018 2: no SACK-permitted unless offered.
		{"MSS only", optMSS(1460), false, false, 1460, 0, 65535, 20000},
		// RFC 9293 3.7.1: without an MSS option the send MSS is 536.
		{"no options", nil, false, false, 536, 0, 65535, 5000},
		{"MSS 1000", optMSS(1000), false, false, 1000, 0, 65535, 5000},
		{"MSS 1000 with timestamps", cat(optMSS(1000), tsOpt(peerTS, 0)), false, true, 1000 - 12, 0, 65535, 5000},
		// RFC 7323 2.3: a shift above 14 is taken as 14.
		{"window scale 15", cat(optMSS(1460), optWS(15)), true, false, 1460, 14, 1, 20000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newTCPHarness(t)
				sa := h.synRcvd(tc.opts)
				o := optsOf(sa)
				if o.err != nil {
					t.Errorf("SYN-ACK options: %v", o.err)
				}
				if o.mss != 1460 {
					t.Errorf("SYN-ACK MSS %d, want 1460 (MTU 1500 less 40)", o.mss)
				}
				if (o.ws >= 0) != tc.ws || o.ws > 14 {
					t.Errorf("SYN-ACK window scale %d, want present=%v and at most 14", o.ws, tc.ws)
				}
				if o.ts != tc.ts || tc.ts && o.tsEcr != peerTS {
					t.Errorf("SYN-ACK timestamps %v (TSecr %#x), want present=%v echoing %#x", o.ts, o.tsEcr, tc.ts, peerTS)
				}
				if offered := optsOfBytes(tc.opts).sackOK; o.sackOK != offered {
					t.Errorf("SYN-ACK SACK-permitted %v, want %v: answered exactly when offered (RFC 2018 2)", o.sackOK, offered)
				}
				if sa.Window() == 0 {
					t.Errorf("SYN-ACK window 0")
				}
				// The ACK completing the handshake, with the peer's window.
				var tso []byte
				if tc.ts {
					tso = tsOpt(peerTS+1, o.tsVal)
				}
				h.send(tseg{flags: fACK, seq: h.snd, ack: h.rcv, win: uint16(tc.peerWin), opts: tso})
				h.expectNone("the handshake's last ACK needs no answer")
				h.so = h.accept()
				data := make([]byte, tc.sendSize)
				if _, err := write(h.so, data, 0); err != nil {
					t.Fatal(err)
				}
				segs := h.sent()
				if len(segs) == 0 {
					t.Fatal("no data sent")
				}
				total := 0
				for i, g := range segs {
					n := len(g.Payload())
					total += n
					if n > tc.dataMax {
						t.Errorf("segment %d carries %d bytes, more than the MSS allows (%d)", i, n, tc.dataMax)
					}
					so := optsOf(g)
					if so.ts != tc.ts {
						t.Errorf("segment %d: timestamps %v, want %v (RFC 7323 3.2: on every segment once agreed)", i, so.ts, tc.ts)
					}
					if tc.ts && so.tsEcr != peerTS+1 {
						t.Errorf("segment %d: TSecr %#x, want %#x", i, so.tsEcr, peerTS+1)
					}
					if so.mss != 0 || so.ws >= 0 || so.sackOK {
						t.Errorf("segment %d carries SYN-only options: %+v", i, so)
					}
				}
				// The peer's window (scaled by its shift, at most 14) limits
				// what is sent, as does the initial window.
				win := tc.peerWin << min(tc.peerWS, 14)
				if !tc.ws {
					win = tc.peerWin
				}
				if total > win || total == 0 {
					t.Errorf("%d bytes sent into a window of %d", total, win)
				}
				if tc.peerWS == 14 && total <= 1 {
					t.Errorf("a shift of 15 was not taken as 14: %d bytes sent into a window of 1<<14", total)
				}
			})
		})
	}
}

// TestTCPHandshakeActive checks the SYN connect sends and the ACK that
// completes the handshake, for SYN-ACKs with and without options.
func TestTCPHandshakeActive(t *testing.T) {
	const peerTS = 0x7ffffff0
	for _, tc := range []struct {
		name   string
		opts   []byte
		ws, ts bool // agreed
		mss    int  // send MSS then
	}{
		{"all options", cat(optMSS(1000), optWS(2), tsOpt(peerTS, 0)), true, true, 1000 - 12},
		{"no window scale", cat(optMSS(1460), tsOpt(peerTS, 0)), false, true, 1460 - 12},
		{"no timestamps", cat(optMSS(1460), optWS(0)), true, false, 1460},
		{"no options", nil, false, false, 536},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newTCPHarness(t)
				syn := h.synSent()
				o := optsOf(syn)
				if o.err != nil || o.mss != 1460 || o.ws < 0 || o.ws > 14 || !o.ts || o.tsEcr != 0 || !o.sackOK {
					t.Fatalf("SYN options %+v: want MSS 1460, window scale at most 14, timestamps with TSecr 0, SACK-permitted", o)
				}
				if syn.Ack() != 0 || syn.Window() == 0 {
					t.Errorf("SYN: ack field %d (want 0 without ACK), window %d", syn.Ack(), syn.Window())
				}
				h.send(tseg{flags: fSYN | fACK, seq: h.iss, ack: h.rcv, win: 65535, opts: tc.opts})
				h.snd = h.iss + 1
				ack := h.expect("a SYN-ACK is acknowledged")
				h.check("the handshake's last ACK", ack, h.ack())
				ao := optsOf(ack)
				if ao.ts != tc.ts || tc.ts && ao.tsEcr != peerTS {
					t.Errorf("ACK timestamps %v TSecr %#x, want %v echoing %#x", ao.ts, ao.tsEcr, tc.ts, peerTS)
				}
				if ao.mss != 0 || ao.ws >= 0 {
					t.Errorf("ACK carries SYN-only options: %+v", ao)
				}
				// RFC 7323 2.2: the window is scaled only when both sides
				// sent the option; the receive buffer is 64 KiB.
				rb := h.so.Rcv.Hiwat()
				if w := int(ack.Window()); !tc.ws && w != min(rb, 65535) || tc.ws && w != rb>>o.ws {
					t.Errorf("ACK window %d, want %d bytes of buffer at shift %d (scaling agreed: %v)", w, rb, o.ws, tc.ws)
				}
				if err := h.so.WaitConnected(bg); err != nil {
					t.Fatal(err)
				}
				write(h.so, make([]byte, 3000), 0)
				for i, g := range h.sent() {
					if n := len(g.Payload()); n > tc.mss || n == 0 {
						t.Errorf("data segment %d: %d bytes, want 1 to %d", i, n, tc.mss)
					}
				}
			})
		})
	}
}

// Inputs for the state table, built from the harness's numbers.
const (
	inSYN        = "SYN in window"
	inRSTExact   = "RST at RCV.NXT"
	inRSTWindow  = "RST in window, not at RCV.NXT"
	inRSTOutside = "RST outside the window"
	inFIN        = "FIN"
	inBeyond     = "data beyond the window"
	inOld        = "old data"
	inBadACK     = "ACK of unsent data"
	inOldACK     = "ACK too old"
)

var stateInputs = []string{inSYN, inRSTExact, inRSTWindow, inRSTOutside, inFIN, inBeyond, inOld, inBadACK, inOldACK}

// input returns the segment for an input name. In SYN_SENT the peer has
// no window yet: its "exact" RST is one with an acceptable ACK, the
// "in-window" one has an unacceptable ACK and the "outside" one no ACK at
// all (RFC 9293 3.10.7.3). The FIN of a peer that sent one already is a
// retransmission.
func (h *tcpHarness) input(name string, state int, finRcvd bool) tseg {
	switch name {
	case inSYN:
		return tseg{flags: fSYN, seq: h.snd + 10, win: 65535, opts: optMSS(1460)}
	case inRSTExact:
		if state == tcpsSynSent {
			return tseg{flags: fRST | fACK, seq: h.snd, ack: h.rcv}
		}
		return tseg{flags: fRST, seq: h.snd}
	case inRSTWindow:
		if state == tcpsSynSent {
			return tseg{flags: fRST | fACK, seq: h.snd, ack: h.rcv + 100}
		}
		return tseg{flags: fRST, seq: h.snd + 100}
	case inRSTOutside:
		if state == tcpsSynSent {
			return tseg{flags: fRST, seq: h.snd}
		}
		return tseg{flags: fRST, seq: h.snd + 1<<30}
	case inFIN:
		seq := h.snd
		if finRcvd {
			seq--
		}
		return tseg{flags: fFIN | fACK, seq: seq, ack: h.una, win: 65535}
	case inBeyond:
		return tseg{flags: fACK | fPSH, seq: h.snd + 1<<24, ack: h.una, win: 65535, data: []byte("far")}
	case inOld:
		return tseg{flags: fACK | fPSH, seq: h.snd - 1000, ack: h.una, win: 65535, data: []byte("old")}
	case inBadACK:
		return tseg{flags: fACK | fPSH, seq: h.snd, ack: h.rcv + 100000, win: 65535, data: []byte("bad")}
	case inOldACK:
		// RFC 5961 5.2: below SND.UNA - MAX.SND.WND.
		return tseg{flags: fACK | fPSH, seq: h.snd, ack: h.una - 1<<30, win: 65535, data: []byte("bad")}
	}
	panic(name)
}

// Answers.
const (
	rNone        = iota // nothing
	rAck                // an ACK with the stack's numbers (RFC 9293 "send an ACK", RFC 5961 challenge ACK)
	rAckFin             // an ACK acknowledging the peer's FIN
	rRstSegAck          // <SEQ=SEG.ACK><CTL=RST>
	rSynAck             // SYN-ACK, acking the SYN received
	rSynAckOrAck        // the SYN-ACK again, or a challenge ACK
	rAny                // not checked
)

var answerNames = [...]string{"nothing", "ACK", "ACK of the FIN", "RST <SEQ=SEG.ACK>", "SYN-ACK", "SYN-ACK or ACK", "anything"}

// answer is what a state does with an input: the reply, the state after
// (-1: not checked) and the socket's pending error after (0: none
// checked).
type answer struct {
	reply int
	after int
	err   syscall.Errno
}

// synchronizedAnswers are RFC 9293 3.10.7.4's and RFC 5961's answers in
// the synchronized states (FreeBSD's tcp_do_segment): a SYN, an RST in
// the window but not at RCV.NXT and an ACK of unsent data earn an ACK, as
// does data outside the window; an RST outside the window is dropped; an
// RST at RCV.NXT closes the connection.
func synchronizedAnswers(state int, finState int, rstErr syscall.Errno) map[string]answer {
	return map[string]answer{
		inSYN:        {rAck, state, 0},
		inRSTExact:   {rNone, tcpsClosed, rstErr},
		inRSTWindow:  {rAck, state, 0},
		inRSTOutside: {rNone, state, 0},
		inFIN:        {rAckFin, finState, 0},
		inBeyond:     {rAck, state, 0},
		inOld:        {rAck, state, 0},
		inBadACK:     {rAck, state, 0},
		inOldACK:     {rAck, state, 0},
	}
}

// withFIN adjusts answers for a state that has the peer's FIN already:
// the retransmitted FIN earns a plain ACK and changes nothing.
func withFIN(m map[string]answer, state int) map[string]answer {
	m[inFIN] = answer{rAck, state, 0}
	return m
}

// TestTCPStateAnswers is the state table: each state's answer to a SYN,
// RSTs in and out of the window, a FIN, data outside the window and an
// ACK of unsent data, and the state it is in afterwards.
func TestTCPStateAnswers(t *testing.T) {
	listenAnswers := map[string]answer{
		// RFC 9293 3.10.7.2: a RST is ignored, anything with ACK earns
		// <SEQ=SEG.ACK><CTL=RST>, a SYN a SYN-ACK.
		inSYN:        {rSynAck, tcpsListen, 0},
		inRSTExact:   {rNone, tcpsListen, 0},
		inRSTWindow:  {rNone, tcpsListen, 0},
		inRSTOutside: {rNone, tcpsListen, 0},
		inFIN:        {rRstSegAck, tcpsListen, 0},
		inBeyond:     {rRstSegAck, tcpsListen, 0},
		inOld:        {rRstSegAck, tcpsListen, 0},
		inBadACK:     {rRstSegAck, tcpsListen, 0},
		inOldACK:     {rRstSegAck, tcpsListen, 0},
	}
	synSentAnswers := map[string]answer{
		// RFC 9293 3.10.7.3 (and tcp_input.c's TCPS_SYN_SENT case): a
		// SYN without ACK is a simultaneous open; an RST counts only
		// with an acceptable ACK; without SYN nothing else is taken; an
		// unacceptable ACK earns a RST.
		inSYN:        {rSynAck, tcpsSynReceived, 0},
		inRSTExact:   {rNone, tcpsClosed, syscall.ECONNREFUSED},
		inRSTWindow:  {rNone, tcpsSynSent, 0},
		inRSTOutside: {rNone, tcpsSynSent, 0},
		inFIN:        {rNone, tcpsSynSent, 0},
		inBeyond:     {rNone, tcpsSynSent, 0},
		inOld:        {rNone, tcpsSynSent, 0},
		inBadACK:     {rRstSegAck, tcpsSynSent, 0},
		inOldACK:     {rRstSegAck, tcpsSynSent, 0},
	}
	synRcvdAnswers := map[string]answer{
		// A SYN gets the SYN-ACK again (FreeBSD's syncache) or a
		// challenge ACK (RFC 5961 4.2); an RST at RCV.NXT ends the
		// embryonic connection and one elsewhere in the window gets a
		// challenge ACK (RFC 5961 3.2); an ACK that does not acknowledge
		// the SYN-ACK gets <SEQ=SEG.ACK><CTL=RST> and leaves the
		// connection as it was (RFC 9293 3.10.7.4 fifth); a FIN with the
		// right ACK establishes and half-closes at once. What answers
		// data outside the window differs between the RFC (an ACK) and
		// FreeBSD's syncache (a RST), so it is not checked.
		inSYN:        {rSynAckOrAck, tcpsSynReceived, 0},
		inRSTExact:   {rNone, tcpsClosed, 0},
		inRSTWindow:  {rAck, tcpsSynReceived, 0},
		inRSTOutside: {rNone, tcpsSynReceived, 0},
		inFIN:        {rAckFin, tcpsCloseWait, 0},
		inBeyond:     {rAny, -1, 0},
		inOld:        {rAny, -1, 0},
		inBadACK:     {rRstSegAck, tcpsSynReceived, 0},
		inOldACK:     {rRstSegAck, tcpsSynReceived, 0},
	}
	timeWait := synchronizedAnswers(tcpsTimeWait, tcpsTimeWait, 0)
	withFIN(timeWait, tcpsTimeWait)
	// FreeBSD's tcp_twcheck: every RST is dropped (RFC 1337, TIME-WAIT
	// assassination), and a SYN above RCV.NXT ends the TIME_WAIT and is
	// taken by the listener as a new connection (RFC 9293 3.10.7.4 allows
	// new connections from TIME-WAIT).
	timeWait[inSYN] = answer{rSynAck, tcpsClosed, 0}
	timeWait[inRSTExact] = answer{rNone, tcpsTimeWait, 0}
	timeWait[inRSTWindow] = answer{rNone, tcpsTimeWait, 0}

	for _, st := range []struct {
		state   int
		setup   func(h *tcpHarness)
		finRcvd bool
		answers map[string]answer
	}{
		{tcpsListen, func(h *tcpHarness) {
			h.listen(5)
			h.passive = true
			h.snd, h.una, h.rcv = h.iss, 123456, 123456
		}, false, listenAnswers},
		{tcpsSynSent, func(h *tcpHarness) { h.synSent() }, false, synSentAnswers},
		{tcpsSynReceived, func(h *tcpHarness) { h.synRcvd(optMSS(1460)) }, false, synRcvdAnswers},
		{tcpsEstablished, (*tcpHarness).established, false,
			synchronizedAnswers(tcpsEstablished, tcpsCloseWait, syscall.ECONNRESET)},
		{tcpsFinWait1, func(h *tcpHarness) { h.established(); h.shutWR() }, false,
			synchronizedAnswers(tcpsFinWait1, tcpsClosing, syscall.ECONNRESET)},
		{tcpsFinWait2, func(h *tcpHarness) { h.established(); h.shutWR(); h.peerACK() }, false,
			synchronizedAnswers(tcpsFinWait2, tcpsTimeWait, syscall.ECONNRESET)},
		{tcpsCloseWait, func(h *tcpHarness) { h.established(); h.peerFIN() }, true,
			withFIN(synchronizedAnswers(tcpsCloseWait, 0, syscall.ECONNRESET), tcpsCloseWait)},
		{tcpsClosing, func(h *tcpHarness) {
			h.established()
			h.shutWR()
			// The peer's FIN crosses ours: it does not acknowledge it.
			h.send(tseg{flags: fFIN | fACK, seq: h.snd, ack: h.una, win: 65535})
			h.snd++
			h.check("FIN in FIN_WAIT_1", h.expect("FIN in FIN_WAIT_1"), h.ack())
		}, true, withFIN(synchronizedAnswers(tcpsClosing, 0, 0), tcpsClosing)},
		{tcpsLastAck, func(h *tcpHarness) { h.established(); h.peerFIN(); h.shutWR() }, true,
			withFIN(synchronizedAnswers(tcpsLastAck, 0, 0), tcpsLastAck)},
		{tcpsTimeWait, func(h *tcpHarness) { h.established(); h.shutWR(); h.peerACK(); h.peerFIN() }, true, timeWait},
	} {
		for _, in := range stateInputs {
			want, ok := st.answers[in]
			if !ok {
				continue
			}
			t.Run(tcpStateNames[st.state]+"/"+in, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					h := newTCPHarness(t)
					st.setup(h)
					if got := h.stateNow(false); got != st.state {
						t.Fatalf("setup reached %s, want %s", tcpStateNames[got], tcpStateNames[st.state])
					}
					h.sent()
					seg := h.input(in, st.state, st.finRcvd)
					h.send(seg)
					h.checkAnswer(seg, want.reply)
					if want.after >= 0 {
						if got := h.stateNow(true); got != want.after {
							t.Errorf("after %v: state %s, want %s", seg, tcpStateNames[got], tcpStateNames[want.after])
						}
					}
					if want.err != 0 {
						if got := h.so.Error(); got != want.err {
							t.Errorf("after %v: socket error %v, want %v", seg, got, want.err)
						}
					}
					if in == inBadACK || in == inOldACK || in == inBeyond || in == inOld {
						h.checkNoData(seg)
					}
				})
			})
		}
	}
}

// checkAnswer checks the stack's reply to seg against kind.
func (h *tcpHarness) checkAnswer(seg tseg, kind int) {
	h.t.Helper()
	segs := h.sent()
	why := fmt.Sprintf("answer to %v", seg)
	one := func() header.TCP {
		h.t.Helper()
		if len(segs) != 1 {
			h.t.Fatalf("%s: the stack sent %v, want %s", why, segs, answerNames[kind])
		}
		return segs[0]
	}
	switch kind {
	case rAny:
	case rNone:
		if len(segs) != 0 {
			h.t.Fatalf("%s: the stack sent %v, want nothing", why, segs)
		}
	case rAck:
		h.check(why, one(), h.ack())
	case rAckFin:
		h.snd = seg.seq + uint32(len(seg.data)) + 1
		h.una = seg.ack
		h.check(why, one(), h.ack())
	case rRstSegAck:
		h.check(why, one(), segWant{fRST, seg.ack, 0, 0})
	case rSynAck:
		g := one()
		h.check(why, g, segWant{fSYN | fACK, g.Seq(), seg.seq + 1, 0})
		if !h.passive && g.Seq() != h.irs { // simultaneous open: our SYN again, acking theirs
			h.t.Errorf("%s: SYN-ACK with sequence number %d, want the ISS %d", why, g.Seq(), h.irs)
		}
	case rSynAckOrAck:
		g := one()
		if !(segWant{fSYN | fACK, h.irs, h.snd, 0}).match(g) && !h.ack().match(g) {
			h.t.Fatalf("%s: got %v, want %v or %v", why, g, segWant{fSYN | fACK, h.irs, h.snd, 0}, h.ack())
		}
	}
}

// stateNow returns the connection's state. Without a socket (a passive
// connection not yet accepted) it looks in the listen queue and, when the
// connection is not there, completes the handshake to find out whether it
// was still in SYN_RCVD (reported as such) or gone (CLOSED); probing is
// false before the input under test, when nothing is sent.
func (h *tcpHarness) stateNow(probe bool) int {
	h.t.Helper()
	if h.so != nil {
		return tcpStateOf(h.t, h.so)
	}
	if h.ls != nil && h.snd == h.iss {
		return tcpsListen // no connection: the listener's state
	}
	if so, err := h.ls.ListenDequeue(bg, socket.MSG_DONTWAIT); err == nil {
		h.t.Cleanup(func() { so.Close() })
		h.so = so
		return tcpStateOf(h.t, so)
	}
	if !probe {
		return tcpsSynReceived
	}
	h.sent()
	h.send(tseg{flags: fACK, seq: h.snd, ack: h.irs + 1, win: 65535})
	for _, g := range h.sent() {
		if g.Flags()&fRST != 0 {
			return tcpsClosed
		}
	}
	so, err := h.ls.ListenDequeue(bg, socket.MSG_DONTWAIT)
	if err != nil {
		h.t.Fatalf("probe: the completing ACK got no RST and made no connection: %v", err)
	}
	h.t.Cleanup(func() { so.Close() })
	h.so = so
	if st := tcpStateOf(h.t, so); st != tcpsEstablished {
		h.t.Fatalf("probe: the completing ACK made a connection in %s", tcpStateNames[st])
	}
	return tcpsSynReceived
}

// checkNoData fails if the stack's socket has data to read: the segment
// carried some that must not have been taken.
func (h *tcpHarness) checkNoData(seg tseg) {
	h.t.Helper()
	if h.so == nil || h.so.Listening() {
		return
	}
	buf := make([]byte, 16)
	n, err := read(h.so, buf, socket.MSG_DONTWAIT)
	if n > 0 {
		h.t.Errorf("after %v: %q was delivered", seg, buf[:n])
	} else if err != nil && !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.ENOTCONN) {
		h.t.Errorf("after %v: read: %v", seg, err)
	}
}

// stamped is a segment from the stack and when it was sent.
type stamped struct {
	at  time.Duration // since the harness's clock started
	seg header.TCP
}

// clock records when each segment from the stack is sent, in virtual
// time since start; it wraps the sniffer's hook. answer, when set, is
// called with each segment (in the sender's goroutine, holding no lock of
// the stack's) and may inject the peer's reply, as a peer stack on the
// cable would.
type clock struct {
	h      *tcpHarness
	start  time.Time
	answer func(g header.TCP)
	mu     sync.Mutex
	log    []stamped
}

// startClock starts recording the stack's segments with their times.
func (h *tcpHarness) startClock(answer func(g header.TCP)) *clock {
	ck := &clock{h: h, start: time.Now(), answer: answer}
	h.c.setHook(func(from int, frame []byte) bool {
		pass := h.sn.hook(from, frame)
		if from != 0 || len(frame) < 34 || frame[23] != header.ProtoTCP {
			return pass
		}
		g := h.sn.last(0)
		ck.mu.Lock()
		ck.log = append(ck.log, stamped{time.Since(ck.start), g})
		answer := ck.answer
		ck.mu.Unlock()
		if answer != nil {
			answer(g)
		}
		return pass
	})
	return ck
}

// stamps returns what was recorded so far.
func (ck *clock) stamps() []stamped {
	ck.mu.Lock()
	defer ck.mu.Unlock()
	return slices.Clone(ck.log)
}

// TestTCPSynRetransmitInstants: an unanswered SYN is sent again after the
// initial RTO of 1 s (RFC 6298 2.1), then after doubling intervals (5.5),
// always the same SYN; connect gives up with ETIMEDOUT when
// net.inet.tcp.keepinit (75 s) runs out, sending no RST.
func TestTCPSynRetransmitInstants(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newTCPHarness(t)
		ck := h.startClock(nil)
		syn := h.synSent()
		err := h.so.WaitConnected(bg)
		if !errors.Is(err, syscall.ETIMEDOUT) {
			t.Fatalf("connect: %v, want ETIMEDOUT", err)
		}
		if d := time.Since(ck.start); d != h.a.s.TCPTunables().KeepInit {
			t.Errorf("connect gave up after %v, want keepinit %v", d, h.a.s.TCPTunables().KeepInit)
		}
		synctest.Wait()
		var at []time.Duration
		for _, s := range ck.stamps() {
			if s.seg.Flags() != fSYN || s.seg.Seq() != syn.Seq() || !slices.Equal(s.seg.Options(), syn.Options()) && !sameButTS(s.seg, syn) {
				t.Errorf("at %v: %v, want the SYN again", s.at, s.seg)
			}
			at = append(at, s.at)
		}
		want := []time.Duration{0, 1 * time.Second, 3 * time.Second, 7 * time.Second, 15 * time.Second, 31 * time.Second, 63 * time.Second}
		if !slices.Equal(at, want) {
			t.Errorf("SYNs at %v, want %v", at, want)
		}
	})
}

// sameButTS reports whether two segments' options differ at most in the
// timestamp value.
func sameButTS(a, b header.TCP) bool {
	oa, ob := optsOf(a), optsOf(b)
	oa.tsVal, ob.tsVal = 0, 0
	return oa == ob
}

// TestTCPSynAckRetransmit: a SYN-ACK that is not acknowledged is sent
// again after 1 s and then after doubling intervals; in the end the
// embryonic connection is dropped, and the handshake's ACK then gets a
// RST.
func TestTCPSynAckRetransmit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newTCPHarness(t)
		h.listen(5)
		ck := h.startClock(nil)
		sa0 := h.synRcvd(optMSS(1460))
		time.Sleep(10 * time.Minute)
		st := ck.stamps()
		if len(st) < 4 {
			t.Fatalf("SYN-ACK sent %d times, want the first and at least 3 retransmissions", len(st))
		}
		if r := st[len(st)-1].seg; r.Flags() == fRST && r.Seq() == h.rcv {
			st = st[:len(st)-1] // a block in SYN_RCVD dropped with tcp_drop resets
		}
		for i, s := range st {
			if s.seg.Flags() != fSYN|fACK || s.seg.Seq() != sa0.Seq() || s.seg.Ack() != h.iss+1 {
				t.Fatalf("transmission %d at %v: %v, want the SYN-ACK again", i, s.at, s.seg)
			}
			if i == 0 {
				continue
			}
			gap, want := s.at-st[i-1].at, time.Second
			if i > 1 {
				want = min(2*(st[i-1].at-st[i-2].at), 64*time.Second)
			}
			if gap != want {
				t.Errorf("retransmission %d after %v, want %v (RFC 6298 2.1 and 5.5)", i, gap, want)
			}
		}
		h.sent()
		h.send(tseg{flags: fACK, seq: h.snd, ack: h.rcv, win: 65535})
		h.check("the ACK of a forgotten SYN-ACK", h.expect("a late ACK"), segWant{fRST, h.rcv, 0, 0})
	})
}

// TestTCPDataRetransmitInstants: unacknowledged data is retransmitted
// after the RTO, which an RTT sample of zero puts at
// net.inet.tcp.rexmit_min, doubling each time up to 64 s (RFC 6298
// 2.4, 5.5, 5.7); after 12 retransmissions (TCP_MAXRXTSHIFT) the
// connection is reset and the socket gets ETIMEDOUT.
func TestTCPDataRetransmitInstants(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newTCPHarness(t)
		h.established()
		// An RTT sample (zero in virtual time): one byte, acknowledged at
		// once. (A passive open may take no sample from the handshake, as
		// FreeBSD's syncache takes none.)
		write(h.so, []byte("x"), 0)
		h.check("data", h.expect("one byte"), segWant{fACK | fPSH, h.rcv, h.snd, 1})
		h.rcv++
		h.peerACK()
		h.expectNone("an ACK of all data")
		ck := h.startClock(nil)
		if _, err := write(h.so, []byte("lost data"), 0); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4)
		if _, err := read(h.so, buf, 0); !errors.Is(err, syscall.ETIMEDOUT) {
			t.Fatalf("read: %v, want ETIMEDOUT", err)
		}
		synctest.Wait()
		tun := h.a.s.TCPTunables()
		st := ck.stamps()
		if len(st) != tun.RexmtShiftMax+2 {
			t.Fatalf("%d segments, want the data, %d retransmissions and a RST: %v", len(st), tun.RexmtShiftMax, st)
		}
		rto := tun.RexmtMin
		for i, s := range st {
			last := i == len(st)-1
			switch {
			case last:
				if s.seg.Flags()&fRST == 0 || s.seg.Seq() != h.rcv+9 {
					t.Errorf("last segment %v, want a RST at %d", s.seg, h.rcv+9)
				}
			case s.seg.Seq() != h.rcv || string(s.seg.Payload()) != "lost data":
				t.Errorf("transmission %d: %v, want the data at %d", i, s.seg, h.rcv)
			}
			if i == 0 {
				continue
			}
			if gap := s.at - st[i-1].at; gap != rto {
				t.Errorf("transmission %d after %v, want %v", i, gap, rto)
			}
			rto = min(2*rto, tun.RexmtMax)
		}
		if h.a.s.Stats.TCP.TimeoutDrop.Load() != 1 {
			t.Errorf("tcps_timeoutdrop %d, want 1", h.a.s.Stats.TCP.TimeoutDrop.Load())
		}
	})
}

// TestTCPZeroWindowProbes: against a zero window the stack sends one-byte
// probes, the first after 5 s (tcp_persmin) and then at intervals that
// never shrink and stay within 60 s (tcp_persmax; RFC 1122 4.2.2.17: they
// back off), and it keeps the connection as long as they are answered,
// however long the window stays shut; when it opens, the data follows
// from the first unacknowledged byte.
func TestTCPZeroWindowProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newTCPHarness(t)
		h.synRcvd(optMSS(1460))
		h.send(tseg{flags: fACK, seq: h.snd, ack: h.rcv, win: 0})
		h.so = h.accept()
		ck := h.startClock(func(g header.TCP) {
			if len(g.Payload()) > 0 {
				// A receiver with no room keeps the byte out and says so.
				h.send(tseg{flags: fACK, seq: h.snd, ack: h.rcv, win: 0})
			}
		})
		data := make([]byte, 1000)
		for i := range data {
			data[i] = byte(i)
		}
		if _, err := write(h.so, data, 0); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Minute)
		st := ck.stamps()
		if len(st) < 10 {
			t.Fatalf("%d probes in 10 minutes", len(st))
		}
		for i, s := range st {
			if len(s.seg.Payload()) != 1 || s.seg.Seq() != h.rcv || s.seg.Payload()[0] != data[0] {
				t.Fatalf("probe %d at %v: %v, want the first unacknowledged byte", i, s.at, s.seg)
			}
			gap := s.at
			if i > 0 {
				gap -= st[i-1].at
			}
			if i == 0 && gap != 5*time.Second || gap < 5*time.Second || gap > 60*time.Second {
				t.Errorf("probe %d after %v, want 5 s for the first, then 5 s to 60 s", i, gap)
			}
			if i > 1 && gap < st[i-1].at-st[i-2].at {
				t.Errorf("probe %d after %v, sooner than the one before", i, gap)
			}
		}
		if got := tcpStateOf(t, h.so); got != tcpsEstablished {
			t.Fatalf("after 10 minutes of answered probes: %s", tcpStateNames[got])
		}
		if h.a.s.Stats.TCP.SndProbe.Load() == 0 || h.a.s.Stats.TCP.PersistTimeo.Load() == 0 {
			t.Errorf("tcps_sndprobe %d, tcps_persisttimeo %d", h.a.s.Stats.TCP.SndProbe.Load(), h.a.s.Stats.TCP.PersistTimeo.Load())
		}
		ck.mu.Lock()
		ck.answer = nil
		ck.mu.Unlock()
		h.sent()
		h.send(tseg{flags: fACK, seq: h.snd, ack: h.rcv, win: 65535})
		// A timer's goroutine may be draining the input queue, taking
		// the segment after its own: wait until the bubble is idle.
		synctest.Wait()
		got := make([]byte, 0, len(data))
		next := h.rcv
		for _, g := range h.sent() {
			if g.Seq() != next {
				t.Fatalf("after the window opened: %v, want data at %d", g, next)
			}
			got = append(got, g.Payload()...)
			next += uint32(len(g.Payload()))
		}
		if !slices.Equal(got, data) {
			t.Fatalf("after the window opened: %d bytes sent, want the %d written", len(got), len(data))
		}
	})
}

// TestTCPReceiveZeroWindow: a receiver whose buffer is full advertises a
// zero window, answers a probe with an ACK that does not take its byte
// (RFC 9293 3.8.6.1), and sends a window update once the reader has made
// room.
func TestTCPReceiveZeroWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newTCPHarness(t)
		h.established()
		right := h.snd + 65535 // the window's right edge as last advertised
		chunk := make([]byte, 1000)
		sent := 0
		for i := 0; ; i++ {
			if i > 1000 {
				t.Fatal("the window never closed")
			}
			if n := min(len(chunk), int(right-h.snd)); n > 0 {
				h.send(tseg{flags: fACK, seq: h.snd, ack: h.rcv, win: 65535, data: chunk[:n]})
				h.snd += uint32(n)
				sent += n
			} else {
				time.Sleep(time.Second) // let a delayed ACK go
			}
			for _, g := range h.sent() {
				right = g.Ack() + uint32(g.Window())
			}
			if right == h.snd {
				break
			}
		}
		h.send(tseg{flags: fACK, seq: h.snd, ack: h.rcv, win: 65535, data: []byte{'p'}})
		a := h.expect("a probe of a zero window is answered")
		h.check("the answer to a probe", a, h.ack())
		if a.Window() != 0 {
			t.Errorf("the answer to a probe opens the window: %v", a)
		}
		if h.a.s.Stats.TCP.RcvWinProbe.Load() != 1 {
			t.Errorf("tcps_rcvwinprobe %d, want 1", h.a.s.Stats.TCP.RcvWinProbe.Load())
		}
		buf := make([]byte, sent+10)
		n, err := read(h.so, buf, socket.MSG_DONTWAIT)
		if err != nil || n != sent {
			t.Fatalf("read %d of %d: %v", n, sent, err)
		}
		synctest.Wait()
		upd := h.expect("the reader made room: a window update")
		h.check("window update", upd, h.ack())
		if upd.Window() < 1460 {
			t.Errorf("window update opens %d bytes, want at least an MSS (RFC 9293 3.8.6.2.2)", upd.Window())
		}
	})
}

// TestTCPKeepaliveInstants: with SO_KEEPALIVE, TCP_KEEPIDLE 10,
// TCP_KEEPINTVL 2 and TCP_KEEPCNT 3, an idle connection to a silent peer
// gets probes (<SEQ=SND.UNA-1><CTL=ACK>, RFC 1122 4.2.3.6) at 10, 12 and
// 14 s and is dropped at 16 s with a RST and ETIMEDOUT (FreeBSD's
// tcp_timer_keep); a peer that answers keeps it, probed every 10 s.
func TestTCPKeepaliveInstants(t *testing.T) {
	for _, answered := range []bool{false, true} {
		t.Run(fmt.Sprint("answered=", answered), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newTCPHarness(t)
				h.established()
				for _, o := range []struct{ level, name, v int }{
					{socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1},
					{IPPROTO_TCP, TCP_KEEPIDLE, 10},
					{IPPROTO_TCP, TCP_KEEPINTVL, 2},
					{IPPROTO_TCP, TCP_KEEPCNT, 3},
				} {
					if err := h.so.SetOptInt(o.level, o.name, o.v); err != nil {
						t.Fatal(err)
					}
				}
				var answer func(header.TCP)
				if answered {
					answer = func(g header.TCP) {
						h.send(tseg{flags: fACK, seq: h.snd, ack: h.rcv, win: 65535})
					}
				}
				ck := h.startClock(answer)
				probe := segWant{fACK, h.rcv - 1, h.snd, 0}
				if !answered {
					buf := make([]byte, 1)
					if _, err := read(h.so, buf, 0); !errors.Is(err, syscall.ETIMEDOUT) {
						t.Fatalf("read: %v, want ETIMEDOUT", err)
					}
					synctest.Wait()
					st := ck.stamps()
					want := []time.Duration{10 * time.Second, 12 * time.Second, 14 * time.Second, 16 * time.Second}
					if len(st) != len(want) {
						t.Fatalf("segments %v, want three probes and a RST", st)
					}
					for i, s := range st {
						if s.at != want[i] {
							t.Errorf("segment %d at %v, want %v", i, s.at, want[i])
						}
						if i < 3 && !probe.match(s.seg) {
							t.Errorf("probe %d: %v, want %v", i, s.seg, probe)
						}
					}
					if r := st[len(st)-1].seg; r.Flags()&fRST == 0 || r.Seq() != h.rcv {
						t.Errorf("last segment %v, want a RST at %d", r, h.rcv)
					}
					if h.a.s.Stats.TCP.KeepDrops.Load() != 1 || h.a.s.Stats.TCP.KeepProbe.Load() != 3 {
						t.Errorf("tcps_keepdrops %d, tcps_keepprobe %d", h.a.s.Stats.TCP.KeepDrops.Load(), h.a.s.Stats.TCP.KeepProbe.Load())
					}
					return
				}
				time.Sleep(5*time.Minute + time.Second)
				st := ck.stamps()
				if len(st) != 30 {
					t.Errorf("%d probes in 5 minutes, want 30", len(st))
				}
				for i, s := range st {
					if s.at != time.Duration(i+1)*10*time.Second || !probe.match(s.seg) {
						t.Errorf("segment %d at %v: %v, want %v at %v", i, s.at, s.seg, probe, time.Duration(i+1)*10*time.Second)
					}
				}
				if got := tcpStateOf(t, h.so); got != tcpsEstablished {
					t.Errorf("state %s after answered probes", tcpStateNames[got])
				}
			})
		})
	}
}

// TestTCPTimeWaitLifetime: the side that closes first stays in TIME_WAIT
// for 2·MSL, holding its address and port; a retransmitted FIN is
// acknowledged again and starts the 2·MSL over (RFC 9293 3.10.7.4,
// tcp_twcheck); afterwards the connection is gone (a segment for it gets
// a RST) and the port can be bound and connected from again.
func TestTCPTimeWaitLifetime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newTCPHarness(t)
		h.synSent()
		h.send(tseg{flags: fSYN | fACK, seq: h.iss, ack: h.rcv, win: 65535, opts: optMSS(1460)})
		h.snd = h.iss + 1
		h.check("handshake", h.expect("SYN-ACK"), h.ack())
		if err := h.so.WaitConnected(bg); err != nil {
			t.Fatal(err)
		}
		h.so.Close()
		h.check("close sends a FIN", h.expect("close"), segWant{fFIN | fACK, h.rcv, h.snd, 0})
		h.rcv++
		h.peerACK()
		h.expectNone("the ACK of our FIN")
		h.peerFIN()
		msl := h.a.s.TCPTunables().MSL
		if got := h.a.s.TCPConnections(); got != 1 {
			t.Fatalf("connections in TIME_WAIT: %d, want 1", got)
		}
		again := func() error {
			so, err := h.a.v.Create(socket.AF_INET, socket.SOCK_STREAM, 0, socket.RootCred())
			if err != nil {
				t.Fatal(err)
			}
			defer so.Close()
			if err := so.Bind(sa("10.0.0.1:5000")); err != nil {
				return fmt.Errorf("bind: %w", err)
			}
			if err := so.Connect(sa("10.0.0.2:80")); err != nil {
				return fmt.Errorf("connect: %w", err)
			}
			return nil
		}
		if err := again(); !errors.Is(err, syscall.EADDRINUSE) {
			t.Errorf("binding the address of a connection in TIME_WAIT: %v, want EADDRINUSE", err)
		}
		h.sent()
		time.Sleep(msl)
		if got := h.a.s.TCPConnections(); got != 1 {
			t.Fatalf("connections after 1 MSL: %d, want 1", got)
		}
		h.send(tseg{flags: fFIN | fACK, seq: h.snd - 1, ack: h.rcv, win: 65535})
		h.check("a retransmitted FIN in TIME_WAIT is acknowledged again", h.expect("FIN again"), h.ack())
		time.Sleep(2*msl - time.Second)
		if got := h.a.s.TCPConnections(); got != 1 {
			t.Fatalf("connections 2·MSL less 1 s after the retransmitted FIN: %d, want 1 (the timer starts over)", got)
		}
		time.Sleep(2 * time.Second)
		if got := h.a.s.TCPConnections(); got != 0 {
			t.Fatalf("connections 2·MSL after the retransmitted FIN: %d, want 0", got)
		}
		h.send(tseg{flags: fFIN | fACK, seq: h.snd - 1, ack: h.rcv, win: 65535})
		h.check("a segment for a connection past TIME_WAIT", h.expect("FIN after TIME_WAIT"), segWant{fRST, h.rcv, 0, 0})
		if err := again(); err != nil {
			t.Fatalf("the address after TIME_WAIT: %v", err)
		}
		if syn := h.expect("connect from the freed port"); syn.Flags() != fSYN || syn.SrcPort() != 5000 {
			t.Fatalf("connect from the freed port sent %v", syn)
		}
	})
}

// TestTCPMalformedSegments: segments too short for a TCP header, with a
// data offset below 20 or past the segment's end, or with a bad checksum,
// are dropped without an answer and counted (tcps_rcvshort,
// tcps_rcvbadoff, tcps_rcvbadsum); the connection they aimed at carries on.
func TestTCPMalformedSegments(t *testing.T) {
	for _, tc := range []struct {
		name    string
		make    func(h *tcpHarness) []byte
		counter func(st *TCPStats) uint64
	}{
		{"truncated header", func(h *tcpHarness) []byte {
			return h.raw(fACK, h.snd, h.rcv, nil, nil)[:12]
		}, func(st *TCPStats) uint64 { return st.RcvShort.Load() }},
		{"data offset 16", func(h *tcpHarness) []byte {
			b := h.raw(fACK, h.snd, h.rcv, nil, []byte("data"))
			header.TCP(b).SetDataOffset(16)
			return b
		}, func(st *TCPStats) uint64 { return st.RcvBadOff.Load() }},
		{"data offset 0", func(h *tcpHarness) []byte {
			b := h.raw(fACK, h.snd, h.rcv, nil, []byte("data"))
			header.TCP(b).SetDataOffset(0)
			return b
		}, func(st *TCPStats) uint64 { return st.RcvBadOff.Load() }},
		{"data offset past the end", func(h *tcpHarness) []byte {
			b := h.raw(fACK, h.snd, h.rcv, nil, []byte("data"))
			header.TCP(b).SetDataOffset(60)
			return b
		}, func(st *TCPStats) uint64 { return st.RcvBadOff.Load() }},
		{"bad checksum", func(h *tcpHarness) []byte {
			return h.raw(fACK, h.snd, h.rcv, nil, []byte("data"))
		}, func(st *TCPStats) uint64 { return st.RcvBadSum.Load() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newTCPHarness(t)
				h.established()
				st := &h.a.s.Stats.TCP
				before := tc.counter(st)
				b := tc.make(h)
				if tc.name == "bad checksum" {
					injectBadSum(h.c, b)
				} else {
					injectRaw(h.c, b)
				}
				synctest.Wait()
				h.expectNone("a malformed segment is dropped silently")
				if got := tc.counter(st); got != before+1 {
					t.Errorf("counter %d, want %d", got, before+1)
				}
				h.checkNoData(tseg{})
				// The connection is unharmed.
				h.send(tseg{flags: fACK | fPSH, seq: h.snd, ack: h.rcv, win: 65535, data: []byte("ok")})
				buf := make([]byte, 8)
				if n, err := read(h.so, buf, socket.MSG_DONTWAIT); err != nil || string(buf[:n]) != "ok" {
					t.Errorf("read after the malformed segment: %q %v", buf[:n], err)
				}
			})
		})
	}
}

// raw builds the peer's segment as bytes (checksum left for injectRaw).
func (h *tcpHarness) raw(flags uint8, seq, ack uint32, opts, data []byte) []byte {
	b := make([]byte, header.TCPMinLen+len(opts)+len(data))
	th := header.TCP(b)
	th.SetSrcPort(h.pport)
	th.SetDstPort(h.lport)
	th.SetSeq(seq)
	th.SetAck(ack)
	th.SetDataOffset(header.TCPMinLen + len(opts))
	th.SetFlags(flags)
	th.SetWindow(65535)
	copy(b[header.TCPMinLen:], opts)
	copy(b[header.TCPMinLen+len(opts):], data)
	return b
}

// injectBadSum is injectRaw with the TCP checksum off by one.
func injectBadSum(c *cable, seg []byte) {
	const ipl = header.IPv4MinLen
	b := make([]byte, header.EthernetLen+ipl+len(seg))
	e := header.Ethernet(b)
	e.SetDst(c.ends[0].HWAddr())
	e.SetSrc(c.ends[1].HWAddr())
	e.SetType(header.EtherTypeIPv4)
	src, dst := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.1")
	header.IPv4Fields{TotalLen: ipl + len(seg), TTL: 64, Protocol: header.ProtoTCP, Src: src, Dst: dst}.Encode(b[header.EthernetLen:])
	th := header.TCP(b[header.EthernetLen+ipl:])
	copy(th, seg)
	th.SetChecksum(0)
	th.SetChecksum(^header.Checksum(th, header.PseudoHeaderChecksum(header.ProtoTCP, src, dst, uint16(len(th)))) + 1)
	c.ends[0].Input(c.ends[0].Pool.CopyIn(mbuf.MT_DATA, b, 0))
}

// TestTCPOptionBombs: option lists that are long, malformed or repeated
// never stop a SYN from being answered or a segment's data from being
// taken. As in FreeBSD's tcp_dooptions, a walk ends at EOL or at an
// option whose length is below 2 or runs past the header, keeping what
// came before it; an option of a known kind with the wrong length is
// ignored (RFC 9293 3.2).
func TestTCPOptionBombs(t *testing.T) {
	nops := func(n int) []byte { return bytesOf(header.TCPOptNOP, n) }
	for _, tc := range []struct {
		name string
		opts []byte
		mss  int // the send MSS the SYN's options give
		ws   bool
	}{
		{"40 NOPs", nops(40), 536, false},
		{"NOPs then MSS", cat(nops(36), optMSS(1000)), 1000, false},
		{"MSS then zero-length option", cat(optMSS(1000), []byte{99, 0}, optMSS(500)), 1000, false},
		{"zero-length option then MSS", cat([]byte{99, 0}, optMSS(1000)), 536, false},
		{"length 1 then MSS", cat([]byte{99, 1}, optMSS(1000)), 536, false},
		{"length past the end", cat(optMSS(1000), []byte{99, 40, 0, 0}), 1000, false},
		{"kind without length", cat(optMSS(1000), nops(3), []byte{99}), 1000, false},
		{"MSS of length 3", cat([]byte{header.TCPOptMSS, 3, 4}, nops(1), optMSS(1000)), 1000, false},
		{"MSS of length 6", cat([]byte{header.TCPOptMSS, 6, 3, 0xe8, 0, 0}, nops(2)), 536, false},
		{"MSS of length 0", []byte{header.TCPOptMSS, 0, 3, 0xe8}, 536, false},
		{"ten MSS options", cat(optMSS(700), optMSS(700), optMSS(700), optMSS(700), optMSS(700),
			optMSS(700), optMSS(700), optMSS(700), optMSS(700), optMSS(700)), 700, false},
		{"EOL then MSS", cat([]byte{header.TCPOptEOL, 0, 0, 0}, optMSS(1000)), 536, false},
		{"window scale of length 4", cat(optMSS(1460), []byte{header.TCPOptWindowScale, 4, 7, 0}), 1460, false},
		{"window scale then garbage", cat(optMSS(1460), optWS(7), []byte{200, 255, 1, 1}), 1460, true},
		{"timestamps of length 8", cat(optMSS(1460), []byte{header.TCPOptTimestamp, 8, 1, 2, 3, 4, 5, 6}), 1460, false},
		// FreeBSD's tcp_mss_update takes an MSS of 0 as none, and raises
		// a tiny one to net.inet.tcp.minmss (216), so that a peer cannot
		// make the stack send one-byte segments.
		{"MSS 0", optMSS(0), 536, false},
		{"MSS 1", optMSS(1), 216, false},
		{"unknown kinds", cat([]byte{253, 4, 0xaa, 0xbb, 254, 6, 1, 2, 3, 4}, nops(2), optMSS(1000)), 1000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newTCPHarness(t)
				sa := h.synRcvd(tc.opts)
				if o := optsOf(sa); (o.ws >= 0) != tc.ws {
					t.Errorf("SYN-ACK window scale %d, want present=%v", o.ws, tc.ws)
				}
				// Data segments on the connection carry a bomb too.
				h.send(tseg{flags: fACK, seq: h.snd, ack: h.rcv, win: 65535, opts: tc.opts})
				h.so = h.accept()
				h.send(tseg{flags: fACK | fPSH, seq: h.snd, ack: h.rcv, win: 65535, opts: tc.opts, data: []byte("payload")})
				buf := make([]byte, 16)
				if n, err := read(h.so, buf, socket.MSG_DONTWAIT); err != nil || string(buf[:n]) != "payload" {
					t.Errorf("data behind the options: %q %v", buf[:n], err)
				}
				h.sent()
				write(h.so, make([]byte, 3000), 0)
				segs := h.sent()
				for i, g := range segs {
					if n := len(g.Payload()); n > tc.mss || n < min(64, tc.mss) && i < len(segs)-1 {
						t.Errorf("data segment %d: %d bytes, want 64 to %d", i, n, tc.mss)
					}
				}
			})
		})
	}
}

func bytesOf(b byte, n int) []byte {
	s := make([]byte, n)
	for i := range s {
		s[i] = b
	}
	return s
}

// TestTCPSynFloodBounded: thousands of SYNs from ports that never complete the
// handshake cost a bounded number of connections and bounded memory;
// every SYN is answered or counted as dropped; once the embryonic
// connections time out, a real client gets through.
func TestTCPSynFloodBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newTCPHarness(t)
		const backlog, n = 16, 5000
		h.listen(backlog)
		st := &h.a.s.Stats.TCP
		rcv0, drop0 := st.RcvTotal.Load(), st.ListenDrop.Load()
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		for i := range n {
			h.pport = uint16(10000 + i)
			h.send(tseg{flags: fSYN, seq: uint32(i) * 7919, win: 65535, opts: optMSS(1460)})
		}
		answered := map[uint16]bool{}
		for _, g := range h.sent() {
			if g.Flags() == fSYN|fACK {
				answered[g.DstPort()] = true
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		if got := st.RcvTotal.Load() - rcv0; got != n {
			t.Errorf("tcps_rcvtotal moved by %d, want %d", got, n)
		}
		if got := uint64(len(answered)) + st.ListenDrop.Load() - drop0; got < n {
			t.Errorf("%d SYNs answered and %d counted as listen drops: %d of %d unaccounted for",
				len(answered), st.ListenDrop.Load()-drop0, n-int(got), n)
		}
		if got := h.a.s.TCPConnections(); got > 1+2*backlog {
			t.Errorf("%d control blocks after %d SYNs, want at most %d", got, n, 1+2*backlog)
		}
		if grew := int64(m1.HeapAlloc) - int64(m0.HeapAlloc); grew > 16<<20 {
			t.Errorf("heap grew by %d bytes for %d SYNs", grew, n)
		}
		t.Logf("%d SYNs: %d answered, %d listen drops, %d control blocks, heap %+d bytes",
			n, len(answered), st.ListenDrop.Load()-drop0, h.a.s.TCPConnections(), int64(m1.HeapAlloc)-int64(m0.HeapAlloc))
		time.Sleep(3 * time.Minute)
		if got := h.a.s.TCPConnections(); got != 1 {
			t.Errorf("%d control blocks after the embryonic connections timed out, want the listener's", got)
		}
		h.pport, h.iss = 9999, 0x12345678
		h.sent()
		h.established()
	})
}

// TestTCPReassemblyBound: a flood of one-byte out-of-order segments fills
// the reassembly queue only up to net.inet.tcp.reass.maxqueuelen (the
// rest are dropped and counted), and once the holes are filled the
// stream arrives whole and in order.
func TestTCPReassemblyBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newTCPHarness(t)
		h.established()
		const k = 3000
		data := make([]byte, 2*k+1)
		for i := range data {
			data[i] = byte(i * 13)
		}
		for i := range k {
			off := 1 + 2*i
			h.send(tseg{flags: fACK, seq: h.snd + uint32(off), ack: h.rcv, win: 65535, data: data[off : off+1]})
		}
		st := &h.a.s.Stats.TCP
		if st.RcvReassFull.Load() == 0 || st.RcvOOPack.Load() == 0 {
			t.Errorf("tcps_rcvreassfull %d, tcps_rcvoopack %d after %d out-of-order segments", st.RcvReassFull.Load(), st.RcvOOPack.Load(), k)
		}
		for _, g := range h.sent() {
			if g.Ack() != h.snd || len(g.Payload()) != 0 {
				t.Fatalf("answer to out-of-order data: %v, want duplicate ACKs of %d", g, h.snd)
			}
		}
		for off := 0; off < len(data); off += 1000 {
			end := min(off+1000, len(data))
			h.send(tseg{flags: fACK, seq: h.snd + uint32(off), ack: h.rcv, win: 65535, data: data[off:end]})
		}
		got := make([]byte, len(data)+10)
		n, err := read(h.so, got, socket.MSG_DONTWAIT)
		if err != nil || !slices.Equal(got[:n], data) {
			t.Fatalf("read %d bytes (%v), want the %d sent, in order", n, err, len(data))
		}
	})
}

// optSACK is a SACK option with blocks relative to base.
func optSACK(base uint32, blocks ...[2]uint32) []byte {
	b := []byte{header.TCPOptNOP, header.TCPOptNOP, header.TCPOptSACK, byte(2 + 8*len(blocks))}
	for _, bl := range blocks {
		b = binary.BigEndian.AppendUint32(b, base+bl[0])
		b = binary.BigEndian.AppendUint32(b, base+bl[1])
	}
	return b
}

// TestTCPSackSender: a sender told by SACK that every segment but one
// arrived retransmits that one segment and none of the others (RFC 6675
// 5: loss after DupThresh SACKed segments above the hole; NextSeg rule 1).
func TestTCPSackSender(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newTCPHarness(t)
		h.synRcvd(cat(optMSS(1460), optSACKOK()))
		h.send(tseg{flags: fACK, seq: h.snd, ack: h.rcv, win: 65535})
		h.so = h.accept()
		const mss = 1460
		write(h.so, make([]byte, 10*mss), 0)
		segs := h.sent()
		if len(segs) != 10 {
			t.Fatalf("%d segments sent, want the initial window's 10", len(segs))
		}
		base := h.rcv
		// Segment 0 arrives; 1 is lost; 2, 3 and 4 arrive, each answered
		// by a duplicate ACK with a growing block.
		h.send(tseg{flags: fACK, seq: h.snd, ack: base + mss, win: 65535})
		for k := 3; k <= 5; k++ {
			h.send(tseg{flags: fACK, seq: h.snd, ack: base + mss, win: 65535, opts: optSACK(base, [2]uint32{2 * mss, uint32(k) * mss})})
		}
		var rexmit []header.TCP
		for _, g := range h.sent() {
			if g.Seq()-base < 10*mss && len(g.Payload()) > 0 {
				rexmit = append(rexmit, g)
			}
		}
		if len(rexmit) == 0 || rexmit[0].Seq() != base+mss || len(rexmit[0].Payload()) != mss {
			t.Fatalf("retransmissions %v, want segment 1 (seq %d) first", rexmit, base+mss)
		}
		for _, g := range rexmit {
			if off := g.Seq() - base; off >= 2*mss && off < 5*mss {
				t.Errorf("SACKed data retransmitted: %v", g)
			}
		}
		if h.a.s.Stats.TCP.SackRecovery.Load() == 0 {
			t.Errorf("no SACK recovery counted")
		}
	})
}

// TestTCPTimeWaitSYNReuse: FreeBSD's rule for reusing a TIME_WAIT
// four-tuple (tcp_twcheck): a SYN whose sequence number is above the old
// connection's RCV.NXT ends the TIME_WAIT and is taken by the listener as
// a new connection (RFC 9293 3.10.7.4 allows it; RFC 6191 refines it with
// timestamps). A SYN at or below RCV.NXT is an old duplicate: no new
// connection.
func TestTCPTimeWaitSYNReuse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newTCPHarness(t)
		h.established()
		h.shutWR() // the server closes first: TIME_WAIT on the listener's port
		h.peerACK()
		h.peerFIN()
		old := h.snd
		h.send(tseg{flags: fSYN, seq: old - 10, win: 65535, opts: optMSS(1460)})
		for _, g := range h.sent() {
			if g.Flags()&fSYN != 0 {
				t.Fatalf("an old SYN (below RCV.NXT) made a new connection: %v", g)
			}
		}
		seq := old + 100000
		h.send(tseg{flags: fSYN, seq: seq, win: 65535, opts: optMSS(1460)})
		g := h.expect("a new SYN on a TIME_WAIT four-tuple")
		if g.Flags() != fSYN|fACK || g.Ack() != seq+1 {
			t.Fatalf("answer %v, want a SYN-ACK acking %d", g, seq+1)
		}
		h.send(tseg{flags: fACK, seq: seq + 1, ack: g.Seq() + 1, win: 65535})
		so := h.accept()
		if st := tcpStateOf(t, so); st != tcpsEstablished {
			t.Fatalf("the new connection is %s", tcpStateNames[st])
		}
	})
}

// TestTCPDSACK: a receiver with SACK reports a duplicate segment
// in a D-SACK block, the first block of the ACK it sends, covering the
// duplicate even though it lies below the cumulative ACK (RFC 2883 4.1.1);
// a duplicate that overlaps out-of-order data is reported first, followed
// by the block it belongs to (4.1.3).
func TestTCPDSACK(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newTCPHarness(t)
		h.synRcvd(cat(optMSS(1460), optSACKOK()))
		h.send(tseg{flags: fACK, seq: h.snd, ack: h.rcv, win: 65535})
		h.so = h.accept()
		base := h.snd
		data := make([]byte, 3000)
		h.send(tseg{flags: fACK | fPSH, seq: base, ack: h.rcv, win: 65535, data: data[:1000]})
		time.Sleep(time.Second)
		h.sent()
		h.send(tseg{flags: fACK | fPSH, seq: base, ack: h.rcv, win: 65535, data: data[:1000]})
		a := h.expect("a duplicate segment is acknowledged at once")
		bl := sackBlocksOf(a)
		if len(bl) == 0 || bl[0] != [2]uint32{base, base + 1000} || a.Ack() != base+1000 {
			t.Fatalf("ACK of a duplicate: ack %d, blocks %v; want ack %d and a first block [%d, %d)",
				a.Ack(), bl, base+1000, base, base+1000)
		}
		// Out of order [2000, 3000), then a duplicate of [2000, 2500).
		h.send(tseg{flags: fACK | fPSH, seq: base + 2000, ack: h.rcv, win: 65535, data: data[2000:]})
		h.sent()
		h.send(tseg{flags: fACK | fPSH, seq: base + 2000, ack: h.rcv, win: 65535, data: data[2000:2500]})
		a = h.expect("a duplicate of out-of-order data")
		bl = sackBlocksOf(a)
		if len(bl) < 2 || bl[0] != [2]uint32{base + 2000, base + 2500} || bl[1] != [2]uint32{base + 2000, base + 3000} {
			t.Fatalf("blocks %v, want [%d, %d) then [%d, %d)", bl, base+2000, base+2500, base+2000, base+3000)
		}
	})
}

// sackBlocksOf returns a segment's SACK blocks, absolute.
func sackBlocksOf(g header.TCP) [][2]uint32 {
	var bl [][2]uint32
	header.TCPOptions(g.Options(), func(kind uint8, d []byte) {
		if kind != header.TCPOptSACK {
			return
		}
		for i := 0; i+8 <= len(d); i += 8 {
			bl = append(bl, [2]uint32{binary.BigEndian.Uint32(d[i:]), binary.BigEndian.Uint32(d[i+4:])})
		}
	})
	return bl
}
