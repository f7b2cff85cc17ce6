package link

import (
	"encoding/binary"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bsdnet/bsdnet/mbuf"
)

// This file holds the fault injector shared by Wire and Hub: a pipe carries
// frames one way, from a sender to a delivery routine, applying Faults with
// randomness from its own seeded source.
//
// Life of a frame in a pipe (pipe.send, in the sender's goroutine):
//
//	cut or closed        -> dropped (CutDrops)
//	too big for sender   -> dropped (MTUDrops), EMSGSIZE to Transmit (Oerrors)
//	queue over limit     -> dropped (QueueDrops, sender's Oqdrops)
//	bandwidth            -> serialized after the frames before it
//	Loss, Gilbert-Elliott-> dropped (Lost)
//	Corrupt              -> replaced by a copy with one bit flipped
//	Duplicate            -> a second reference follows it
//	Reorder              -> held for the next frame, or ReorderDelay late
//	Delay, Jitter        -> scheduled, never before the frame sent before it
//
// A frame due now, with nothing queued ahead of it, is delivered before send
// returns, in the sender's goroutine (run to completion). Others wait in a
// heap ordered by (due time, sequence) and are delivered by one time.AfterFunc
// timer per pipe, so equal due times keep send order and testing/synctest's
// virtual time drives them.

// Direction selects which way across a Wire (or a Hub port) faults apply.
type Direction int

// Directions. For a Hub port, AtoB is the port's transmit side (frames the
// port sends into the hub) and BtoA its receive side (frames the hub sends to
// the port).
const (
	AtoB Direction     = 1 << iota // from end A to end B
	BtoA                           // from end B to end A
	Both = AtoB | BtoA             // both ways
)

// GilbertElliott is a two-state Markov model of bursty loss. Each frame is
// lost with probability LossGood in the good state or LossBad in the bad
// state; then the state moves from good to bad with probability P, or from
// bad to good with probability R. Bad periods last 1/R frames on average,
// and the long-run share of frames sent in the bad state is P/(P+R).
type GilbertElliott struct {
	P        float64 // probability of moving from good to bad, per frame
	R        float64 // probability of moving from bad to good, per frame
	LossGood float64 // loss probability in the good state
	LossBad  float64 // loss probability in the bad state
}

// Faults are what a link does to the frames crossing it one way. The zero
// Faults is a perfect cable: every frame arrives at once, in order,
// undamaged. Probabilities are clamped to [0, 1] and negative durations
// and sizes count as zero.
type Faults struct {
	// Delay is how long each frame takes to cross.
	Delay time.Duration
	// Jitter varies each frame's delay uniformly within Delay±Jitter (never
	// below zero). Unlike netem's, it does not reorder: a frame is never
	// delivered before one sent ahead of it, as on a real cable. Use
	// Reorder for that.
	Jitter time.Duration
	// Loss is the probability that a frame is lost, independently of every
	// other frame.
	Loss float64
	// GE, when set, adds bursty loss from a Gilbert-Elliott model on top of
	// Loss. The model's state persists across SetFaults calls that keep a
	// model, and resets to good when one removes it.
	GE *GilbertElliott
	// Duplicate is the probability that a frame arrives twice; the copy
	// shares the original's storage and follows it at once.
	Duplicate float64
	// Reorder is the probability that a frame is held back: with a zero
	// ReorderDelay it is delivered right after the next frame that crosses
	// in the same direction (a frame held when nothing follows stays held
	// until something does, or the link is cut or closed); otherwise it is
	// delivered ReorderDelay after it would have been, and the frames sent
	// after it may overtake it.
	Reorder float64
	// ReorderDelay is the extra delay of a reordered frame; see Reorder.
	ReorderDelay time.Duration
	// Corrupt is the probability that one random bit past the Ethernet
	// header is flipped. The receiver gets a damaged copy; the sender's
	// storage is never written. While any direction of a link may corrupt,
	// its interfaces have Checksum set, and otherwise clear.
	Corrupt float64
	// Bandwidth is the link's rate in bits per second; 0 is unlimited. Each
	// frame, link header included, occupies the link for its length in bits
	// divided by Bandwidth, and waits for the frames ahead of it.
	Bandwidth int64
	// QueueLimit is how many bytes may wait for (or be in) transmission when
	// Bandwidth is set; a frame that would go past it is dropped from the
	// tail and counted as an Oqdrops of the sender. 0 is no limit. A frame
	// arriving at an empty queue is always accepted.
	QueueLimit int
}

func clamp01(p float64) float64 {
	if !(p > 0) { // also NaN
		return 0
	}
	return min(p, 1)
}

func (f Faults) normalized() Faults {
	f.Delay = max(f.Delay, 0)
	f.Jitter = max(f.Jitter, 0)
	f.ReorderDelay = max(f.ReorderDelay, 0)
	f.Loss = clamp01(f.Loss)
	f.Duplicate = clamp01(f.Duplicate)
	f.Reorder = clamp01(f.Reorder)
	f.Corrupt = clamp01(f.Corrupt)
	f.Bandwidth = max(f.Bandwidth, 0)
	f.QueueLimit = max(f.QueueLimit, 0)
	if f.GE != nil {
		ge := GilbertElliott{
			P:        clamp01(f.GE.P),
			R:        clamp01(f.GE.R),
			LossGood: clamp01(f.GE.LossGood),
			LossBad:  clamp01(f.GE.LossBad),
		}
		f.GE = &ge // our own copy: the caller may change theirs
	}
	return f
}

// DirStats are the counters of one direction of a link. Every frame offered
// is counted once in Sent and, eventually, once in Delivered or one of the
// drop counters; each duplicate adds one to Duplicated and one to Delivered
// or a drop counter.
type DirStats struct {
	Sent       uint64 // frames offered to the link
	Delivered  uint64 // frames handed to the receiver, duplicates included
	Lost       uint64 // frames dropped by Loss or the Gilbert-Elliott model
	Duplicated uint64 // extra copies made by Duplicate
	Reordered  uint64 // frames held back by Reorder
	Corrupted  uint64 // frames delivered with a flipped bit
	QueueDrops uint64 // frames dropped because the queue was at QueueLimit
	CutDrops   uint64 // frames dropped because the link was cut or closed
	MTUDrops   uint64 // frames dropped as too big for the sender's or receiver's MTU
}

// WireStats are a link's counters in each direction.
type WireStats struct {
	AtoB DirStats
	BtoA DirStats
}

// dirCounters are DirStats kept atomically.
type dirCounters struct {
	sent, delivered, lost, duplicated, reordered atomic.Uint64
	corrupted, queueDrops, cutDrops, mtuDrops    atomic.Uint64
}

func (c *dirCounters) snapshot() DirStats {
	return DirStats{
		Sent:       c.sent.Load(),
		Delivered:  c.delivered.Load(),
		Lost:       c.lost.Load(),
		Duplicated: c.duplicated.Load(),
		Reordered:  c.reordered.Load(),
		Corrupted:  c.corrupted.Load(),
		QueueDrops: c.queueDrops.Load(),
		CutDrops:   c.cutDrops.Load(),
		MTUDrops:   c.mtuDrops.Load(),
	}
}

// pending is a frame waiting in a pipe for its due time.
type pending struct {
	at  time.Time
	seq uint64
	m   *mbuf.Mbuf
}

// pendingHeap is a binary min-heap of pending frames ordered by due time,
// then by sequence. It is written out rather than built on container/heap,
// whose interface boxing would allocate for every frame.
type pendingHeap []pending

func (h pendingHeap) less(i, j int) bool {
	if c := h[i].at.Compare(h[j].at); c != 0 {
		return c < 0
	}
	return h[i].seq < h[j].seq
}

// push adds e.
func (h *pendingHeap) push(e pending) {
	*h = append(*h, e)
	q := *h
	for i := len(q) - 1; i > 0; {
		parent := (i - 1) / 2
		if !q.less(i, parent) {
			break
		}
		q[i], q[parent] = q[parent], q[i]
		i = parent
	}
}

// pop removes and returns the earliest frame; the heap must not be empty.
func (h *pendingHeap) pop() pending {
	q := *h
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q[last] = pending{}
	q = q[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(q) && q.less(l, m) {
			m = l
		}
		if r < len(q) && q.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
	*h = q
	return top
}

// inTx is a frame occupying a rate-limited link: when it is through and how
// many bytes it counts against QueueLimit.
type inTx struct {
	done time.Time
	n    int
}

// pipe carries frames one way across a link, with faults.
//
// Locking: mu guards every field under it. It is never held while a frame
// is delivered, so a receiver may send back through the same link from its
// input routine. stats and closedFlag are atomic.
type pipe struct {
	src     *Ifnet                // (const) sender: MTU, Pool, Oqdrops; nil for none
	deliver func(*mbuf.Mbuf) bool // (const) hands a frame on; false: too big (freed)
	stats   dirCounters           // (atomic)
	closed  atomic.Bool           // (atomic) mirrors shut, for handoff
	mu      sync.Mutex            // guards what follows
	rng     *rand.Rand            // the pipe's seeded source
	f       Faults                // current faults, normalized
	geBad   bool                  // Gilbert-Elliott state
	cut     bool                  // everything is dropped
	shut    bool                  // closed: everything is dropped for good
	held    []*mbuf.Mbuf          // frames held by Reorder for the next frame
	q       pendingHeap           // frames waiting for their due time
	seq     uint64                // next sequence number for q
	lastAt  time.Time             // due time of the last in-order frame
	busy    time.Time             // when the rate-limited link is next free
	tx      []inTx                // frames occupying the rate-limited link, oldest first
	txBytes int                   // sum of tx[i].n
	timer   *time.Timer           // delivers q; made at the first arming, then reset
	armed   bool                  // timer is set for armedAt
	armedAt time.Time             //
	running bool                  // a timer callback is delivering; it re-arms
	due     []*mbuf.Mbuf          // scratch for the running callback
}

// newPipe returns a pipe from src to deliver whose randomness comes from
// seed and stream.
func newPipe(src *Ifnet, deliver func(*mbuf.Mbuf) bool, seed, stream uint64) *pipe {
	return &pipe{
		src:     src,
		deliver: deliver,
		rng:     rand.New(rand.NewPCG(seed, stream)),
	}
}

// errTooBig is what Transmit sees for a frame larger than the MTU.
var errTooBig = syscall.EMSGSIZE

// setFaults replaces the pipe's faults. Frames already in flight keep their
// schedule. It reports whether the new faults may corrupt.
func (p *pipe) setFaults(f Faults) bool {
	f = f.normalized()
	p.mu.Lock()
	if f.GE == nil {
		p.geBad = false
	}
	p.f = f
	p.mu.Unlock()
	return f.Corrupt > 0
}

// setCut cuts the pipe, dropping what is in flight, or heals it.
func (p *pipe) setCut(on bool) {
	p.mu.Lock()
	p.cut = on
	var drop []*mbuf.Mbuf
	if on {
		drop = p.flushLocked()
	}
	p.mu.Unlock()
	p.drop(drop)
}

// close stops the pipe for good and frees what is in flight.
func (p *pipe) close() {
	p.mu.Lock()
	if p.shut {
		p.mu.Unlock()
		return
	}
	p.shut = true
	p.closed.Store(true)
	drop := p.flushLocked()
	p.mu.Unlock()
	p.drop(drop)
}

// flushLocked empties the pipe: it stops the timer and returns the frames
// that were held or queued, for the caller to drop once it has unlocked.
func (p *pipe) flushLocked() []*mbuf.Mbuf {
	var out []*mbuf.Mbuf
	out = append(out, p.held...)
	clear(p.held)
	p.held = p.held[:0]
	for _, e := range p.q {
		out = append(out, e.m)
	}
	clear(p.q)
	p.q = p.q[:0]
	if p.timer != nil {
		p.timer.Stop()
	}
	p.armed = false
	clear(p.tx)
	p.tx = p.tx[:0]
	p.txBytes = 0
	p.busy = time.Time{}
	p.lastAt = time.Time{}
	return out
}

// drop frees frames dropped by a cut or a close, counting them.
func (p *pipe) drop(ms []*mbuf.Mbuf) {
	for _, m := range ms {
		p.stats.cutDrops.Add(1)
		mbuf.FreeChain(m)
	}
}

// send puts a frame on the pipe, consuming it. It returns errTooBig for a
// frame whose payload exceeds the sender's MTU, and otherwise nil: drops on
// the link are silent, as on a cable.
func (p *pipe) send(m *mbuf.Mbuf) error {
	n := mbuf.Length(m)
	p.stats.sent.Add(1)
	if p.src != nil && n-p.src.HdrLen() > p.src.MTU() {
		p.stats.mtuDrops.Add(1)
		mbuf.FreeChain(m)
		return errTooBig
	}
	p.mu.Lock()
	if p.shut || p.cut {
		p.mu.Unlock()
		p.stats.cutDrops.Add(1)
		mbuf.FreeChain(m)
		return nil
	}
	f := &p.f
	// Without delay, rate or late reordering, and with nothing scheduled,
	// every frame is due the moment it is sent: the clock is not read.
	timed := f.Bandwidth > 0 || f.Delay > 0 || f.Jitter > 0 || f.ReorderDelay > 0 || len(p.q) > 0 || p.running
	var now time.Time
	if timed {
		now = time.Now()
	}

	// The sender's queue and the link's rate.
	start := now
	if f.Bandwidth > 0 {
		p.pruneTxLocked(now)
		if f.QueueLimit > 0 && p.txBytes > 0 && p.txBytes+n > f.QueueLimit {
			p.mu.Unlock()
			p.stats.queueDrops.Add(1)
			mbuf.FreeChain(m)
			return ErrQueueFull
		}
		if p.busy.After(now) {
			start = p.busy
		}
		bits := int64(n) * 8
		d := time.Duration(bits * int64(time.Second) / f.Bandwidth)
		start = start.Add(d)
		p.busy = start
		p.tx = append(p.tx, inTx{done: start, n: n})
		p.txBytes += n
	}

	// Loss on the line.
	lost := f.Loss > 0 && p.rng.Float64() < f.Loss
	if ge := f.GE; ge != nil {
		pl := ge.LossGood
		if p.geBad {
			pl = ge.LossBad
		}
		if pl > 0 && p.rng.Float64() < pl {
			lost = true
		}
		if p.geBad {
			p.geBad = !(ge.R > 0 && p.rng.Float64() < ge.R)
		} else {
			p.geBad = ge.P > 0 && p.rng.Float64() < ge.P
		}
	}
	if lost {
		p.mu.Unlock()
		p.stats.lost.Add(1)
		mbuf.FreeChain(m)
		return nil
	}

	// Damage, duplication, reordering.
	if f.Corrupt > 0 && p.rng.Float64() < f.Corrupt {
		m = p.corruptLocked(m, n)
	}
	var dup *mbuf.Mbuf
	if f.Duplicate > 0 && p.rng.Float64() < f.Duplicate {
		dup = mbuf.Copy(m, 0, -1)
		p.stats.duplicated.Add(1)
	}
	reorder := f.Reorder > 0 && p.rng.Float64() < f.Reorder
	d := f.Delay
	if f.Jitter > 0 {
		d += time.Duration(p.rng.Int64N(2*int64(f.Jitter)+1)) - f.Jitter
		d = max(d, 0)
	}
	at := start.Add(d)

	// out collects, in delivery order, the frames due at the in-order time.
	var buf [4]*mbuf.Mbuf
	out := buf[:0]
	if reorder {
		p.stats.reordered.Add(1)
		if f.ReorderDelay > 0 {
			late := at.Add(f.ReorderDelay)
			p.pushLocked(late, m)
			if dup != nil {
				p.pushLocked(late, dup)
			}
			m, dup = nil, nil
		} else {
			// The frames held before go in this one's place.
			out = append(out, p.held...)
			clear(p.held)
			p.held = append(p.held[:0], m)
			if dup != nil {
				p.held = append(p.held, dup)
			}
			m, dup = nil, nil
		}
	}
	if m != nil {
		out = append(out, m)
		if dup != nil {
			out = append(out, dup)
		}
		out = append(out, p.held...)
		clear(p.held)
		p.held = p.held[:0]
	}
	if len(out) == 0 {
		p.armLocked(now)
		p.mu.Unlock()
		return nil
	}
	if timed {
		if at.Before(p.lastAt) {
			at = p.lastAt
		}
		p.lastAt = at
	}
	if !timed || !at.After(now) && !p.running && (len(p.q) == 0 || p.q[0].at.After(at)) {
		// Run to completion: deliver in the sender's goroutine. Nothing
		// queued is due before these (only frames Reorder made late).
		p.mu.Unlock()
		for i, fr := range out {
			out[i] = nil
			p.handoff(fr)
		}
		return nil
	}
	for i, fr := range out {
		out[i] = nil
		p.pushLocked(at, fr)
	}
	p.armLocked(now)
	p.mu.Unlock()
	return nil
}

// pruneTxLocked forgets the frames that are through the rate-limited link.
func (p *pipe) pruneTxLocked(now time.Time) {
	i := 0
	for i < len(p.tx) && !p.tx[i].done.After(now) {
		p.txBytes -= p.tx[i].n
		i++
	}
	if i > 0 {
		k := copy(p.tx, p.tx[i:])
		clear(p.tx[k:])
		p.tx = p.tx[:k]
	}
}

// corruptLocked returns a copy of the n-byte frame m with one random bit
// flipped past the Ethernet header, and frees m. The copy comes from the
// sender's pool; m's storage, which the sender may share, is not written.
// A frame with nothing past the header is returned as it is.
func (p *pipe) corruptLocked(m *mbuf.Mbuf, n int) *mbuf.Mbuf {
	if n <= EtherHdrLen {
		return m
	}
	var pool *mbuf.Pool
	if p.src != nil {
		pool = p.src.Pool
	}
	c := pool.GetHdr(mbuf.MT_DATA, n, 0)
	b := c.Extend(n)
	mbuf.CopyData(m, 0, b)
	c.PktLen = n
	bit := p.rng.IntN((n - EtherHdrLen) * 8)
	b[EtherHdrLen+bit/8] ^= 1 << (bit % 8)
	mbuf.FreeChain(m)
	p.stats.corrupted.Add(1)
	return c
}

// pushLocked queues a frame for delivery at at.
func (p *pipe) pushLocked(at time.Time, m *mbuf.Mbuf) {
	p.q.push(pending{at: at, seq: p.seq, m: m})
	p.seq++
}

// armLocked sets the timer for the earliest queued frame, unless it is set
// early enough already or a running callback will set it.
func (p *pipe) armLocked(now time.Time) {
	if p.running || len(p.q) == 0 {
		return
	}
	at := p.q[0].at
	if p.armed && !at.Before(p.armedAt) {
		return
	}
	p.armed, p.armedAt = true, at
	if p.timer == nil {
		p.timer = time.AfterFunc(at.Sub(now), p.fire)
	} else {
		p.timer.Reset(at.Sub(now))
	}
}

// fire is the timer callback: it delivers every frame that is due, in
// order, and sets the timer for the next. While it delivers, with mu
// released, senders queue behind it rather than deliver themselves, so
// order holds, and do not set the timer: fire does when it is done. A
// callback that finds another running, or finds nothing due (a timer that
// fired as it was stopped or reset), does no harm: it re-arms for what is
// queued, or returns.
func (p *pipe) fire() {
	p.mu.Lock()
	if p.shut || p.running {
		p.mu.Unlock()
		return
	}
	p.armed = false
	p.running = true
	now := time.Now()
	for {
		due := p.due[:0]
		for len(p.q) > 0 && !p.q[0].at.After(now) {
			due = append(due, p.q.pop().m)
		}
		if len(due) == 0 {
			break
		}
		p.mu.Unlock()
		for i, m := range due {
			due[i] = nil
			p.handoff(m)
		}
		p.mu.Lock()
		p.due = due[:0]
		now = time.Now()
	}
	p.running = false
	if !p.shut {
		p.armLocked(now)
	}
	p.mu.Unlock()
}

// handoff delivers one frame, or drops it if the pipe has closed meanwhile.
func (p *pipe) handoff(m *mbuf.Mbuf) {
	if p.closed.Load() {
		p.stats.cutDrops.Add(1)
		mbuf.FreeChain(m)
		return
	}
	if p.deliver(m) {
		p.stats.delivered.Add(1)
	} else {
		p.stats.mtuDrops.Add(1)
	}
}

// receive is the delivery routine of a pipe ending at ifp: a frame whose
// payload is larger than ifp's MTU is dropped as a giant (Ierrors) and
// false returned; others go to Input.
func receive(ifp *Ifnet, m *mbuf.Mbuf) bool {
	if mbuf.Length(m)-ifp.HdrLen() > ifp.MTU() {
		ifp.Stats.Ierrors.Add(1)
		mbuf.FreeChain(m)
		return false
	}
	ifp.Input(m)
	return true
}

// seededMAC derives a locally administered unicast Ethernet address from a
// seed, a name and an index, the same in every run.
func seededMAC(seed uint64, name string, i uint64) net.HardwareAddr {
	h := fnv.New64a()
	h.Write([]byte(name))
	x := splitmix64(seed ^ h.Sum64() ^ (i+1)*0x9e3779b97f4a7c15)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], x)
	mac := net.HardwareAddr(b[2:8:8])
	mac[0] = mac[0]&^0x01 | 0x02
	return mac
}

// splitmix64 is SplitMix64's output function: a bijective mixer.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
