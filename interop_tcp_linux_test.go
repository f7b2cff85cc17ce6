//go:build linux

package bsdnet_test

// TCP interop tests: bsdnet's TCP against the Linux kernel's, over the TAP
// device and namespace that newInteropEnv (interop_linux_test.go) builds.
// The kernel side is the test binary re-executed inside the namespace as
// TestHelperTCP, with Go's net package on the kernel's sockets.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/socket"
)

// tcpInteropSize is the number of bytes sent each way in the bulk tests.
const tcpInteropSize = 8 << 20

// tcpPattern returns n bytes of a deterministic pattern that does not
// repeat with any short period, so a lost, duplicated or misplaced segment
// shows.
func tcpPattern(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// firstDiff returns the first offset where a and b differ, or -1.
func firstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return n
	}
	return -1
}

// The TCP helper process's environment variable:
//
//	"client ADDR N"  connects to ADDR, sends N pattern bytes while reading
//	                 the echo, half-closes, and checks the N bytes echoed
//	                 and then EOF;
//	"server ADDR"    listens on ADDR, says READY, accepts one connection
//	                 and echoes it until EOF, then closes;
//	"reset ADDR"     connects to ADDR, sends "ping", reads "pong", sends
//	                 "ack", and then wants ECONNRESET on its next read.
const tcpHelperEnv = "BSDNET_INTEROP_TCP_HELPER"

// TestHelperTCP is not a test: it is the Linux side of the TCP interop
// tests, run by them inside the namespace by re-executing the test binary
// with tcpHelperEnv set. Without the variable it does nothing.
func TestHelperTCP(t *testing.T) {
	helperMain(t, tcpHelperEnv, "tcp helper", tcpHelper)
}

func tcpHelper(mode string) error {
	f := strings.Fields(mode)
	if len(f) < 2 {
		return fmt.Errorf("bad %s=%q", tcpHelperEnv, mode)
	}
	network := "tcp4"
	if strings.HasPrefix(f[1], "[") {
		network = "tcp6"
	}
	deadline := time.Now().Add(20 * time.Second)
	switch f[0] {
	case "client":
		if len(f) != 3 {
			return fmt.Errorf("bad %s=%q", tcpHelperEnv, mode)
		}
		n, err := strconv.Atoi(f[2])
		if err != nil {
			return err
		}
		return helperEchoClient(network, f[1], n, 5*time.Second, deadline)
	case "server":
		return helperEchoServer(network, f[1], deadline)
	case "reset":
		c, err := net.DialTimeout(network, f[1], 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte("ping")); err != nil {
			return err
		}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "pong" {
			return fmt.Errorf("read pong: %q, %v", buf, err)
		}
		if _, err := c.Write([]byte("ack")); err != nil {
			return err
		}
		k, err := c.Read(buf)
		if !errors.Is(err, syscall.ECONNRESET) {
			return fmt.Errorf("read after the abort: %d bytes, %v; want ECONNRESET", k, err)
		}
		fmt.Printf("OK %v\n", err)
		return nil
	}
	return fmt.Errorf("bad mode %q", f[0])
}

// helperEchoClient is a helper process's echo client: it connects to addr
// (within dialTimeout), sends n pattern bytes while reading the echo,
// half-closes, and checks the n bytes echoed and then EOF, all before
// deadline.
func helperEchoClient(network, addr string, n int, dialTimeout time.Duration, deadline time.Time) error {
	c, err := net.DialTimeout(network, addr, dialTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(deadline)
	msg := tcpPattern(n)
	werr := make(chan error, 1)
	go func() {
		if _, err := c.Write(msg); err != nil {
			werr <- fmt.Errorf("write: %w", err)
			return
		}
		werr <- c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		return fmt.Errorf("read echo after %d bytes: %w", len(got), err)
	}
	if err := <-werr; err != nil {
		return err
	}
	if d := firstDiff(got, msg); d >= 0 {
		return fmt.Errorf("echo: got %d bytes, want %d; first difference at offset %d", len(got), n, d)
	}
	fmt.Printf("OK %d bytes echoed, EOF seen\n", len(got))
	return nil
}

// helperEchoServer is a helper process's echo server: it listens on addr,
// says READY, accepts one connection and echoes it until EOF, then closes
// its side in turn, all before deadline.
func helperEchoServer(network, addr string, deadline time.Time) error {
	ln, err := net.Listen(network, addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	ln.(*net.TCPListener).SetDeadline(deadline)
	fmt.Println("READY")
	c, err := ln.Accept()
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(deadline)
	n, err := io.Copy(c, c)
	if err != nil {
		return fmt.Errorf("echo after %d bytes: %w", n, err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	fmt.Printf("OK %d bytes echoed, EOF seen\n", n)
	return nil
}

// tcpHelperCmd is the test binary run as the TCP helper inside the
// namespace.
func (e *interopEnv) tcpHelperCmd(ctx context.Context, mode string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", e.ns.Name(), os.Args[0], "-test.run=^TestHelperTCP$", "-test.count=1")
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), tcpHelperEnv+"="+mode, "GORACE="+gorace)
	return cmd
}

// checkTCPCapture is checkCapture's check with the TCP checksum added:
// it stops the capture and has tshark check every frame: no malformed
// packet, no expert error, no bad IPv4, TCP, ICMP or ICMPv6 checksum, and
// the capture must not be empty. Unlike checkCapture it has tshark decode
// the test ports' payload as plain data: the 8 MiB of pseudo-random bytes
// otherwise set off heuristic dissectors (Thrift, ...) that report the
// "protocol" as broken, an expert error that is none of bsdnet's doing.
func (e *interopEnv) checkTCPCapture(t *testing.T) {
	t.Helper()
	if err := e.stopCapture(); err != nil {
		t.Fatalf("capture: %v", err)
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Fatal("tshark is not installed; the interop tests need it")
	}
	// Linux itself sends a TCP checksum that computes to zero as 0xffff,
	// which tshark calls bad (RFC 1624): checksums are judged on bsdnet's
	// frames only; malformed frames are judged on both sides.
	const filter = `_ws.malformed || _ws.expert.severity >= error || ((ip.src == 10.77.0.2 || ipv6.src == fd77::2) && (ip.checksum.status == "Bad" || tcp.checksum.status == "Bad" || udp.checksum.status == "Bad" || icmp.checksum.status == "Bad" || icmpv6.checksum.status == "Bad"))`
	run := func(args ...string) string {
		t.Helper()
		args = append([]string{"-r", e.pcap,
			"-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
			"-d", "tcp.port==8000,data", "-d", "tcp.port==8001,data", "-d", "tcp.port==9000,data"}, args...)
		cmd := exec.Command(tshark, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("tshark %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
		}
		return stdout.String()
	}
	bad := run("-Y", filter)
	if strings.TrimSpace(bad) != "" {
		t.Errorf("tshark finds bad packets in %s:\n%s\ndetail:\n%s", e.pcap, bad, run("-V", "-Y", filter))
	}
	frames := strings.Count(run("-T", "fields", "-e", "frame.number"), "\n")
	segs := strings.Count(run("-Y", "tcp", "-T", "fields", "-e", "frame.number"), "\n")
	rsts := strings.Count(run("-Y", "tcp.flags.reset == 1", "-T", "fields", "-e", "frame.number"), "\n")
	if frames == 0 || segs == 0 {
		t.Errorf("capture %s: %d frames, %d TCP segments", e.pcap, frames, segs)
	}
	verdict := "none bad"
	if strings.TrimSpace(bad) != "" {
		verdict = fmt.Sprintf("%d bad", strings.Count(strings.TrimSpace(bad), "\n")+1)
	}
	t.Logf("tshark: %d frames, %d TCP segments (%d RST), %s", frames, segs, rsts, verdict)
}

var tcpFamilies = []struct {
	name       string
	network    string
	linux, bsd netip.Addr
}{
	{"IPv4", "tcp4", linuxIP4, bsdnetIP4},
	{"IPv6", "tcp6", linuxIP6, bsdnetIP6},
}

// TestInteropTCPLinuxClient: the kernel connects to a bsdnet TCP echo
// server, sends 8 MiB and half-closes; bsdnet echoes it all, sees EOF and
// closes in turn; the kernel checks every byte and sees EOF. Then an
// abort: bsdnet closes with SO_LINGER 0 and the kernel's next read fails
// with ECONNRESET.
func TestInteropTCPLinuxClient(t *testing.T) {
	e := newInteropEnv(t)
	for _, fam := range tcpFamilies {
		t.Run(fam.name, func(t *testing.T) {
			addr := netip.AddrPortFrom(fam.bsd, 8000)
			ln, err := e.st.Listen(fam.network, addr.String())
			if err != nil {
				t.Fatalf("listen %v: %v", addr, err)
			}
			defer ln.Close()
			bl := ln.(*bsdnet.Listener)
			bl.SetDeadline(time.Now().Add(20 * time.Second))
			served := make(chan error, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					served <- fmt.Errorf("accept: %w", err)
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				n, err := io.Copy(c, c)
				if err != nil {
					served <- fmt.Errorf("echo after %d bytes: %w", n, err)
					return
				}
				if n != tcpInteropSize {
					served <- fmt.Errorf("echoed %d bytes before EOF, want %d", n, tcpInteropSize)
					return
				}
				served <- c.(*bsdnet.Conn).CloseWrite()
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
			defer cancel()
			start := time.Now()
			out, err := e.tcpHelperCmd(ctx, fmt.Sprintf("client %s %d", addr, tcpInteropSize)).CombinedOutput()
			if err != nil {
				t.Errorf("helper client: %v\n%s", err, out)
			} else {
				t.Logf("helper: %s(%v)", out, time.Since(start))
			}
			if err := <-served; err != nil {
				t.Errorf("bsdnet echo server: %v", err)
			}
		})
		t.Run(fam.name+"/Abort", func(t *testing.T) {
			addr := netip.AddrPortFrom(fam.bsd, 8001)
			ln, err := e.st.Listen(fam.network, addr.String())
			if err != nil {
				t.Fatalf("listen %v: %v", addr, err)
			}
			defer ln.Close()
			ln.(*bsdnet.Listener).SetDeadline(time.Now().Add(10 * time.Second))
			served := make(chan error, 1)
			go func() {
				served <- func() error {
					c, err := ln.Accept()
					if err != nil {
						return fmt.Errorf("accept: %w", err)
					}
					defer c.Close()
					c.SetDeadline(time.Now().Add(10 * time.Second))
					buf := make([]byte, 4)
					if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
						return fmt.Errorf("read ping: %q, %v", buf, err)
					}
					if _, err := c.Write([]byte("pong")); err != nil {
						return err
					}
					if _, err := io.ReadFull(c, buf[:3]); err != nil || string(buf[:3]) != "ack" {
						return fmt.Errorf("read ack: %q, %v", buf[:3], err)
					}
					l := socket.Linger{Onoff: 1, Linger: 0}
					if err := c.(*bsdnet.Conn).Socket().SetOpt(&socket.Sockopt{Dir: socket.SOPT_SET, Level: socket.SOL_SOCKET, Name: socket.SO_LINGER, Val: l.Bytes(), Valsize: socket.LingerLen}); err != nil {
						return fmt.Errorf("SO_LINGER: %w", err)
					}
					return c.Close()
				}()
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			out, err := e.tcpHelperCmd(ctx, fmt.Sprintf("reset %s", addr)).CombinedOutput()
			if err != nil {
				t.Errorf("helper: %v\n%s", err, out)
			} else if !bytes.Contains(out, []byte("connection reset by peer")) {
				t.Errorf("helper: %s, want connection reset by peer", out)
			} else {
				t.Logf("helper: %s", out)
			}
			if err := <-served; err != nil {
				t.Errorf("bsdnet server: %v", err)
			}
		})
	}
	e.checkTCPCapture(t)
}

// TestInteropTCPBsdnetClient: bsdnet connects to a kernel TCP echo server
// and exchanges 8 MiB each way, writing and reading at once; it
// half-closes when done writing, the kernel sees EOF and closes in turn,
// and bsdnet sees EOF after the last echoed byte.
func TestInteropTCPBsdnetClient(t *testing.T) {
	e := newInteropEnv(t)
	for _, fam := range tcpFamilies {
		t.Run(fam.name, func(t *testing.T) {
			addr := netip.AddrPortFrom(fam.linux, 9000)
			ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
			defer cancel()
			wait := startReadyHelper(t, e.tcpHelperCmd(ctx, "server "+addr.String()), cancel)

			dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
			c, err := e.st.DialContext(dctx, fam.network, addr.String())
			dcancel()
			if err != nil {
				t.Fatalf("dial %v: %v", addr, err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			msg := tcpPattern(tcpInteropSize)
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
			} else if d := firstDiff(got, msg); d >= 0 {
				t.Errorf("echo: got %d bytes, want %d; first difference at offset %d", len(got), len(msg), d)
			} else {
				t.Logf("%d bytes echoed and EOF seen in %v", len(got), time.Since(start))
			}
			if err := <-werr; err != nil {
				t.Errorf("%v", err)
			}
			if rerr != nil {
				c.Close()
			}
			out, err := wait()
			if err != nil {
				t.Errorf("helper server: %v\n%s", err, out)
			} else {
				t.Logf("helper: %s", strings.TrimSpace(out))
			}
		})
	}
	e.checkTCPCapture(t)
}
