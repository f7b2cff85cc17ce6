package inet

import (
	"encoding/binary"
	"time"

	"github.com/bsdnet/bsdnet/header"
)

// Selective acknowledgments (RFC 2018) and SACK-based loss recovery
// (RFC 6675).
//
// The sender keeps a send map: one entry per transmitted segment between
// snd_una and snd_max, with the time it was (re)sent and whether the peer
// has SACKed it, whether it is deemed lost and whether it was resent. The
// map is the scoreboard of RFC 6675 and the per-segment record RACK-TLP
// (RFC 8985, tcp_rack.go) needs. It exists only on connections that agreed
// on SACK, is made on the first data sent, and holds about one entry per
// segment in flight.

const (
	smSacked = 1 << iota // the peer holds this segment (SACKed)
	smLost               // deemed lost (RFC 6675 IsLost, or RACK)
	smRexmit             // resent since it was last deemed lost
)

// smSeg is one transmitted segment.
type smSeg struct {
	start, end seqnum
	xmit       time.Time // when last sent
	flags      uint8
	rexmits    uint8 // times resent
}

// sendmap is the sender's scoreboard.
type sendmap struct {
	segs        []smSeg // ordered by sequence, covering [snd_una, snd_max)
	base        []smSeg // the largest array segs has used, reused when the map empties
	sackedBytes int
	highSacked  seqnum // highest SACKed sequence (end of the highest block)
	rack        rackState
}

// sackOK reports whether both ends agreed on SACK.
func (tp *tcpcb) sackOK() bool { return tp.flags&tfSackPermit != 0 }

// smSent records that [start, end) was sent now: new data extends the
// map; a retransmission marks the entries it covers.
func (tp *tcpcb) smSent(start, end seqnum, now time.Time) {
	if tp.sm == nil {
		tp.sm = &sendmap{}
	}
	sm := tp.sm
	if n := len(sm.segs); n == 0 || start.geq(sm.segs[n-1].end) {
		if n > 0 && start != sm.segs[n-1].end {
			// A gap: the map lost track (it should not happen); start over.
			sm.reset()
		}
		sm.push(smSeg{start: start, end: end, xmit: now})
		return
	}
	i := sm.split(start)
	j := sm.split(end)
	for k := i; k < j; k++ {
		s := &sm.segs[k]
		s.xmit = now
		s.flags |= smRexmit
		if s.rexmits < 255 {
			s.rexmits++
		}
	}
	// Data beyond the map's end (a retransmission that also sends new
	// bytes) is appended.
	if n := len(sm.segs); n > 0 && end.gt(sm.segs[n-1].end) {
		sm.push(smSeg{start: sm.segs[n-1].end, end: end, xmit: now})
	}
}

// push appends an entry, keeping the largest array for reuse.
func (sm *sendmap) push(e smSeg) {
	sm.segs = append(sm.segs, e)
	if cap(sm.segs) > cap(sm.base) {
		sm.base = sm.segs[:0]
	}
}

func (sm *sendmap) reset() {
	clear(sm.segs)
	sm.segs = sm.base[:0]
	sm.sackedBytes = 0
}

// split makes seq an entry boundary and returns the index of the entry
// that starts there (len when it is past the end).
func (sm *sendmap) split(seq seqnum) int {
	lo, hi := 0, len(sm.segs)
	for lo < hi {
		m := (lo + hi) / 2
		if sm.segs[m].end.leq(seq) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(sm.segs) || sm.segs[lo].start.geq(seq) {
		return lo
	}
	// seq falls inside entry lo: cut it in two.
	e := sm.segs[lo]
	sm.push(smSeg{})
	copy(sm.segs[lo+1:], sm.segs[lo:])
	sm.segs[lo].end = seq
	e.start = seq
	sm.segs[lo+1] = e
	return lo + 1
}

// ack drops what the cumulative ACK covers. It returns the latest
// transmission time among the segments it delivered and the end of that
// segment, for RACK.
func (sm *sendmap) ack(una seqnum) (latest time.Time, end seqnum, rexmit bool) {
	k := 0
	for ; k < len(sm.segs); k++ {
		s := &sm.segs[k]
		if s.start.geq(una) {
			break
		}
		if s.flags&smSacked == 0 && s.xmit.After(latest) {
			latest, end, rexmit = s.xmit, s.end, s.flags&smRexmit != 0
		}
		if s.end.gt(una) {
			if s.flags&smSacked != 0 {
				sm.sackedBytes -= int(una - s.start)
			}
			s.start = una
			break
		}
		if s.flags&smSacked != 0 {
			sm.sackedBytes -= int(s.end - s.start)
		}
	}
	if k > 0 {
		clear(sm.segs[:k])
		sm.segs = sm.segs[k:]
	}
	if len(sm.segs) == 0 {
		// Start again at the front of the array (an idle connection
		// keeps a small one, not a large one).
		if cap(sm.base) > 256 {
			sm.base = nil
		}
		sm.segs = sm.base[:0]
		sm.sackedBytes = 0
	}
	return latest, end, rexmit
}

// sack marks [l, r) SACKed. It returns the latest transmission time among
// the newly SACKed segments and that segment's end, for RACK.
func (sm *sendmap) sack(l, r seqnum) (latest time.Time, end seqnum, rexmit bool) {
	if len(sm.segs) == 0 {
		return
	}
	if l.lt(sm.segs[0].start) {
		l = sm.segs[0].start
	}
	if last := sm.segs[len(sm.segs)-1].end; r.gt(last) {
		r = last
	}
	if !l.lt(r) {
		return
	}
	i := sm.split(l)
	j := sm.split(r)
	for k := i; k < j; k++ {
		s := &sm.segs[k]
		if s.flags&smSacked != 0 {
			continue
		}
		s.flags |= smSacked
		s.flags &^= smLost
		sm.sackedBytes += int(s.end - s.start)
		if s.xmit.After(latest) {
			latest, end, rexmit = s.xmit, s.end, s.flags&smRexmit != 0
		}
	}
	if r.gt(sm.highSacked) {
		sm.highSacked = r
	}
	return latest, end, rexmit
}

// markLost is RFC 6675's IsLost over the map: a segment is lost when more
// than (DupThresh-1)·SMSS bytes, or DupThresh SACKed segments, lie above
// it. It reports whether any segment is now deemed lost and not resent.
func (sm *sendmap) markLost(mss int) bool {
	const dupThresh = 3
	above, aboveSegs := 0, 0
	found := false
	for k := len(sm.segs) - 1; k >= 0; k-- {
		s := &sm.segs[k]
		if s.flags&smSacked != 0 {
			above += int(s.end - s.start)
			aboveSegs++
			continue
		}
		if s.flags&smLost == 0 && (above > (dupThresh-1)*mss || aboveSegs >= dupThresh) {
			s.flags |= smLost
			s.flags &^= smRexmit
		}
		if s.flags&(smLost|smRexmit) == smLost {
			found = true
		}
	}
	return found
}

// pipe is RFC 6675's SetPipe: the bytes believed in the network.
func (sm *sendmap) pipe() int {
	p := 0
	for k := range sm.segs {
		s := &sm.segs[k]
		if s.flags&smSacked != 0 {
			continue
		}
		n := int(s.end - s.start)
		if s.flags&smLost == 0 {
			p += n
		}
		if s.flags&smRexmit != 0 {
			p += n
		}
	}
	return p
}

// nextLost is the first part of RFC 6675's NextSeg: the lowest segment
// deemed lost, not SACKed and not yet resent.
func (sm *sendmap) nextLost() (start, end seqnum, ok bool) {
	for k := range sm.segs {
		s := &sm.segs[k]
		if s.flags&(smSacked|smLost|smRexmit) == smLost {
			return s.start, s.end, true
		}
	}
	return 0, 0, false
}

// markFirstLost marks the segment at snd_una lost, so that entering
// recovery resends it at once (RFC 6675 4.3).
func (sm *sendmap) markFirstLost() {
	if len(sm.segs) > 0 && sm.segs[0].flags&smSacked == 0 {
		sm.segs[0].flags |= smLost
		sm.segs[0].flags &^= smRexmit
	}
}

// clearSacked forgets every SACK (the receiver may have reneged): after a
// second timeout everything is resent.
func (sm *sendmap) clearSacked() {
	for k := range sm.segs {
		sm.segs[k].flags &^= smSacked | smLost | smRexmit
	}
	sm.sackedBytes = 0
	sm.highSacked = 0
}

// clearLost forgets loss marks after a timeout (the resend from snd_una
// covers them).
func (sm *sendmap) clearLost() {
	for k := range sm.segs {
		sm.segs[k].flags &^= smLost | smRexmit
	}
}

// sackedRun reports, for a resend starting at seq, where it must stop to
// skip SACKed data: the next SACKed entry's start at or after seq, and
// whether seq itself lies in SACKed data (and where that run ends).
func (sm *sendmap) sackedRun(seq seqnum) (skipTo seqnum, stop seqnum, inSacked bool) {
	for k := range sm.segs {
		s := &sm.segs[k]
		if s.end.leq(seq) {
			continue
		}
		if s.flags&smSacked != 0 && s.start.leq(seq) {
			e := s.end
			for k++; k < len(sm.segs) && sm.segs[k].flags&smSacked != 0 && sm.segs[k].start == e; k++ {
				e = sm.segs[k].end
			}
			return e, 0, true
		}
		for ; k < len(sm.segs); k++ {
			if sm.segs[k].flags&smSacked != 0 {
				return 0, sm.segs[k].start, false
			}
		}
		break
	}
	return 0, 0, false
}

// sackInput applies the SACK blocks of an arriving ACK to the map and
// feeds RACK.
func (tp *tcpcb) sackInput(in *tcpIn) {
	sm := tp.sm
	if sm == nil {
		return
	}
	for i := 0; i < in.nsack; i++ {
		l, r := in.sack[i][0], in.sack[i][1]
		// RFC 2018 / tcp_sack_doack: blocks must lie above the
		// cumulative ACK and within what was sent.
		if !l.lt(r) || !l.gt(in.ack) || r.gt(tp.sndMax) {
			if l.lt(r) && r.leq(in.ack) && i == 0 {
				// RFC 2883: the first block below the cumulative ACK
				// reports a duplicate: a resend was not needed, or the
				// network duplicated.
				tp.s.Stats.TCP.RcvDSack.Add(1)
				sm.rack.dsack()
			}
			continue
		}
		t, e, rx := sm.sack(l, r)
		if !t.IsZero() {
			tp.rackUpdate(t, e, rx)
		}
	}
}

// sackOption appends our SACK blocks (RFC 2018 4) to opts: the block with
// the most recent out-of-order segment first, then the others from the
// highest down, as many as fit in the option space left.
func (tp *tcpcb) sackOption(opts []byte) []byte {
	r := tp.reass
	dsack := tp.flags&tfDsack != 0
	tp.flags &^= tfDsack
	if (r == nil || len(r.segs) == 0) && !dsack {
		return opts
	}
	nmax := (40 - len(opts) - 4) / 8
	if nmax <= 0 {
		return opts
	}
	var blocks [4][2]seqnum
	nb := 0
	if dsack {
		// RFC 2883: the duplicate first, then the usual blocks.
		blocks[0] = tp.dsack
		nb = 1
	}
	// The block that holds the latest arrival.
	add := func(l, rr seqnum) {
		for i := 0; i < nb; i++ {
			if blocks[i] == [2]seqnum{l, rr} {
				return
			}
		}
		if nb < nmax && nb < len(blocks) {
			blocks[nb] = [2]seqnum{l, rr}
			nb++
		}
	}
	// Coalesce the queue into ranges, from the top down.
	type rng struct{ l, r seqnum }
	var ranges [8]rng
	nr := 0
	var first rng
	haveFirst := false
	var segs []reassSeg
	if r != nil {
		segs = r.segs
	}
	for i := len(segs) - 1; i >= 0; i-- {
		l, rr := r.segs[i].seq, r.segs[i].seq+seqnum(r.segs[i].n)
		// Extend downwards while segments touch or overlap.
		for i > 0 && (r.segs[i-1].seq + seqnum(r.segs[i-1].n)).geq(l) {
			i--
			if r.segs[i].seq.lt(l) {
				l = r.segs[i].seq
			}
		}
		if !l.lt(rr) {
			continue
		}
		if tp.rcvLastOO.geq(l) && tp.rcvLastOO.lt(rr) {
			first, haveFirst = rng{l, rr}, true
		}
		if nr < len(ranges) {
			ranges[nr] = rng{l, rr}
			nr++
		}
	}
	if haveFirst {
		add(first.l, first.r)
	}
	for i := 0; i < nr; i++ {
		add(ranges[i].l, ranges[i].r)
	}
	if nb == 0 {
		return opts
	}
	// NOP, NOP, SACK, length, blocks: a multiple of four bytes.
	opts = append(opts, header.TCPOptNOP, header.TCPOptNOP, header.TCPOptSACK, byte(2+8*nb))
	for i := 0; i < nb; i++ {
		opts = binary.BigEndian.AppendUint32(opts, uint32(blocks[i][0]))
		opts = binary.BigEndian.AppendUint32(opts, uint32(blocks[i][1]))
	}
	return opts
}
