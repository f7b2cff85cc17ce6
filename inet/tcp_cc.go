package inet

import (
	"math"
	"time"
)

// Congestion control modules (FreeBSD's mod_cc): NewReno (RFC 5681, 6582)
// and CUBIC (RFC 9438), chosen per stack (TCPTunables.CongestionControl,
// net.inet.tcp.cc.algorithm) and per socket (TCP_CONGESTION).
//
// A module owns cwnd and ssthresh at three moments: when an ACK advances
// snd_una outside recovery, when a congestion signal arrives (entering
// loss recovery, or a retransmission timeout), and when recovery ends. The
// recovery machinery itself (NewReno's partial ACKs, RFC 6675's pipe, RACK)
// is the connection's, not the module's.

// Congestion signals (cc_signal).
const (
	ccSigRecovery = iota // a loss was detected by duplicate ACKs, SACK or RACK
	ccSigRTO             // the retransmission timer fired
)

// ccAlgo is a congestion control module; its methods run with tp.mu held.
type ccAlgo interface {
	name() string
	// ackReceived grows cwnd for acked newly acknowledged bytes, outside
	// recovery (cc_ack_received).
	ackReceived(tp *tcpcb, acked uint32)
	// congSignal sets ssthresh (and cwnd for an RTO) on a loss signal.
	congSignal(tp *tcpcb, sig int)
	// postRecovery sets cwnd when recovery ends.
	postRecovery(tp *tcpcb)
}

// newCC makes the module called name, or nil when there is none.
func newCC(name string) ccAlgo {
	switch name {
	case "newreno":
		return ccNewReno{}
	case "cubic":
		return &ccCubic{}
	}
	return nil
}

// ccFlight is the data outstanding, for ssthresh on a loss.
func (tp *tcpcb) ccFlight() uint32 {
	return uint32(tp.sndMax - tp.sndUna)
}

// renoGrow is RFC 5681's growth: slow start by at most two segments per
// ACK (RFC 3465's L = 2), congestion avoidance by one segment per window.
func renoGrow(tp *tcpcb, acked uint32) {
	mss := uint32(tp.maxseg)
	if tp.cwnd <= tp.ssthresh {
		tp.cwnd += min(acked, 2*mss)
	} else {
		tp.cwnd += max(1, mss*mss/tp.cwnd)
	}
	tp.cwnd = min(tp.cwnd, uint32(tcpMaxWin)<<tp.sndScale)
}

// ccNewReno is NewReno (cc_newreno.c).
type ccNewReno struct{}

func (ccNewReno) name() string { return "newreno" }

func (ccNewReno) ackReceived(tp *tcpcb, acked uint32) { renoGrow(tp, acked) }

func (ccNewReno) congSignal(tp *tcpcb, sig int) {
	mss := uint32(tp.maxseg)
	flight := tp.ccFlight()
	if sig == ccSigRTO {
		flight = min(tp.sndWnd, flight)
	}
	tp.ssthresh = max(flight/2, 2*mss)
	if sig == ccSigRTO {
		tp.cwnd = mss
	}
}

func (ccNewReno) postRecovery(tp *tcpcb) {
	mss := uint32(tp.maxseg)
	flight := uint32(tp.sndMax - tp.sndUna)
	tp.cwnd = min(tp.ssthresh, max(flight, mss)+mss)
}

// CUBIC's constants (RFC 9438 4.1): C = 0.4 segments/s³, β = 0.7.
const (
	cubicC    = 0.4
	cubicBeta = 0.7
	// alpha for the Reno-friendly region (4.3): 3(1-β)/(1+β).
	cubicAlpha = 3 * (1 - cubicBeta) / (1 + cubicBeta)
)

// ccCubic is CUBIC (RFC 9438), window sizes in segments.
type ccCubic struct {
	wmax       float64   // W_max: cwnd at the last congestion event
	wlastMax   float64   // W_max before that, for fast convergence
	k          float64   // K, seconds
	origin     float64   // the curve's plateau
	west       float64   // W_est, the Reno-friendly estimate
	epochStart time.Time // start of this congestion-avoidance epoch
	ackedAcc   float64   // bytes acked this epoch not yet folded into W_est
}

func (*ccCubic) name() string { return "cubic" }

func (c *ccCubic) ackReceived(tp *tcpcb, acked uint32) {
	mss := float64(tp.maxseg)
	if tp.cwnd <= tp.ssthresh {
		renoGrow(tp, acked) // slow start, as Reno (4.10)
		return
	}
	now := tp.clock()
	cwnd := float64(tp.cwnd) / mss
	if c.epochStart.IsZero() {
		c.epochStart = now
		if cwnd < c.wmax {
			c.k = math.Cbrt((c.wmax - cwnd) / cubicC)
			c.origin = c.wmax
		} else {
			c.k = 0
			c.origin = cwnd
		}
		c.west = cwnd
	}
	rtt := tp.srtt
	if rtt == 0 {
		rtt = 100 * time.Millisecond
	}
	t := now.Sub(c.epochStart).Seconds()
	// W_cubic(t + RTT): where the window should be one RTT from now.
	d := t + rtt.Seconds() - c.k
	target := cubicC*d*d*d + c.origin
	target = min(max(target, cwnd), 1.5*cwnd)
	// The Reno-friendly estimate (4.3) grows by α per window of ACKs.
	c.west += cubicAlpha * (float64(acked) / mss) / cwnd
	var grow float64 // segments
	if c.west > target {
		grow = c.west - cwnd
	} else {
		grow = (target - cwnd) / cwnd * (float64(acked) / mss)
	}
	if grow > 0 {
		tp.cwnd += uint32(grow * mss)
	}
	tp.cwnd = min(tp.cwnd, uint32(tcpMaxWin)<<tp.sndScale)
}

func (c *ccCubic) congSignal(tp *tcpcb, sig int) {
	mss := float64(tp.maxseg)
	cwnd := float64(tp.cwnd) / mss
	if sig == ccSigRTO {
		// 4.8: ssthresh from the flight; the curve starts afresh.
		cwnd = float64(min(tp.ccFlight(), max(tp.cwnd, uint32(tp.maxseg)))) / mss
	}
	// Fast convergence (4.7): yield to new flows when W_max shrinks.
	if cwnd < c.wlastMax {
		c.wlastMax = cwnd
		c.wmax = cwnd * (1 + cubicBeta) / 2
	} else {
		c.wlastMax = cwnd
		c.wmax = cwnd
	}
	c.epochStart = time.Time{}
	tp.ssthresh = max(uint32(cwnd*cubicBeta*mss), 2*uint32(tp.maxseg))
	if sig == ccSigRTO {
		tp.cwnd = uint32(tp.maxseg)
	}
}

func (c *ccCubic) postRecovery(tp *tcpcb) {
	tp.cwnd = max(tp.ssthresh, 2*uint32(tp.maxseg))
	c.epochStart = time.Time{}
}

// afterIdle is cc_after_idle (RFC 5681 4.1): a sender idle for longer
// than the RTO starts again from the restart window, the initial window,
// rather than sending a cwnd measured long ago in one burst.
func (tp *tcpcb) afterIdle() {
	mss := uint32(tp.maxseg)
	iw := min(uint32(tp.s.tcp.tun.InitCwndSegs)*mss, max(2*mss, 14600))
	if tp.cwnd > iw {
		tp.ssthresh = max(tp.ssthresh, tp.cwnd/4*3) // remember most of it (RFC 7661's spirit)
		tp.cwnd = iw
	}
	if c, ok := tp.cc.(*ccCubic); ok {
		c.epochStart = time.Time{}
	}
}

// ccInit gives a connection the stack's default module.
func (tp *tcpcb) ccInit() {
	if tp.cc == nil {
		tp.cc = newCC(tp.s.tcp.tun.CongestionControl)
		if tp.cc == nil {
			tp.cc = ccNewReno{}
		}
	}
}
