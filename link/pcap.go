package link

import (
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/bsdnet/bsdnet/mbuf"
)

// pcap file format constants (the libpcap savefile format, as pcap-savefile(5)
// describes it).
const (
	// PcapMagicNano is the magic number of a pcap file whose timestamps
	// are in nanoseconds.
	PcapMagicNano = 0xa1b23c4d
	// PcapSnaplen is the snapshot length used when none is given:
	// tcpdump's default.
	PcapSnaplen = 262144

	pcapHdrLen    = 24 // global header
	pcapRecHdrLen = 16 // per-record header
)

// errPcapClosed is returned by WriteFrame after Close.
var errPcapClosed = errors.New("link: pcap writer is closed")

// PcapWriter writes frames to a pcap file (a savefile, as tcpdump -w writes)
// with nanosecond timestamps, little-endian. It is a Tap, so it can be
// attached to interfaces (AddTap) to capture what they send and receive;
// the file does not say which way a frame went. It is safe for concurrent
// use: each record is written whole with one Write call.
//
// The first write error is kept: later frames are not written, and Err and
// Close return it.
type PcapWriter struct {
	mu      sync.Mutex // guards what follows
	w       io.Writer
	snaplen int
	buf     []byte // record being built
	err     error  // first write error, or errPcapClosed
}

// NewPcapWriter writes a pcap global header for link type lt to w and
// returns a writer for the records. A snaplen of zero or less means
// PcapSnaplen; frames longer than snaplen are cut to it, and their record
// keeps their full length. The frames written must start with lt's header:
// for Null, a 4-byte address family in host order (DLT_NULL), which is what
// a loopback interface's frames carry.
func NewPcapWriter(w io.Writer, lt Type, snaplen int) (*PcapWriter, error) {
	if snaplen <= 0 {
		snaplen = PcapSnaplen
	}
	var h [pcapHdrLen]byte
	le := binary.LittleEndian
	le.PutUint32(h[0:], PcapMagicNano)
	le.PutUint16(h[4:], 2) // version 2.4
	le.PutUint16(h[6:], 4)
	// thiszone and sigfigs stay 0: timestamps are UTC.
	le.PutUint32(h[16:], uint32(snaplen))
	le.PutUint32(h[20:], uint32(lt))
	if _, err := w.Write(h[:]); err != nil {
		return nil, err
	}
	return &PcapWriter{w: w, snaplen: snaplen}, nil
}

// Frame writes one record for a frame seen on an interface, stamped with
// time.Now (virtual time inside a testing/synctest bubble). It implements
// Tap; errors are kept for Err.
func (p *PcapWriter) Frame(_ *Ifnet, frame *mbuf.Mbuf, _ bool) {
	p.WriteFrame(time.Now(), frame)
}

// WriteFrame writes one record for frame with timestamp t. It does not
// consume the frame.
func (p *PcapWriter) WriteFrame(t time.Time, frame *mbuf.Mbuf) error {
	n := mbuf.Length(frame)
	incl := min(n, p.snaplen)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	if cap(p.buf) < pcapRecHdrLen+incl {
		p.buf = make([]byte, pcapRecHdrLen+incl)
	}
	b := p.buf[:pcapRecHdrLen+incl]
	le := binary.LittleEndian
	ns := t.UnixNano()
	le.PutUint32(b[0:], uint32(ns/1e9))
	le.PutUint32(b[4:], uint32(ns%1e9))
	le.PutUint32(b[8:], uint32(incl))
	le.PutUint32(b[12:], uint32(n))
	mbuf.CopyData(frame, 0, b[pcapRecHdrLen:])
	if _, err := p.w.Write(b); err != nil {
		p.err = err
		return err
	}
	return nil
}

// Err returns the first error a write met, if any.
func (p *PcapWriter) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == errPcapClosed {
		return nil
	}
	return p.err
}

// Close stops the writer: frames given to it afterwards are not written.
// It does not close the underlying writer. It returns the first write
// error, if any.
func (p *PcapWriter) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.err
	if err == errPcapClosed {
		return nil
	}
	p.err = errPcapClosed
	return err
}

var _ Tap = (*PcapWriter)(nil)

// Capture writes every frame ifp sends or receives to w as a pcap file of
// ifp's link type, until stop is called. stop detaches the capture and
// returns the first write error; frames that reach the capture after stop
// (from a sender that was already past the tap list) are not written.
func Capture(ifp *Ifnet, w io.Writer) (stop func() error, err error) {
	pw, err := NewPcapWriter(w, ifp.Type(), 0)
	if err != nil {
		return nil, err
	}
	ifp.AddTap(pw)
	return func() error {
		ifp.RemoveTap(pw)
		return pw.Close()
	}, nil
}
