//go:build linux

package bsdnet_test

// TCP interop with the Linux kernel under faults: the stack reaches the
// TAP device through a seeded link.Wire that loses, reorders or
// duplicates frames both ways, so that the kernel's TCP and bsdnet's
// recover from each other's losses. The kernel side is the test binary
// re-executed in the namespace as TestHelperTCPFaults.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/internal/netns"
	"github.com/bsdnet/bsdnet/link"
	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

// tcpFaultsSize is what each bulk exchange sends each way.
const tcpFaultsSize = 64 << 20

// tcpFaultsDeadline bounds every exchange, on both sides: 64 MiB each way
// under faults and the race detector takes seconds, not minutes.
const tcpFaultsDeadline = 3 * time.Minute

// The helper process's environment variable:
//
//	"echo-client ADDR N"  connects to ADDR, sends N pattern bytes while
//	                      reading the echo, half-closes, checks the echo
//	                      and then EOF;
//	"echo-server ADDR"    listens on ADDR, says READY, echoes one
//	                      connection until EOF, then closes;
//	"await-reset ADDR"    connects to ADDR, sends "ping", reads "pong",
//	                      then writes a byte every 10 ms until a write or
//	                      read fails, which must be with ECONNRESET;
//	"reset ADDR"          connects to ADDR, sends "ping", reads "pong",
//	                      and closes with SO_LINGER 0 (a RST).
const tcpFaultsHelperEnv = "BSDNET_INTEROP_TCP_FAULTS_HELPER"

// TestHelperTCPFaults is not a test: it is the Linux side of
// TestInteropTCPFaults, run inside the namespace by re-executing the test
// binary with tcpFaultsHelperEnv set. Without the variable it does nothing.
func TestHelperTCPFaults(t *testing.T) {
	helperMain(t, tcpFaultsHelperEnv, "tcp faults helper", tcpFaultsHelper)
}

func tcpFaultsHelper(mode string) error {
	f := strings.Fields(mode)
	if len(f) < 2 {
		return fmt.Errorf("bad %s=%q", tcpFaultsHelperEnv, mode)
	}
	network := "tcp4"
	if strings.HasPrefix(f[1], "[") {
		network = "tcp6"
	}
	deadline := time.Now().Add(tcpFaultsDeadline)
	dial := func() (*net.TCPConn, error) {
		c, err := net.DialTimeout(network, f[1], 30*time.Second)
		if err != nil {
			return nil, err
		}
		c.SetDeadline(deadline)
		return c.(*net.TCPConn), nil
	}
	pingPong := func(c net.Conn) error {
		if _, err := c.Write([]byte("ping")); err != nil {
			return err
		}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "pong" {
			return fmt.Errorf("read pong: %q, %v", buf, err)
		}
		return nil
	}
	switch f[0] {
	case "echo-client":
		if len(f) != 3 {
			return fmt.Errorf("bad %s=%q", tcpFaultsHelperEnv, mode)
		}
		n, err := strconv.Atoi(f[2])
		if err != nil {
			return err
		}
		return helperEchoClient(network, f[1], n, 30*time.Second, deadline)
	case "echo-server":
		return helperEchoServer(network, f[1], deadline)
	case "await-reset":
		c, err := dial()
		if err != nil {
			return err
		}
		defer c.Close()
		if err := pingPong(c); err != nil {
			return err
		}
		// The RST may be lost: each byte written draws another from a
		// stack that has no connection any more.
		buf := make([]byte, 16)
		for i := 0; ; i++ {
			if _, err := c.Write([]byte{'x'}); err != nil {
				return wantReset(i, err)
			}
			c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
			if k, err := c.Read(buf); k > 0 {
				return fmt.Errorf("read %q after the abort", buf[:k])
			} else if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				return wantReset(i, err)
			}
			if time.Now().After(deadline) {
				return errors.New("no RST")
			}
		}
	case "reset":
		c, err := dial()
		if err != nil {
			return err
		}
		if err := pingPong(c); err != nil {
			c.Close()
			return err
		}
		if err := c.SetLinger(0); err != nil {
			c.Close()
			return err
		}
		if err := c.Close(); err != nil {
			return err
		}
		fmt.Println("OK reset sent")
		return nil
	}
	return fmt.Errorf("bad mode %q", f[0])
}

// wantReset checks that the i'th probe after an abort failed with
// ECONNRESET.
func wantReset(i int, err error) error {
	if !errors.Is(err, syscall.ECONNRESET) {
		return fmt.Errorf("after %d probes: %v; want ECONNRESET", i, err)
	}
	fmt.Printf("OK %v after %d probes\n", err, i)
	return nil
}

// faultyEnv is a stack joined to a namespace's kernel through a Wire
// (faults) and a TAP device: stack -- wire A end ~ wire B end -- TAP.
// The wire's B end and the TAP are bridged in the test's process.
type faultyEnv struct {
	*interopEnv
	w *link.Wire
}

// newFaultyEnv builds the namespace, the TAP, the wire and the stack, and
// captures frame headers on the TAP. Everything is undone by t.Cleanup.
func newFaultyEnv(t *testing.T, seed uint64) *faultyEnv {
	t.Helper()
	ns := netns.New(t, "tcpfaults")
	st := bsdnet.NewStack(bsdnet.WithName("tcpfaults"), bsdnet.WithSeed(seed))
	t.Cleanup(func() { st.Close() })
	tap, err := link.OpenTAP("bsdnet%d", st.Vnet().Pool)
	if err != nil {
		t.Skipf("cannot create a TAP device: %v", err)
	}
	t.Cleanup(func() {
		if err := tap.Close(); err != nil {
			t.Errorf("close %s: %v", tap.Name(), err)
		}
	})
	if err := ns.AdoptTAP(tap.Name(), "10.77.0.1/24", "fd77::1/64"); err != nil {
		t.Fatal(err)
	}
	w := link.NewWire(link.WireConfig{Seed: seed, NameA: "wire0", NameB: "bridge0"})
	t.Cleanup(func() { w.Close() })
	ea, eb := w.Ends()
	eb.Pool = st.Vnet().Pool
	eb.SetInput(func(_ *link.Ifnet, m *mbuf.Mbuf) { tap.Transmit(m) })
	tap.SetInput(func(_ *link.Ifnet, m *mbuf.Mbuf) { eb.Transmit(m) })
	if err := st.AddInterface(ea, "10.77.0.2/24", "fd77::2/64"); err != nil {
		t.Fatal(err)
	}
	e := &interopEnv{st: st, tap: tap, ns: ns, pcap: filepath.Join(t.TempDir(), "tcpfaults.pcap")}
	if e.file, err = os.Create(e.pcap); err != nil {
		t.Fatal(err)
	}
	// Headers only: the bulk payload would make a capture of gigabytes.
	bw := bufio.NewWriterSize(e.file, 1<<20)
	pw, err := link.NewPcapWriter(bw, link.Ethernet, 128)
	if err != nil {
		t.Fatal(err)
	}
	tap.AddTap(pw)
	e.stop = func() error {
		tap.RemoveTap(pw)
		err := pw.Close() // no frame is written after this
		return errors.Join(err, bw.Flush())
	}
	t.Cleanup(func() {
		if err := e.stopCapture(); err != nil {
			t.Errorf("capture: %v", err)
		}
	})
	fe := &faultyEnv{interopEnv: e, w: w}
	fe.setFaults(link.Faults{})
	t.Logf("wire %s~%s to TAP %s in namespace %s; capture %s", ea.Name(), eb.Name(), tap.Name(), ns.Name(), e.pcap)
	return fe
}

// setFaults sets the wire's faults both ways. The frames go on to a
// kernel, so checksums stay on whatever the faults.
func (e *faultyEnv) setFaults(f link.Faults) {
	e.w.SetFaults(link.Both, f)
	ea, eb := e.w.Ends()
	ea.Checksum.Store(true)
	eb.Checksum.Store(true)
}

// helper starts the kernel-side helper in mode.
func (e *faultyEnv) helper(ctx context.Context, mode string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", e.ns.Name(), os.Args[0], "-test.run=^TestHelperTCPFaults$", "-test.count=1")
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), tcpFaultsHelperEnv+"="+mode, "GORACE="+gorace)
	return cmd
}

// tcpFaultKinds are the faults of TestInteropTCPFaults, each on both
// directions of the wire between the stack and the TAP.
var tcpFaultKinds = []struct {
	name string
	f    link.Faults
	seen func(link.DirStats) uint64
}{
	{"loss", link.Faults{Loss: 0.01}, func(s link.DirStats) uint64 { return s.Lost }},
	{"reorder", link.Faults{Reorder: 0.02, ReorderDelay: time.Millisecond}, func(s link.DirStats) uint64 { return s.Reordered }},
	{"duplicate", link.Faults{Duplicate: 0.02}, func(s link.DirStats) uint64 { return s.Duplicated }},
}

// TestInteropTCPFaults: with 1% loss, 2% reordering or 2% duplication on
// bsdnet's side of the TAP, both ways, and over IPv4 and IPv6:
//   - the kernel connects to a bsdnet echo server and sends 64 MiB, which
//     come back byte-exact; the kernel half-closes, bsdnet sees EOF and
//     closes in turn, the kernel sees EOF;
//   - bsdnet connects to a kernel echo server, the same the other way;
//   - bsdnet aborts (SO_LINGER 0) and the kernel's next operations fail
//     with ECONNRESET;
//   - the kernel aborts and bsdnet's fail with ECONNRESET.
//
// Headers are captured on the TAP and checked by tshark.
func TestInteropTCPFaults(t *testing.T) {
	e := newFaultyEnv(t, 7)
	for i, fk := range tcpFaultKinds {
		fam := tcpFamilies[i%len(tcpFamilies)]
		t.Run(fk.name+"/"+fam.name, func(t *testing.T) {
			e.setFaults(fk.f)
			before := e.w.Stats()
			t.Run("LinuxClient", func(t *testing.T) { e.linuxClient(t, fam.network, netip.AddrPortFrom(fam.bsd, 8000)) })
			t.Run("BsdnetClient", func(t *testing.T) { e.bsdnetClient(t, fam.network, netip.AddrPortFrom(fam.linux, 9000)) })
			t.Run("BsdnetResets", func(t *testing.T) { e.bsdnetResets(t, fam.network, netip.AddrPortFrom(fam.bsd, 8001)) })
			t.Run("LinuxResets", func(t *testing.T) { e.linuxResets(t, fam.network, netip.AddrPortFrom(fam.bsd, 8001)) })
			after := e.w.Stats()
			n := fk.seen(after.AtoB) + fk.seen(after.BtoA) - fk.seen(before.AtoB) - fk.seen(before.BtoA)
			if n == 0 {
				t.Errorf("the wire applied no %s", fk.name)
			}
			t.Logf("%s: %d frames affected of %d", fk.name, n,
				after.AtoB.Sent+after.BtoA.Sent-before.AtoB.Sent-before.BtoA.Sent)
		})
	}
	e.setFaults(link.Faults{})
	tcp := &e.st.Inet().Stats.TCP
	t.Logf("bsdnet: %d segments retransmitted, %d retransmit timeouts, %d SACK recoveries, %d duplicate segments received, %d out of order",
		tcp.SndRexmitPack.Load(), tcp.RexmtTimeo.Load(), tcp.SackRecovery.Load(), tcp.RcvDupPack.Load(), tcp.RcvOOPack.Load())
	e.checkTCPCapture(t)
}

// linuxClient: the kernel's echo client against a bsdnet echo server.
func (e *faultyEnv) linuxClient(t *testing.T, network string, addr netip.AddrPort) {
	ln, err := e.st.Listen(network, addr.String())
	if err != nil {
		t.Fatalf("listen %v: %v", addr, err)
	}
	defer ln.Close()
	ln.(*bsdnet.Listener).SetDeadline(time.Now().Add(tcpFaultsDeadline))
	served := make(chan error, 1)
	go func() {
		served <- func() error {
			c, err := ln.Accept()
			if err != nil {
				return fmt.Errorf("accept: %w", err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(tcpFaultsDeadline))
			n, err := io.Copy(c, c)
			if err != nil {
				return fmt.Errorf("echo after %d bytes: %w", n, err)
			}
			if n != tcpFaultsSize {
				return fmt.Errorf("echoed %d bytes before EOF, want %d", n, tcpFaultsSize)
			}
			return c.(*bsdnet.Conn).CloseWrite()
		}()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), tcpFaultsDeadline+10*time.Second)
	defer cancel()
	start := time.Now()
	out, err := e.helper(ctx, fmt.Sprintf("echo-client %s %d", addr, tcpFaultsSize)).CombinedOutput()
	if err != nil {
		t.Errorf("helper echo client: %v\n%s", err, out)
	} else {
		t.Logf("helper: %s(%v)", out, time.Since(start))
	}
	if err := <-served; err != nil {
		t.Errorf("bsdnet echo server: %v", err)
	}
}

// bsdnetClient: bsdnet's client against the kernel's echo server.
func (e *faultyEnv) bsdnetClient(t *testing.T, network string, addr netip.AddrPort) {
	ctx, cancel := context.WithTimeout(context.Background(), tcpFaultsDeadline+10*time.Second)
	defer cancel()
	wait := startReadyHelper(t, e.helper(ctx, "echo-server "+addr.String()), cancel)
	dctx, dcancel := context.WithTimeout(ctx, 30*time.Second)
	c, err := e.st.DialContext(dctx, network, addr.String())
	dcancel()
	if err != nil {
		t.Fatalf("dial %v: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(tcpFaultsDeadline))
	msg := tcpPattern(tcpFaultsSize)
	start := time.Now()
	werr := make(chan error, 1)
	go func() {
		if _, err := c.Write(msg); err != nil {
			werr <- fmt.Errorf("write: %w", err)
			return
		}
		werr <- c.(*bsdnet.Conn).CloseWrite()
	}()
	got, rerr := io.ReadAll(c)
	if rerr != nil {
		t.Errorf("read echo after %d bytes: %v", len(got), rerr)
		c.Close()
	} else if d := firstDiff(got, msg); d >= 0 {
		t.Errorf("echo: got %d bytes, want %d; first difference at offset %d", len(got), len(msg), d)
	} else {
		t.Logf("%d bytes echoed and EOF seen in %v", len(got), time.Since(start))
	}
	if err := <-werr; err != nil {
		t.Error(err)
	}
	if out, err := wait(); err != nil {
		t.Errorf("helper echo server: %v\n%s", err, out)
	} else {
		t.Logf("helper: %s", strings.TrimSpace(out))
	}
}

// serveOne accepts one connection on a bsdnet listener at addr, answers
// "ping" with "pong" and then runs then on it.
func (e *faultyEnv) serveOne(t *testing.T, network string, addr netip.AddrPort, then func(c *bsdnet.Conn) error) <-chan error {
	ln, err := e.st.Listen(network, addr.String())
	if err != nil {
		t.Fatalf("listen %v: %v", addr, err)
	}
	ln.(*bsdnet.Listener).SetDeadline(time.Now().Add(tcpFaultsDeadline))
	served := make(chan error, 1)
	go func() {
		defer ln.Close()
		served <- func() error {
			nc, err := ln.Accept()
			if err != nil {
				return fmt.Errorf("accept: %w", err)
			}
			c := nc.(*bsdnet.Conn)
			defer c.Close()
			c.SetDeadline(time.Now().Add(tcpFaultsDeadline))
			buf := make([]byte, 4)
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
				return fmt.Errorf("read ping: %q, %v", buf, err)
			}
			if _, err := c.Write([]byte("pong")); err != nil {
				return err
			}
			return then(c)
		}()
	}()
	return served
}

// bsdnetResets: bsdnet closes with SO_LINGER 0; the kernel's reads and
// writes fail with ECONNRESET. bsdnet aborts only after the kernel's first
// byte after "pong" has arrived: an abort drops unacknowledged data, so a
// "pong" lost on the faulty wire and not yet resent would be dropped with
// it and the kernel would see the RST before the answer.
func (e *faultyEnv) bsdnetResets(t *testing.T, network string, addr netip.AddrPort) {
	served := e.serveOne(t, network, addr, func(c *bsdnet.Conn) error {
		one := make([]byte, 1)
		if _, err := io.ReadFull(c, one); err != nil || one[0] != 'x' {
			return fmt.Errorf("read the byte after pong: %q, %v", one, err)
		}
		l := socket.Linger{Onoff: 1, Linger: 0}
		if err := c.Socket().SetOpt(&socket.Sockopt{Dir: socket.SOPT_SET, Level: socket.SOL_SOCKET, Name: socket.SO_LINGER, Val: l.Bytes(), Valsize: socket.LingerLen}); err != nil {
			return fmt.Errorf("SO_LINGER: %w", err)
		}
		return c.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), tcpFaultsDeadline)
	defer cancel()
	out, err := e.helper(ctx, "await-reset "+addr.String()).CombinedOutput()
	if err != nil {
		t.Errorf("helper: %v\n%s", err, out)
	} else {
		t.Logf("helper: %s", strings.TrimSpace(string(out)))
	}
	if err := <-served; err != nil {
		t.Errorf("bsdnet server: %v", err)
	}
}

// linuxResets: the kernel closes with SO_LINGER 0; bsdnet, reading and
// writing a byte every 10 ms (so that a lost RST is sent again), sees the
// reset: a read fails with ECONNRESET. A write may fail first, with EPIPE,
// as FreeBSD's sosend checks SBS_CANTSENDMORE before so_error; the read
// after it still reports the reset.
func (e *faultyEnv) linuxResets(t *testing.T, network string, addr netip.AddrPort) {
	served := e.serveOne(t, network, addr, func(c *bsdnet.Conn) error {
		buf := make([]byte, 16)
		for i := 0; ; i++ {
			c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
			k, err := c.Read(buf)
			if k > 0 {
				return fmt.Errorf("read %q after the kernel's abort", buf[:k])
			}
			if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				return wantResetOp(i, err)
			}
			if _, err := c.Write([]byte{'y'}); err != nil {
				if errors.Is(err, syscall.ECONNRESET) {
					return wantResetOp(i, err)
				}
				if !errors.Is(err, syscall.EPIPE) {
					return fmt.Errorf("write after %d probes: %v; want EPIPE or ECONNRESET", i, err)
				}
				c.SetReadDeadline(time.Now().Add(time.Second))
				_, err := c.Read(buf)
				return wantResetOp(i, err)
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), tcpFaultsDeadline)
	defer cancel()
	out, err := e.helper(ctx, "reset "+addr.String()).CombinedOutput()
	if err != nil {
		t.Errorf("helper: %v\n%s", err, out)
	}
	if err := <-served; err != nil {
		t.Errorf("bsdnet: %v", err)
	}
}

// wantResetOp checks that bsdnet's i'th operation after the kernel's
// abort failed with ECONNRESET, wrapped as Go's net package wraps it.
func wantResetOp(i int, err error) error {
	var op *net.OpError
	if !errors.Is(err, syscall.ECONNRESET) || !errors.As(err, &op) {
		return fmt.Errorf("after %d probes: %v; want a *net.OpError with ECONNRESET", i, err)
	}
	return nil
}
