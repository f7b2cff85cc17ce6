//go:build linux

package bsdnet_test

// Interop tests: bsdnet against the Linux kernel's own TCP/IP stack, the
// peer DESIGN.md names. Each test gets a network namespace (internal/netns)
// with a TAP device in it: the kernel end is 10.77.0.1 and fd77::1, the
// bsdnet end 10.77.0.2 and fd77::2. Every frame on the device is captured
// and checked with tshark when the exchanges are over.
//
// These tests need root (CI runs as root); without it, or without network
// namespaces, they skip and say why.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/inet"
	"github.com/bsdnet/bsdnet/internal/netns"
	"github.com/bsdnet/bsdnet/link"
	"github.com/bsdnet/bsdnet/socket"
)

var (
	linuxIP4  = netip.MustParseAddr("10.77.0.1")
	bsdnetIP4 = netip.MustParseAddr("10.77.0.2")
	linuxIP6  = netip.MustParseAddr("fd77::1")
	bsdnetIP6 = netip.MustParseAddr("fd77::2")
)

// interopSizes are the UDP payload sizes exchanged with Linux: the last is
// larger than the TAP's 1500-byte MTU, so it travels in fragments both
// ways.
var interopSizes = []int{1, 100, 1400, 4000}

// interopEnv is one test's bsdnet stack, joined to a fresh namespace's
// kernel stack by a TAP device whose frames are captured.
type interopEnv struct {
	st   *bsdnet.Stack
	tap  *link.Ifnet
	ns   *netns.NS
	pcap string

	stopOnce sync.Once
	stopErr  error
	stop     func() error
	file     *os.File
}

// newInteropEnv builds the namespace, the TAP device and the stack, and
// starts the capture. Everything is undone by t.Cleanup.
func newInteropEnv(t *testing.T) *interopEnv {
	t.Helper()
	// The namespace first: New skips when there can be none, and its
	// deletion, registered first, runs after the device has been closed.
	ns := netns.New(t, "interop")
	st := bsdnet.NewStack(bsdnet.WithName("interop"), bsdnet.WithSeed(77))
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
	if err := st.AddInterface(tap, "10.77.0.2/24", "fd77::2/64"); err != nil {
		t.Fatal(err)
	}
	e := &interopEnv{st: st, tap: tap, ns: ns, pcap: filepath.Join(t.TempDir(), "interop.pcap")}
	e.file, err = os.Create(e.pcap)
	if err != nil {
		t.Fatal(err)
	}
	e.stop, err = link.Capture(tap, e.file)
	if err != nil {
		e.file.Close()
		t.Fatal(err)
	}
	// Registered after the stack's and the device's closing, so it runs
	// before them (and is a no-op when the test stopped it already).
	t.Cleanup(func() {
		if err := e.stopCapture(); err != nil {
			t.Errorf("capture: %v", err)
		}
	})
	t.Logf("TAP %s (%v) in namespace %s; capture %s", tap.Name(), tap.HWAddr(), ns.Name(), e.pcap)
	return e
}

// stopCapture detaches the capture and closes its file, once.
func (e *interopEnv) stopCapture() error {
	e.stopOnce.Do(func() {
		e.stopErr = errors.Join(e.stop(), e.file.Close())
	})
	return e.stopErr
}

// socket makes a socket on the stack with root's credential, closed when
// the test ends.
func (e *interopEnv) socket(t *testing.T, dom, typ, proto int) *socket.Socket {
	t.Helper()
	so, err := e.st.Socket(dom, typ, proto, socket.RootCred())
	if err != nil {
		t.Fatalf("socket(%d, %d, %d): %v", dom, typ, proto, err)
	}
	t.Cleanup(func() { so.Close() })
	return so
}

// checkCapture stops the capture and has tshark check every frame in it:
// no malformed packet, no expert error, no bad IPv4, UDP, ICMP or ICMPv6
// checksum; and the capture must not be empty.
func (e *interopEnv) checkCapture(t *testing.T) {
	t.Helper()
	if err := e.stopCapture(); err != nil {
		t.Fatalf("capture: %v", err)
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Fatal("tshark is not installed; .ci/run installs it (apt-get install -y tshark), and the interop tests need it to check the packets bsdnet exchanged with Linux")
	}
	const filter = `_ws.malformed || _ws.expert.severity >= error || ip.checksum.status == "Bad" || udp.checksum.status == "Bad" || icmp.checksum.status == "Bad" || icmpv6.checksum.status == "Bad"`
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(tshark, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("tshark %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
		}
		return stdout.String()
	}
	bad := run("-r", e.pcap, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-Y", filter)
	if strings.TrimSpace(bad) != "" {
		full := run("-r", e.pcap, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-V", "-Y", filter)
		t.Errorf("tshark finds bad packets in %s:\n%s\ndetail:\n%s", e.pcap, bad, full)
	}
	frames := strings.Count(run("-r", e.pcap, "-T", "fields", "-e", "frame.number"), "\n")
	if frames == 0 {
		t.Errorf("capture %s is empty", e.pcap)
	}
	t.Logf("tshark: %d frames, none bad", frames)
}

// TestInteropLinuxPingsBsdnet: the kernel's ping(8) gets answers from
// bsdnet over IPv4 and IPv6, and bsdnet counts the echoes.
func TestInteropLinuxPingsBsdnet(t *testing.T) {
	e := newInteropEnv(t)
	if _, err := exec.LookPath("ping"); err != nil {
		t.Fatal("ping is not installed; .ci/run installs it (apt-get install -y iputils-ping)")
	}
	for _, args := range [][]string{
		{"ping", "-c", "3", "-W", "2", "-i", "0.2", bsdnetIP4.String()},
		{"ping", "-6", "-c", "3", "-W", "2", "-i", "0.2", bsdnetIP6.String()},
		// Echo requests larger than the MTU: reassembled by bsdnet, and
		// the replies fragmented by bsdnet and reassembled by Linux.
		{"ping", "-c", "3", "-W", "2", "-i", "0.2", "-s", "3000", bsdnetIP4.String()},
		{"ping", "-6", "-c", "3", "-W", "2", "-i", "0.2", "-s", "3000", bsdnetIP6.String()},
	} {
		// A loaded machine can stall the TAP reader for seconds (seen
		// once in thirty runs under an artificial load): try a command
		// again before calling it a failure.
		var out []byte
		var err error
		for try := 0; try < 3; try++ {
			if out, err = e.ns.Exec(args...); err == nil && bytes.Contains(out, []byte("3 received")) {
				break
			}
		}
		if err != nil || !bytes.Contains(out, []byte("3 received")) {
			t.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	s := &e.st.Inet().Stats
	for _, c := range []struct {
		name string
		st   *inet.ICMPStats
	}{{"ICMP", &s.ICMP}, {"ICMPv6", &s.ICMP6}} {
		if in, out := c.st.InEcho.Load(), c.st.Reflect.Load(); in < 6 || out < 6 {
			t.Errorf("%s: %d echo requests received and %d replies sent, want at least 6 each", c.name, in, out)
		}
	}
	e.checkCapture(t)
}

// TestInteropBsdnetPingsLinux: a raw ICMP socket on bsdnet sends an echo
// request to the kernel and receives its reply, over IPv4 and IPv6.
func TestInteropBsdnetPingsLinux(t *testing.T) {
	e := newInteropEnv(t)
	payload := []byte("bsdnet ping payload 0123456789")
	for _, tc := range []struct {
		name  string
		dom   int
		proto int
		dst   netip.Addr
	}{
		{"IPv4", socket.AF_INET, inet.IPPROTO_ICMP, linuxIP4},
		{"IPv6", socket.AF_INET6, inet.IPPROTO_ICMPV6, linuxIP6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			so := e.socket(t, tc.dom, socket.SOCK_RAW, tc.proto)
			const id, seq = 0x4242, 1
			pkt := make([]byte, header.ICMPv4MinLen+len(payload))
			copy(pkt[header.ICMPv4MinLen:], payload)
			if tc.dom == socket.AF_INET {
				ic := header.ICMPv4(pkt)
				ic.SetType(header.ICMPv4Echo)
				ic.SetID(id)
				ic.SetSeq(seq)
				ic.ComputeChecksum()
			} else {
				// The stack computes the ICMPv6 checksum (RFC 3542, 3.1).
				ic := header.ICMPv6(pkt)
				ic.SetType(header.ICMPv6EchoRequest)
				ic.SetID(id)
				ic.SetSeq(seq)
			}
			u := socket.UioBuf(pkt)
			if err := so.Send(context.Background(), socket.SockaddrFromAddrPort(netip.AddrPortFrom(tc.dst, 0)), &u, nil, nil, 0); err != nil {
				t.Fatalf("send echo request: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			for {
				buf := make([]byte, 2048)
				u := socket.UioBuf(buf)
				var from socket.Sockaddr
				var flags int
				if err := so.Receive(ctx, &from, &u, nil, nil, &flags); err != nil {
					t.Fatalf("no echo reply from %v: %v", tc.dst, err)
				}
				got := buf[:len(buf)-u.Resid]
				var typ uint8
				var rid, rseq uint16
				var body []byte
				if tc.dom == socket.AF_INET {
					// IPv4 raw sockets get the IP header too.
					ip := header.IPv4(got)
					if len(got) < 20 || ip.Version() != 4 || len(got) < ip.HeaderLen()+header.ICMPv4MinLen {
						t.Fatalf("short or bad IPv4 packet on a raw socket: % x", got)
					}
					ic := header.ICMPv4(got[ip.HeaderLen():])
					if !ic.ChecksumValid() {
						t.Errorf("ICMP message with a bad checksum: % x", ic)
					}
					typ, rid, rseq, body = ic.Type(), ic.ID(), ic.Seq(), ic.Payload()
					if typ != header.ICMPv4EchoReply {
						continue
					}
				} else {
					// IPv6 raw sockets get the ICMPv6 message only.
					if len(got) < header.ICMPv6MinLen {
						t.Fatalf("short ICMPv6 message: % x", got)
					}
					ic := header.ICMPv6(got)
					typ, rid, rseq, body = ic.Type(), ic.ID(), ic.Seq(), ic.Payload()
					if typ != header.ICMPv6EchoReply {
						continue
					}
					if !ic.ChecksumValid(tc.dst, bsdnetIP6) {
						t.Errorf("ICMPv6 echo reply with a bad checksum: % x", got)
					}
				}
				if sa, ok := addrOf(from); !ok || sa.Addr() != tc.dst {
					t.Errorf("echo reply from %v, want %v", socket.FormatSockaddr(from), tc.dst)
				}
				if rid != id || rseq != seq || !bytes.Equal(body, payload) {
					t.Errorf("echo reply id %#x seq %d payload %q, want %#x %d %q", rid, rseq, body, id, seq, payload)
				}
				break
			}
		})
	}
	e.checkCapture(t)
}

// addrOf returns the address and port of an inet sockaddr.
func addrOf(sa socket.Sockaddr) (netip.AddrPort, bool) {
	switch a := sa.(type) {
	case socket.SockaddrInet4:
		return a.AddrPort(), true
	case socket.SockaddrInet6:
		return a.AddrPort(), true
	case *socket.SockaddrInet4:
		return a.AddrPort(), true
	case *socket.SockaddrInet6:
		return a.AddrPort(), true
	}
	return netip.AddrPort{}, false
}

// payloadOf returns n bytes of a pattern that differs per size and per
// position, so that a misplaced fragment shows.
func payloadOf(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + n + i/251)
	}
	return b
}

// The helper process's environment variable: "server ADDR N" echoes N
// datagrams on ADDR, "client ADDR SIZE,SIZE,..." sends one datagram of
// each size to ADDR and checks the echoes.
const udpEchoHelperEnv = "BSDNET_INTEROP_UDP_ECHO_HELPER"

// TestHelperUDPEcho is not a test: it is the Linux side of the UDP
// interop tests, run by them inside the namespace by re-executing the test
// binary with udpEchoHelperEnv set. Without the variable it does nothing.
func TestHelperUDPEcho(t *testing.T) {
	helperMain(t, udpEchoHelperEnv, "udp echo helper", udpEchoHelper)
}

// startReadyHelper starts cmd, a helper process that says READY on its
// standard output once it serves, and waits for that line. wait ends it
// (at the latest when the test does, after cancel, which should end cmd's
// context) and returns the rest of its output, stderr last, and its exit
// status. The rest of stdout is read to the end before Wait, which closes
// the pipe.
func startReadyHelper(t *testing.T, cmd *exec.Cmd, cancel func()) (wait func() (string, error)) {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	drained := make(chan string, 1)
	go func() {
		var rest strings.Builder
		sc := bufio.NewScanner(stdout)
		said := false
		for sc.Scan() {
			if !said && sc.Text() == "READY" {
				said = true
				ready <- true
				continue
			}
			rest.WriteString(sc.Text() + "\n")
		}
		if !said {
			ready <- false
		}
		drained <- rest.String()
	}()
	waited := false
	var output string
	var werr error
	wait = func() (string, error) {
		if !waited {
			waited = true
			output = <-drained
			werr = cmd.Wait()
			output += stderr.String()
		}
		return output, werr
	}
	t.Cleanup(func() {
		if !waited {
			cancel()
			wait()
		}
	})
	if !<-ready {
		out, err := wait()
		t.Fatalf("helper server did not start: %v\n%s", err, out)
	}
	return wait
}

// helperMain is the body of a TestHelper function: the Linux side of an
// interop test, run by it inside the namespace by re-executing the test
// binary with env set to the mode. Without env it skips; with it, it runs
// run(mode) and exits 0, or 1 saying why on stderr (as label).
func helperMain(t *testing.T, env, label string, run func(mode string) error) {
	mode := os.Getenv(env)
	if mode == "" {
		t.Skip("a helper process of the interop tests; runs only when they start it")
	}
	if err := run(mode); err != nil {
		fmt.Fprintln(os.Stderr, label+":", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func udpEchoHelper(mode string) error {
	f := strings.Fields(mode)
	if len(f) != 3 {
		return fmt.Errorf("bad %s=%q", udpEchoHelperEnv, mode)
	}
	network := "udp4"
	if strings.HasPrefix(f[1], "[") {
		network = "udp6"
	}
	switch f[0] {
	case "server":
		n, err := strconv.Atoi(f[2])
		if err != nil {
			return err
		}
		pc, err := net.ListenPacket(network, f[1])
		if err != nil {
			return err
		}
		defer pc.Close()
		fmt.Println("READY")
		pc.SetDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 65536)
		for i := 0; i < n; i++ {
			k, from, err := pc.ReadFrom(buf)
			if err != nil {
				return fmt.Errorf("datagram %d: %w", i, err)
			}
			if _, err := pc.WriteTo(buf[:k], from); err != nil {
				return fmt.Errorf("echo %d bytes to %v: %w", k, from, err)
			}
		}
		return nil
	case "client":
		raddr, err := net.ResolveUDPAddr(network, f[1])
		if err != nil {
			return err
		}
		c, err := net.DialUDP(network, nil, raddr)
		if err != nil {
			return err
		}
		defer c.Close()
		buf := make([]byte, 65536)
		for _, s := range strings.Split(f[2], ",") {
			size, err := strconv.Atoi(s)
			if err != nil {
				return err
			}
			msg := payloadOf(size)
			if _, err := c.Write(msg); err != nil {
				return fmt.Errorf("send %d bytes: %w", size, err)
			}
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			k, err := c.Read(buf)
			if err != nil {
				return fmt.Errorf("echo of %d bytes: %w", size, err)
			}
			if !bytes.Equal(buf[:k], msg) {
				return fmt.Errorf("echo of %d bytes: got %d bytes that differ", size, k)
			}
		}
		return nil
	}
	return fmt.Errorf("bad mode %q", f[0])
}

// helperCmd is the test binary run as the UDP echo helper inside the
// namespace.
func (e *interopEnv) helperCmd(ctx context.Context, mode string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", e.ns.Name(), os.Args[0], "-test.run=^TestHelperUDPEcho$", "-test.count=1")
	// Under the race detector a process sleeps a second when it exits
	// (atexit_sleep_ms), which would be most of these tests' time.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), udpEchoHelperEnv+"="+mode, "GORACE="+gorace)
	return cmd
}

// TestInteropUDP exchanges datagrams of 1, 100, 1400 and 4000 bytes with a
// UDP echo server in Go on Linux (bsdnet is the client), and with one on
// bsdnet (Linux is the client), over IPv4 and IPv6. The 4000-byte
// datagrams are fragmented by the sender and reassembled by the receiver,
// each way.
func TestInteropUDP(t *testing.T) {
	e := newInteropEnv(t)
	for _, fam := range []struct {
		name       string
		dom        int
		linux, bsd netip.Addr
	}{
		{"IPv4", socket.AF_INET, linuxIP4, bsdnetIP4},
		{"IPv6", socket.AF_INET6, linuxIP6, bsdnetIP6},
	} {
		t.Run(fam.name+"/BsdnetClient", func(t *testing.T) {
			srv := netip.AddrPortFrom(fam.linux, 7777)
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			cmd := e.helperCmd(ctx, fmt.Sprintf("server %s %d", srv, len(interopSizes)))
			wait := startReadyHelper(t, cmd, cancel)

			so := e.socket(t, fam.dom, socket.SOCK_DGRAM, 0)
			if err := so.SetOptInt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536); err != nil {
				t.Fatal(err)
			}
			if err := so.SetOptInt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536); err != nil {
				t.Fatal(err)
			}
			to := socket.SockaddrFromAddrPort(srv)
			for _, size := range interopSizes {
				msg := payloadOf(size)
				u := socket.UioBuf(msg)
				if err := so.Send(ctx, to, &u, nil, nil, 0); err != nil {
					t.Fatalf("send %d bytes: %v", size, err)
				}
				rctx, rcancel := context.WithTimeout(ctx, 3*time.Second)
				buf := make([]byte, 65536)
				ru := socket.UioBuf(buf)
				var from socket.Sockaddr
				var flags int
				err := so.Receive(rctx, &from, &ru, nil, nil, &flags)
				rcancel()
				if err != nil {
					t.Fatalf("echo of %d bytes: %v", size, err)
				}
				got := buf[:len(buf)-ru.Resid]
				if !bytes.Equal(got, msg) {
					t.Fatalf("echo of %d bytes: got %d bytes that differ", size, len(got))
				}
				if flags&socket.MSG_TRUNC != 0 {
					t.Errorf("echo of %d bytes: MSG_TRUNC", size)
				}
				if a, ok := addrOf(from); !ok || a != srv {
					t.Errorf("echo of %d bytes from %s, want %v", size, socket.FormatSockaddr(from), srv)
				}
			}
			if out, err := wait(); err != nil {
				t.Fatalf("helper server: %v\n%s", err, out)
			}
		})

		t.Run(fam.name+"/LinuxClient", func(t *testing.T) {
			srvAddr := netip.AddrPortFrom(fam.bsd, 7)
			so := e.socket(t, fam.dom, socket.SOCK_DGRAM, 0)
			if err := so.SetOptInt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536); err != nil {
				t.Fatal(err)
			}
			if err := so.SetOptInt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536); err != nil {
				t.Fatal(err)
			}
			if err := so.Bind(socket.SockaddrFromAddrPort(srvAddr)); err != nil {
				t.Fatal(err)
			}
			// The echo server: one goroutine, until the client is done.
			sctx, scancel := context.WithCancel(context.Background())
			echoed := make(chan error, 1)
			go func() {
				n := 0
				for {
					buf := make([]byte, 65536)
					u := socket.UioBuf(buf)
					var from socket.Sockaddr
					var flags int
					if err := so.Receive(sctx, &from, &u, nil, nil, &flags); err != nil {
						if sctx.Err() != nil {
							err = nil
						}
						if err == nil && n != len(interopSizes) {
							err = fmt.Errorf("echoed %d datagrams, want %d", n, len(interopSizes))
						}
						echoed <- err
						return
					}
					got := buf[:len(buf)-u.Resid]
					su := socket.UioBuf(got)
					if err := so.Send(sctx, from, &su, nil, nil, 0); err != nil {
						echoed <- fmt.Errorf("echo %d bytes to %s: %w", len(got), socket.FormatSockaddr(from), err)
						return
					}
					n++
				}
			}()
			sizes := make([]string, len(interopSizes))
			for i, s := range interopSizes {
				sizes[i] = strconv.Itoa(s)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			out, err := e.helperCmd(ctx, fmt.Sprintf("client %s %s", srvAddr, strings.Join(sizes, ","))).CombinedOutput()
			scancel()
			if err != nil {
				t.Errorf("helper client: %v\n%s", err, out)
			}
			if err := <-echoed; err != nil {
				t.Errorf("bsdnet echo server: %v", err)
			}
		})
	}
	s := &e.st.Inet().Stats
	if s.IP.Fragmented.Load() < 2 || s.IP.Reassembled.Load() < 2 {
		t.Errorf("IPv4: %d packets fragmented and %d reassembled, want at least 2 each", s.IP.Fragmented.Load(), s.IP.Reassembled.Load())
	}
	if s.IP6.Fragmented.Load() < 2 || s.IP6.Reassembled.Load() < 2 {
		t.Errorf("IPv6: %d packets fragmented and %d reassembled, want at least 2 each", s.IP6.Fragmented.Load(), s.IP6.Reassembled.Load())
	}
	if s.UDP.BadSum.Load() != 0 || s.IP.BadSum.Load() != 0 {
		t.Errorf("bad checksums from Linux: UDP %d, IP %d", s.UDP.BadSum.Load(), s.IP.BadSum.Load())
	}
	if v4, v6 := e.st.Inet().Pending(); v4+v6 != 0 {
		t.Errorf("reassembly queues left: IPv4 %d, IPv6 %d", v4, v6)
	}
	e.checkCapture(t)
}

// TestInteropPortUnreachable: a datagram to a closed port on Linux brings
// back an ICMP port unreachable, which the connected bsdnet socket reports
// as ECONNREFUSED on its next receive. Linux rate-limits ICMP errors: one
// datagram per family is sent.
func TestInteropPortUnreachable(t *testing.T) {
	e := newInteropEnv(t)
	for _, tc := range []struct {
		name string
		dom  int
		dst  netip.AddrPort
	}{
		{"IPv4", socket.AF_INET, netip.AddrPortFrom(linuxIP4, 9)},
		{"IPv6", socket.AF_INET6, netip.AddrPortFrom(linuxIP6, 9)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			so := e.socket(t, tc.dom, socket.SOCK_DGRAM, 0)
			if err := so.Connect(socket.SockaddrFromAddrPort(tc.dst)); err != nil {
				t.Fatal(err)
			}
			// Linux rate-limits its unreachables and a loaded machine may
			// delay them: probe again a few times before failing.
			var err error
			for try := 0; try < 4; try++ {
				u := socket.UioBuf([]byte("is anyone there?"))
				if err := so.Send(context.Background(), nil, &u, nil, nil, 0); err != nil && !errors.Is(err, syscall.ECONNREFUSED) {
					t.Fatalf("send: %v", err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				buf := make([]byte, 100)
				ru := socket.UioBuf(buf)
				var flags int
				err = so.Receive(ctx, nil, &ru, nil, nil, &flags)
				cancel()
				if errors.Is(err, syscall.ECONNREFUSED) {
					break
				}
			}
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("receive after sending to %v: %v, want ECONNREFUSED", tc.dst, err)
			}
		})
	}
	s := &e.st.Inet().Stats
	if s.ICMP.InErrors.Load() < 1 || s.ICMP6.InErrors.Load() < 1 {
		t.Errorf("ICMP errors passed to protocols: IPv4 %d, IPv6 %d, want at least 1 each", s.ICMP.InErrors.Load(), s.ICMP6.InErrors.Load())
	}
	e.checkCapture(t)
}
