//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bsdnet/bsdnet/internal/netns"
)

// TestTap runs the tap subcommand's logic in-process with the device moved
// into a network namespace (instead of -configure, which configures the
// root namespace): the kernel there pings bsdnet over IPv4 and IPv6 and
// sends datagrams to its discard and echo ports, and the counters the run
// prints at the end show it all.
func TestTap(t *testing.T) {
	ns := netns.New(t, "tap")
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("the kernel side needs ping(8) (iputils-ping): ", err)
	}
	o, err := parseTap([]string{"-duration", "30s"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	o.hostSide = func(dev string, host []netip.Prefix) error {
		if len(host) != 2 || host[0].String() != "10.99.0.1/24" || host[1].String() != "fd99::1/64" {
			t.Errorf("host side %v, want 10.99.0.1/24 and fd99::1/64", host)
		}
		return ns.AdoptTAP(dev, host[0].String(), host[1].String())
	}
	ready := make(chan string, 1)
	o.ready = func(dev string) { ready <- dev }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out lockedBuffer
	done := make(chan error, 1)
	go func() { done <- tapRun(ctx, o, &out) }()
	select {
	case dev := <-ready:
		t.Logf("TAP %s in namespace %s", dev, ns.Name())
	case err := <-done:
		t.Fatalf("tap: %v\n%s", err, out.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("tap did not come up:\n%s", out.String())
	}

	// A loaded machine can stall the TAP reader: try each command again
	// before calling it a failure.
	try := func(want string, args ...string) {
		t.Helper()
		var b []byte
		var err error
		for range 3 {
			if b, err = ns.Exec(args...); err == nil && bytes.Contains(b, []byte(want)) {
				return
			}
		}
		t.Errorf("%s: %v\n%s", strings.Join(args, " "), err, b)
	}
	try("3 received", "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.99.0.2")
	try("3 received", "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", "fd99::2")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	try(`echoed: "hello bsdnet`, "env", "BSDNET_TEST_UDP=10.99.0.2", exe)
	try(`echoed: "hello bsdnet`, "env", "BSDNET_TEST_UDP=fd99::2", exe)
	try("http bytes: 100000 bytes, as sent", "env", "BSDNET_TEST_TCP=10.99.0.2", exe)
	try("http bytes: 100000 bytes, as sent", "env", "BSDNET_TEST_TCP=fd99::2", exe)

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("tap: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		"serving echo (port 7) and discard (port 9) over TCP and UDP, and HTTP (port 80)",
		"ping -c 3 10.99.0.2", "ping -6 -c 3 fd99::2", "curl http://[fd99::2]/",
		"UDP echo: 14 bytes from", "UDP discard: 15 bytes from",
		"TCP echo: connection from 10.99.0.1:", "TCP echo: connection from [fd99::1]:",
		": 21 bytes echoed", ": 100000 bytes discarded",
		"HTTP: GET /bytes?n=100000 from 10.99.0.1:", "HTTP: GET / from [fd99::1]:",
		"netstat -s", "netstat -i",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	// The counters moved: at least 3 echo requests each way over each
	// family, and at least 2 datagrams to each UDP service.
	counter := func(re string) int {
		m := regexp.MustCompile(re).FindStringSubmatch(s)
		if m == nil {
			t.Errorf("no %q in:\n%s", re, s)
			return 0
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	for _, re := range []string{
		`(\d+) ICMP echo requests received`, `ICMP echo requests received, (\d+) echo replies sent`,
		`(\d+) ICMPv6 echo requests received`, `ICMPv6 echo requests received, (\d+) echo replies sent`,
	} {
		if n := counter(re); n < 3 {
			t.Errorf("%s: %d, want at least 3", re, n)
		}
	}
	for _, re := range []string{`(\d+) datagrams \(\d+ bytes\) to UDP echo`, `(\d+) datagrams \(\d+ bytes\) to UDP discard`,
		`(\d+) connections \(\d+ bytes echoed\) to TCP echo`, `(\d+) connections \(\d+ bytes discarded\) to TCP discard`} {
		if n := counter(re); n < 2 {
			t.Errorf("%s: %d, want at least 2", re, n)
		}
	}
	if n := counter(`(\d+) requests \(\d+ bytes of responses\) to HTTP`); n < 4 {
		t.Errorf("%d HTTP requests, want at least 4", n)
	}
	if n := counter(`(\d+) datagrams? output`); n < 2 {
		t.Errorf("%d UDP datagrams output, want the echoes", n)
	}
	// TCP counters: what the kernel's clients sent, bsdnet received in
	// sequence; at least the 2x100000 discarded bytes.
	if n := counter(`\d+ packets? \((\d+) bytes?\) received in-sequence`); n < 200000 {
		t.Errorf("%d TCP bytes received in sequence, want at least 200000", n)
	}
	if n := counter(`\d+ data packets? \((\d+) bytes?\)\n`); n < 200000 {
		t.Errorf("%d TCP bytes sent, want at least the two 100000-byte bodies", n)
	}
	// netstat -an, taken before the services stopped: the listeners.
	for _, port := range []string{"7", "9", "80"} {
		if !regexp.MustCompile(`(?m)^bsdnet\s+tcp46\s+0\s+0\s+\*\.` + port + `\s+\*\.\*\s+LISTEN$`).MatchString(s) {
			t.Errorf("netstat -an lacks the TCP listener on port %s", port)
		}
		if !regexp.MustCompile(`(?m)^bsdnet\s+udp46\s+0\s+0\s+\*\.`+port+`\s+\*\.\*\s*$`).MatchString(s) && port != "80" {
			t.Errorf("netstat -an lacks the UDP socket on port %s", port)
		}
	}
	// netstat -i: the TAP interface received and sent packets.
	m := regexp.MustCompile(`bsdnet\s+(bsdnet\d+)\s+1500\s+10\.99\.0\.0/24\s+10\.99\.0\.2\s+(\d+)\s+\d+\s+\d+\s+\d+\s+(\d+)`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no TAP row in netstat -i:\n%s", s)
	}
	if in, _ := strconv.Atoi(m[2]); in < 10 {
		t.Errorf("%s received %d packets", m[1], in)
	}
	if outp, _ := strconv.Atoi(m[3]); outp < 10 {
		t.Errorf("%s sent %d packets", m[1], outp)
	}
	t.Logf("\n%s", s)
}

// TestNcTap runs nc on a stack attached to a TAP device whose kernel side
// is in a network namespace, against the kernel's TCP: nc connects to a
// server the test binary runs in the namespace, and nc -l takes a
// connection from it.
func TestNcTap(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		args     []string
		peerMode string
		peerAddr string
		in       string
		want     string // what nc prints
		peerWant string // what the kernel's side prints
	}{
		{"connect", []string{"10.99.0.1", "5000"}, "serve", "10.99.0.1:5000", "hello from bsdnet\n",
			"kernel got 18 bytes: hello from bsdnet\n", "listening"},
		{"connect6", []string{"-6", "fd99::1", "5000"}, "serve", "[fd99::1]:5000", "hello over IPv6\n",
			"kernel got 16 bytes: hello over IPv6\n", "listening"},
		{"listen", []string{"-l", "5000"}, "connect", "10.99.0.2:5000", "hello from bsdnet nc -l\n",
			"hello from the kernel\n", `kernel read: "hello from bsdnet nc -l\n"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			ns := netns.New(t, "nc")
			args := append([]string{"-v", "-w", "20s", "-tap", "bsdnet%d"}, c.args...)
			o, err := parseNc(args, os.Stderr)
			if err != nil {
				t.Fatal(err)
			}
			peer := exec.Command("ip", "netns", "exec", ns.Name(), "env", "BSDNET_TEST_NC="+c.peerMode, "BSDNET_TEST_ADDR="+c.peerAddr, exe)
			var peerOut lockedBuffer
			peer.Stdout, peer.Stderr = &peerOut, &peerOut
			o.hostSide = func(dev string, host []netip.Prefix) error {
				if err := ns.AdoptTAP(dev, host[0].String(), host[1].String()); err != nil {
					return err
				}
				if err := peer.Start(); err != nil {
					return err
				}
				// A server must listen before nc connects.
				for wait := time.Now().Add(10 * time.Second); c.peerMode == "serve" && !strings.Contains(peerOut.String(), "listening"); {
					if time.Now().After(wait) {
						return fmt.Errorf("the kernel's server did not start: %s", peerOut.String())
					}
					time.Sleep(10 * time.Millisecond)
				}
				return nil
			}
			var out, errb lockedBuffer
			err = ncRun(context.Background(), o, strings.NewReader(c.in), &out, &errb)
			perr := peer.Wait()
			if err != nil {
				t.Fatalf("nc: %v\n%s\nkernel side: %v\n%s", err, errb.String(), perr, peerOut.String())
			}
			if perr != nil {
				t.Fatalf("kernel side: %v\n%s", perr, peerOut.String())
			}
			if out.String() != c.want || !strings.Contains(peerOut.String(), c.peerWant) {
				t.Errorf("nc printed %q (want %q); the kernel's side:\n%s", out.String(), c.want, peerOut.String())
			}
			if !strings.Contains(errb.String(), fmt.Sprintf("nc: %d bytes sent, %d bytes received over tcp", len(c.in), len(c.want))) {
				t.Errorf("nc -v:\n%s", errb.String())
			}
		})
	}
}
