package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bsdnet/bsdnet/internal/benchsuite"
)

// TestPing pings b from a on the lossless demo topology over IPv4 and
// IPv6 and checks each reply line and the summary.
func TestPing(t *testing.T) {
	for _, tc := range []struct {
		args []string
		dst  string
		ttl  string
	}{
		{[]string{"ping", "-c", "5", "-i", "10ms", "-delay", "1ms"}, "10.2.0.2", ` ttl=63`},
		// Flags after the host, as ping(8) users type them.
		{[]string{"ping", "fd02::2", "-c", "5", "-i", "10ms", "-delay", "1ms"}, "fd02::2", ``},
		{[]string{"ping", "-6", "-c", "5", "-i", "10ms", "-delay", "1ms", "b"}, "fd02::2", ``},
	} {
		t.Run(strings.Join(tc.args[1:], " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			if err := run(tc.args, &out, &errb); err != nil {
				t.Fatalf("ping: %v\n%s%s", err, out.String(), errb.String())
			}
			s := out.String()
			if !strings.Contains(s, fmt.Sprintf("PING %s (%s): 56 data bytes\n", tc.dst, tc.dst)) {
				t.Errorf("no PING line:\n%s", s)
			}
			line := regexp.MustCompile(`(?m)^64 bytes from ` + regexp.QuoteMeta(tc.dst) + `: icmp_seq=(\d+)` + tc.ttl + ` time=(\d+\.\d{3}) ms$`)
			ms := line.FindAllStringSubmatch(s, -1)
			if len(ms) != 5 {
				t.Fatalf("%d reply lines, want 5:\n%s", len(ms), s)
			}
			for i, m := range ms {
				if m[1] != strconv.Itoa(i) {
					t.Errorf("reply %d has icmp_seq=%s", i, m[1])
				}
				// Four wire crossings of 1 ms each.
				if rtt, _ := strconv.ParseFloat(m[2], 64); rtt < 4 || rtt > 2000 {
					t.Errorf("reply %d: time=%v ms, want at least 4", i, rtt)
				}
			}
			if !strings.Contains(s, "--- "+tc.dst+" ping statistics ---\n5 packets transmitted, 5 packets received, 0.0% packet loss\n") {
				t.Errorf("no summary:\n%s", s)
			}
			m := regexp.MustCompile(`round-trip min/avg/max/stddev = ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms`).FindStringSubmatch(s)
			if m == nil {
				t.Fatalf("no round-trip line:\n%s", s)
			}
			var v [4]float64
			for i := range v {
				v[i], _ = strconv.ParseFloat(m[i+1], 64)
			}
			if !(4 <= v[0] && v[0] <= v[1] && v[1] <= v[2]) || v[3] < 0 {
				t.Errorf("round trips min %v avg %v max %v stddev %v", v[0], v[1], v[2], v[3])
			}
		})
	}
}

// TestPingErrors: an address nobody has gets no reply (an error, so a
// non-zero exit) but an ICMP error from the router; bad flags fail.
func TestPingErrors(t *testing.T) {
	var out, errb bytes.Buffer
	err := run([]string{"ping", "-c", "1", "-W", "100ms", "-delay", "0", "10.9.0.1"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "no reply from 10.9.0.1") {
		t.Errorf("ping of a missing host: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "from 10.1.0.254: Destination Host Unreachable (icmp_seq=0)") ||
		!strings.Contains(out.String(), "1 packets transmitted, 0 packets received, +1 errors, 100.0% packet loss") {
		t.Errorf("no unreachable from r:\n%s", out.String())
	}
	for _, args := range [][]string{
		{"ping", "-c", "-1"}, {"ping", "-i", "0"}, {"ping", "-s", "70000"}, {"ping", "-loss", "1"},
		{"ping", "nosuchhost"}, {"ping", "a", "b"}, {"ping", "-bogus"},
	} {
		if err := run(args, &out, &errb); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}

// TestPingInterrupted: a ping without -c runs until its context ends, then
// prints the summary.
func TestPingInterrupted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var out, errb bytes.Buffer
	if err := pingMain(ctx, []string{"-i", "20ms", "-delay", "0"}, &out, &errb); err != nil {
		t.Fatalf("ping: %v\n%s", err, out.String())
	}
	if !regexp.MustCompile(`(\d+) packets transmitted, (\d+) packets received`).MatchString(out.String()) {
		t.Errorf("no summary:\n%s", out.String())
	}
}

// TestBench runs the suite with a tiny benchtime and checks the table.
func TestBench(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run([]string{"bench", "-quick", "-benchtime", "5x"}, &out, &errb); err != nil {
		t.Fatalf("bench: %v\n%s%s", err, out.String(), errb.String())
	}
	s := out.String()
	for _, w := range benchsuite.Workloads() {
		m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(w.Name) + `.*\s(\d+\.\d\d)x$`).FindStringSubmatch(s)
		if m == nil {
			t.Errorf("no row with a ratio for %q:\n%s", w.Name, s)
		}
	}
	for _, want := range []string{"WORKLOAD", "BSDNET", "KERNEL", "RATIO", "gVisor: see bench/peers"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	out.Reset()
	if err := run([]string{"bench", "-benchtime", "3x", "-run", "ping-pong"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "PF_LOCAL ping-pong") || strings.Contains(out.String(), "UDP 64") {
		t.Errorf("-run ping-pong:\n%s", out.String())
	}
	for _, args := range [][]string{{"bench", "-run", "nomatch"}, {"bench", "-run", "("}, {"bench", "extra"}, {"bench", "-benchtime", "soon"}} {
		if err := run(args, &out, &errb); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}

// TestSubcommandHelp: every subcommand explains itself with -h.
func TestSubcommandHelp(t *testing.T) {
	for _, c := range []struct{ cmd, want string }{
		{"demo", "usage: bsdnet demo"},
		{"nc", "usage: bsdnet nc"},
		{"ping", "usage: bsdnet ping"},
		{"bench", "usage: bsdnet bench"},
		{"tap", "usage: bsdnet tap"},
	} {
		var out, errb bytes.Buffer
		if err := run([]string{c.cmd, "-h"}, &out, &errb); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%s -h: %v", c.cmd, err)
		}
		if !strings.Contains(errb.String(), c.want) {
			t.Errorf("%s -h printed:\n%s", c.cmd, errb.String())
		}
	}
	var out bytes.Buffer
	run([]string{"help"}, &out, &out)
	for _, c := range []string{"demo", "ping", "nc", "bench", "tap"} {
		if !strings.Contains(out.String(), "\t"+c+" ") {
			t.Errorf("usage lacks %s:\n%s", c, out.String())
		}
	}
}

// TestTapErrors: bad flags and an impossible device fail with a message.
func TestTapErrors(t *testing.T) {
	for _, args := range [][]string{
		{"tap", "-addr", "10.0.0.1"}, {"tap", "-addr", "10.0.0.1/32"}, {"tap", "-gw", "x"},
		{"tap", "-duration", "-1s"}, {"tap", "extra"},
		{"tap", "-name", "a-name-longer-than-ifnamsiz", "-duration", "1ms"},
	} {
		var out, errb bytes.Buffer
		if err := run(args, &out, &errb); err == nil {
			t.Errorf("run(%q) succeeded:\n%s", args, out.String())
		}
	}
}

// TestBenchGvisor builds and runs bench/peers' TCP benchmarks through
// bench -gvisor: the table has bsdnet, gVisor and the kernel on each row.
func TestBenchGvisor(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("the go command: %v", err)
	}
	var out, errb bytes.Buffer
	if err := run([]string{"bench", "-benchtime", "20x", "-run", "PF_LOCAL ping-pong", "-gvisor", "../../bench/peers"}, &out, &errb); err != nil {
		t.Fatalf("bench -gvisor: %v\n%s%s", err, out.String(), errb.String())
	}
	s := out.String()
	for _, row := range []string{"loopback stream, 64 KiB writes", "loopback 1-byte round trip", "two stacks, 1500-byte-MTU wire", "connect + accept + close, sequential"} {
		m := regexp.MustCompile(`(?m)^\| ` + regexp.QuoteMeta(row) + `[^|]* \| ([^|]+) \| ([^|]+) \|`).FindStringSubmatch(s)
		if m == nil || strings.Contains(m[1], "failed") || strings.TrimSpace(m[2]) == "" {
			t.Errorf("no bsdnet and gVisor figures for %q:\n%s", row, s)
		}
	}
	if err := run([]string{"bench", "-benchtime", "3x", "-run", "PF_LOCAL ping-pong", "-gvisor", t.TempDir()}, &out, &errb); err == nil {
		t.Error("-gvisor on a directory that is not bench/peers succeeded")
	}
}
