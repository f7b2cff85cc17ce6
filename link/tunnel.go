package link

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/bsdnet/bsdnet/mbuf"
)

// TunnelMTU is the MTU of a tunnel interface: Ethernet's. A frame, link
// header included, is at most EtherHdrLen+TunnelMTU bytes, which fits in one
// UDP datagram on any path whose MTU is at least 1542 bytes (IPv4) or 1562
// (IPv6), and in any case on loopback.
const TunnelMTU = 1500

// NewTunnel returns an Ethernet interface carried over UDP: each frame is
// one datagram, sent from local to remote with the host's UDP (Go's net
// package), so that stacks in different processes or on different machines
// share an Ethernet segment. Two tunnels whose local and remote addresses
// mirror each other make a cable; the segment has exactly two ends.
//
// The tunnel owns local and closes it on Close. When local is a dialed
// (connected) socket, remote may be nil and frames go to its peer. Datagrams from any address
// but remote are dropped and counted (Iqdrops), as are frames longer than
// EtherHdrLen+MTU bytes in either direction (Ierrors on input; on output
// Transmit fails with EMSGSIZE and counts Oerrors) and datagrams shorter than
// an Ethernet header (Ierrors). The MTU is 1500; checksums are on, since the
// datagrams cross a real network.
//
// One goroutine per tunnel reads datagrams into mbufs from pool and calls
// Input. Close stops it and waits for it, so it must not be called from the
// input routine.
func NewTunnel(local *net.UDPConn, remote *net.UDPAddr, name string, mac net.HardwareAddr, pool *mbuf.Pool) *Ifnet {
	d := &tunnel{
		conn:      local,
		connected: local.RemoteAddr() != nil,
		pool:      pool,
		done:      make(chan struct{}),
	}
	if remote != nil {
		d.remoteAP = unmap(remote.AddrPort())
	}
	ifp := New(name, Ethernet, TunnelMTU, mac, d)
	ifp.Pool = pool
	d.ifp = ifp
	go d.readLoop()
	return ifp
}

func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// tunnel is the driver of a UDP tunnel interface.
type tunnel struct {
	ifp       *Ifnet
	conn      *net.UDPConn
	connected bool // conn was dialed: Write, not WriteTo
	remoteAP  netip.AddrPort
	pool      *mbuf.Pool

	mu       sync.Mutex
	closing  bool
	closeErr error
	done     chan struct{} // closed when readLoop has returned
}

// Output sends the frame as one datagram. A frame in one mbuf goes straight
// from it; a chain is gathered into one cluster first, since a datagram is
// written in one piece.
func (d *tunnel) Output(ifp *Ifnet, m *mbuf.Mbuf) error {
	defer mbuf.FreeChain(m)
	n := mbuf.Length(m)
	if n < EtherHdrLen {
		return fmt.Errorf("tunnel: frame of %d bytes: %w", n, syscall.EINVAL)
	}
	if n > EtherHdrLen+ifp.MTU() {
		return fmt.Errorf("tunnel: frame of %d bytes: %w", n, syscall.EMSGSIZE)
	}
	b := m.Data()
	if len(b) != n {
		buf := d.pool.Get(mbuf.MT_DATA, n)
		defer buf.Free()
		b = buf.Extend(n)
		mbuf.CopyData(m, 0, b)
	}
	var err error
	if d.connected {
		_, err = d.conn.Write(b)
	} else {
		_, err = d.conn.WriteToUDPAddrPort(b, d.remoteAP)
	}
	if err != nil {
		return fmt.Errorf("tunnel: %w", err)
	}
	return nil
}

// readLoop receives one frame per datagram into a fresh cluster and gives
// it to Input, until the tunnel is closed.
func (d *tunnel) readLoop() {
	defer close(d.done)
	ifp := d.ifp
	for {
		// One byte more than the longest frame allowed, so that a longer
		// datagram shows instead of being cut silently.
		limit := EtherHdrLen + ifp.MTU()
		m := d.pool.GetHdr(mbuf.MT_DATA, limit+1, 0)
		buf := m.Extend(m.Trailing())
		n, from, err := d.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			m.Free()
			if d.isClosing() || errors.Is(err, net.ErrClosed) {
				return
			}
			// A transient error (an ICMP error reported on a dialed
			// socket, say): count it and go on.
			ifp.Stats.Ierrors.Add(1)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				// Someone else set a deadline on our socket; clear it
				// rather than spin.
				d.conn.SetReadDeadline(time.Time{})
			}
			continue
		}
		if d.remoteAP.IsValid() && unmap(from) != d.remoteAP {
			m.Free()
			ifp.Stats.Iqdrops.Add(1)
			continue
		}
		if n < EtherHdrLen || n > limit {
			m.Free()
			ifp.Stats.Ierrors.Add(1)
			continue
		}
		mbuf.Adj(m, n-len(buf))
		m.PktLen = n
		ifp.Input(m)
	}
}

func (d *tunnel) isClosing() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closing
}

// Close closes the socket, which wakes the reader, and waits for the reader
// to return.
func (d *tunnel) Close() error {
	d.mu.Lock()
	if d.closing {
		d.mu.Unlock()
		<-d.done
		return d.closeErr
	}
	d.closing = true
	d.closeErr = d.conn.Close()
	d.mu.Unlock()
	<-d.done
	return d.closeErr
}
