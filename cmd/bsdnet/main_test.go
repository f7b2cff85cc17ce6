package main

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestDemo runs the demo on lossless wires, then checks each part of its
// output against the others: the tables list the sockets that exist, the
// counters of one side add up with the other's, the capture opens in
// tshark and the plot shows the transfer.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	plot, pcap := filepath.Join(dir, "plot.svg"), filepath.Join(dir, "a.pcap")
	var out, errb bytes.Buffer
	if err := run([]string{"demo", "-clients", "40", "-messages", "5", "-msgsize", "100", "-rows", "0",
		"-loss", "0", "-delay", "1ms", "-datagrams", "50", "-dgsize", "3000",
		"-size", "1MiB", "-plot", plot, "-pcap", pcap}, &out, &errb); err != nil {
		t.Fatalf("demo: %v\n%s%s", err, out.String(), errb.String())
	}
	s := out.String()
	if errb.Len() != 0 {
		t.Errorf("stderr is not a terminal, yet the demo wrote to it:\n%s", errb.String())
	}
	local, network, _ := strings.Cut(s, "\nNetwork:")

	// PF_LOCAL: the echo adds up and the table lists the listener and both
	// ends of each connection.
	if !strings.Contains(local, "40 clients x 5 messages x 100 bytes echoed") ||
		!strings.Contains(local, "40 connections accepted, 20000 bytes echoed") {
		t.Errorf("PF_LOCAL echo does not add up:\n%s", local)
	}
	if n := strings.Count(local, "LISTEN 0/"); n != 1 {
		t.Errorf("%d listener rows, want 1", n)
	}
	if n := strings.Count(local, "CONNECTED"); n != 80 {
		t.Errorf("%d connected rows, want 80:\n%s", n, local)
	}
	if !strings.Contains(local, "81 sockets: 81 stream") {
		t.Errorf("no socket summary:\n%s", local)
	}

	// UDP: a lossless path echoes everything, fragments included
	// (3000-byte datagrams over 1500-byte wires).
	for _, want := range []string{
		"10.2.0.2:7    50 datagrams of 3000 bytes sent, 50 echoed back intact",
		"[fd02::2]:7   50 datagrams of 3000 bytes sent, 50 echoed back intact",
		"200 OK, 1048576 bytes in", "every byte as sent",
	} {
		if !strings.Contains(network, want) {
			t.Errorf("output lacks %q:\n%s", want, network)
		}
	}

	// The socket tables show the sockets that exist: the HTTP connection
	// from both ends (the same ports), the listener, the UDP sockets.
	ss := between(t, s, "sockstat -46", "netstat -an")
	m := regexp.MustCompile(`(?m)^a\s+root\s+tcp4\s+ESTABLISHED\s+0\s+0\s+10\.1\.0\.1\.(\d+)\s+10\.2\.0\.2\.80$`).FindStringSubmatch(ss)
	if m == nil {
		t.Fatalf("sockstat lacks a's end of the HTTP connection:\n%s", ss)
	}
	port := m[1]
	for _, re := range []string{
		`(?m)^b\s+root\s+tcp4\s+ESTABLISHED\s+0\s+0\s+10\.2\.0\.2\.80\s+10\.1\.0\.1\.` + port + `$`,
		`(?m)^b\s+root\s+tcp46\s+LISTEN 0/\d+\s+0\s+0\s+\*\.80\s+\*$`,
		`(?m)^a\s+root\s+udp4\s+CONNECTED\s+0\s+0\s+10\.1\.0\.1\.\d+\s+10\.2\.0\.2\.7$`,
		`(?m)^a\s+root\s+udp6\s+CONNECTED\s+0\s+0\s+fd01::1\.\d+\s+fd02::2\.7$`,
		`(?m)^b\s+root\s+udp4\s+-\s+0\s+0\s+\*\.7\s+\*$`,
		`(?m)^7 sockets: 2 tcp4 1 tcp46 2 udp4 2 udp6$`,
	} {
		if !regexp.MustCompile(re).MatchString(ss) {
			t.Errorf("sockstat lacks %s:\n%s", re, ss)
		}
	}
	na := section(t, s, "netstat -an")
	for _, re := range []string{
		`(?m)^a\s+tcp4\s+0\s+0\s+10\.1\.0\.1\.` + port + `\s+10\.2\.0\.2\.80\s+ESTABLISHED$`,
		`(?m)^b\s+tcp4\s+0\s+0\s+10\.2\.0\.2\.80\s+10\.1\.0\.1\.` + port + `\s+ESTABLISHED$`,
		`(?m)^b\s+tcp46\s+0\s+0\s+\*\.80\s+\*\.\*\s+LISTEN$`,
		`(?m)^b\s+udp6\s+0\s+0\s+\*\.7\s+\*\.\*\s*$`,
	} {
		if !regexp.MustCompile(re).MatchString(na) {
			t.Errorf("netstat -an lacks %s:\n%s", re, na)
		}
	}
	if n := len(regexp.MustCompile(`(?m)^[ab]\s+(tcp|udp)`).FindAllString(na, -1)); n != 7 {
		t.Errorf("netstat -an has %d rows, want 7:\n%s", n, na)
	}

	// netstat -s: what one side sent, the other received.
	st := section(t, s, "netstat -s")
	bSent := stat(t, st, "b", "tcp", `(\d+) data packets? \((\d+) bytes?\)\n`)
	aRcvd := stat(t, st, "a", "tcp", `(\d+) packets? \((\d+) bytes?\) received in-sequence`)
	if bSent[1] != aRcvd[1] || bSent[1] < 1048576 {
		t.Errorf("b sent %d data bytes, a received %d in sequence, want equal and at least the body", bSent[1], aRcvd[1])
	}
	aSent := stat(t, st, "a", "tcp", `(\d+) data packets? \((\d+) bytes?\)\n`)
	bRcvd := stat(t, st, "b", "tcp", `(\d+) packets? \((\d+) bytes?\) received in-sequence`)
	if aSent[1] != bRcvd[1] || aSent[1] == 0 {
		t.Errorf("a sent %d data bytes (the request), b received %d", aSent[1], bRcvd[1])
	}
	// A loaded machine may delay an ACK past the tail loss probe's
	// timeout, so even lossless wires may see a retransmission.
	var rexmt uint64
	if strings.Contains(sectionOf(st, "b", "tcp"), "retransmitted") {
		rexmt = stat(t, st, "b", "tcp", `(\d+) data packets? \((\d+) bytes?\) retransmitted`)[0]
	}
	for _, c := range []struct{ host, re string }{
		{"a", `(\d+) connection requests?`}, {"b", `(\d+) connection accepts?`},
		{"a", `(\d+) connections? established`}, {"b", `(\d+) connections? established`},
	} {
		if v := stat(t, st, c.host, "tcp", c.re); v[0] != 1 {
			t.Errorf("%s: %s: %d, want 1", c.host, c.re, v[0])
		}
	}
	// UDP: 50 datagrams and a warm-up over each family, each way.
	for _, c := range []struct{ host, re string }{
		{"a", `(\d+) datagrams? output`}, {"b", `(\d+) datagrams? received`},
		{"b", `(\d+) datagrams? output`}, {"a", `(\d+) datagrams? received`},
	} {
		if v := stat(t, st, c.host, "udp", c.re); v[0] != 102 {
			t.Errorf("%s: %s: %d, want 102", c.host, c.re, v[0])
		}
	}
	if v := stat(t, st, "r", "ip", `(\d+) packets? forwarded`); v[0] == 0 {
		t.Errorf("r forwarded nothing:\n%s", st)
	}

	// netstat -i: on lossless wires every frame and byte one end sends,
	// the other receives.
	ni := section(t, s, "netstat -i")
	ifs := map[string][8]uint64{}
	for _, m := range regexp.MustCompile(`(?m)^([abr])\s+(eth\d)\s+1500\s+\S+\s+\S+\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$`).FindAllStringSubmatch(ni, -1) {
		var v [8]uint64
		for i := range v {
			v[i], _ = strconv.ParseUint(m[3+i], 10, 64)
		}
		ifs[m[1]+"."+m[2]] = v
	}
	if len(ifs) != 4 {
		t.Fatalf("netstat -i: %d wire interfaces, want 4:\n%s", len(ifs), ni)
	}
	for _, p := range [][2]string{{"a.eth0", "r.eth0"}, {"r.eth0", "a.eth0"}, {"r.eth1", "b.eth0"}, {"b.eth0", "r.eth1"}} {
		from, to := ifs[p[0]], ifs[p[1]]
		// IPKTS IERRS IDROP IBYTES OPKTS OERRS ODROP OBYTES
		if from[4] != to[0] || from[7] != to[3] || from[4] == 0 {
			t.Errorf("%s sent %d frames (%d bytes), %s received %d (%d bytes)", p[0], from[4], from[7], p[1], to[0], to[3])
		}
	}
	if ifs["b.eth0"][7] < 1048576 {
		t.Errorf("b.eth0 sent %d bytes, less than the body", ifs["b.eth0"][7])
	}
	if !regexp.MustCompile(`(?m)^b\.eth0\s+r\.eth1\s+(\d+)\s+(\d+)\s+0\s+0\s+0$`).MatchString(section(t, s, "wires")) {
		t.Errorf("wires lost or reordered frames:\n%s", section(t, s, "wires"))
	}

	// The plot shows the transfer: a bar for each data segment b sent,
	// on an axis that covers the body.
	segs := checkPlot(t, plot)
	if segs.data != int(bSent[0]) || segs.rexmt != int(rexmt) {
		t.Errorf("plot has %d segments and %d retransmissions, netstat says b sent %d data packets and %d retransmissions",
			segs.data, segs.rexmt, bSent[0], rexmt)
	}
	if !strings.Contains(network, "written to "+plot) {
		t.Errorf("no plot line:\n%s", network)
	}

	// The capture opens in tshark, with the HTTP exchange and the UDP
	// datagrams in it and nothing malformed.
	checkPcap(t, pcap, map[string]int{
		"http.request.method == \"GET\"": 1,
		"http.response.code == 200":      1,
		"udp.dstport == 7":               51 * 2,
		"udp.srcport == 7":               51 * 2,
	})
}

// TestDemoLossy: on lossy wires the transfer still delivers every byte,
// the plot marks the retransmissions that netstat counts, and the progress
// bar is drawn when asked for.
func TestDemoLossy(t *testing.T) {
	plot := filepath.Join(t.TempDir(), "plot.svg")
	var out, errb bytes.Buffer
	if err := run([]string{"demo", "-clients", "2", "-messages", "1", "-datagrams", "5",
		"-loss", "0.02", "-reorder", "0.01", "-delay", "1ms", "-seed", "7", "-size", "1MiB",
		"-plot", plot, "-progress"}, &out, &errb); err != nil {
		t.Fatalf("demo: %v\n%s%s", err, out.String(), errb.String())
	}
	s := out.String()
	if !strings.Contains(s, "200 OK, 1048576 bytes in") || !strings.Contains(s, "every byte as sent") {
		t.Errorf("no complete transfer:\n%s", s)
	}
	if !strings.Contains(s, "loss 2.0%, reorder 1.0%, seed 7") {
		t.Errorf("the wires are not described:\n%s", s)
	}
	if !regexp.MustCompile(`\] 100%  1\.05/1\.05 MB  .*/s \n$`).MatchString(errb.String()) {
		t.Errorf("progress bar does not end at 100%%: %q", errb.String())
	}
	st := section(t, s, "netstat -s")
	sent := stat(t, st, "b", "tcp", `(\d+) data packets? \((\d+) bytes?\)\n`)
	rexmt := stat(t, st, "b", "tcp", `(\d+) data packets? \((\d+) bytes?\) retransmitted`)
	got := stat(t, st, "a", "tcp", `(\d+) packets? \((\d+) bytes?\) received in-sequence`)
	if sent[1] != got[1] {
		t.Errorf("b sent %d new data bytes, a received %d in sequence", sent[1], got[1])
	}
	segs := checkPlot(t, plot)
	if segs.data != int(sent[0]) || segs.rexmt != int(rexmt[0]) || segs.rexmt == 0 {
		t.Errorf("plot: %d segments and %d retransmissions; netstat: %d and %d", segs.data, segs.rexmt, sent[0], rexmt[0])
	}
	// Each wire lost frames, and the counters say so.
	if !regexp.MustCompile(`(?m)^r\.eth1\s+b\.eth0\s+\d+\s+\d+\s+[1-9]\d*\s`).MatchString(section(t, s, "wires")) {
		t.Errorf("no losses from r to b:\n%s", section(t, s, "wires"))
	}
}

// section returns the part of the output from the line starting with
// title to the next blank line.
func section(t *testing.T, s, title string) string {
	t.Helper()
	i := strings.Index(s, "\n"+title)
	if i < 0 {
		t.Fatalf("no %q in:\n%s", title, s)
	}
	s = s[i+1:]
	if j := strings.Index(s, "\n\n"); j >= 0 {
		s = s[:j+1]
	}
	return s
}

// between returns the part of the output from the line starting with
// from to the one starting with to.
func between(t *testing.T, s, from, to string) string {
	t.Helper()
	i := strings.Index(s, "\n"+from)
	j := strings.Index(s, "\n"+to)
	if i < 0 || j < i {
		t.Fatalf("no %q followed by %q in:\n%s", from, to, s)
	}
	return s[i+1 : j+1]
}

// sectionOf returns a host's protocol section of netstat -s output.
func sectionOf(st, host, proto string) string {
	i := strings.Index(st, "\n"+host+":\n")
	if i < 0 {
		return ""
	}
	h := st[i+len(host)+3:]
	if j := regexp.MustCompile(`(?m)^\S`).FindStringIndex(h); j != nil {
		h = h[:j[0]]
	}
	i = strings.Index(h, "  "+proto+":\n")
	if i < 0 {
		return ""
	}
	p := h[i+len(proto)+4:]
	if j := regexp.MustCompile(`(?m)^  \S`).FindStringIndex(p); j != nil {
		p = p[:j[0]]
	}
	return p
}

// stat finds re in a host's protocol section of netstat -s and returns its
// numbers.
func stat(t *testing.T, st, host, proto, re string) []uint64 {
	t.Helper()
	sec := sectionOf(st, host, proto)
	m := regexp.MustCompile(re).FindStringSubmatch(sec)
	if m == nil {
		t.Fatalf("netstat -s: %s %s: no %s in:\n%s", host, proto, re, st)
	}
	out := make([]uint64, len(m)-1)
	for i := range out {
		out[i], _ = strconv.ParseUint(m[i+1], 10, 64)
	}
	return out
}

// plotSegs is what checkPlot found.
type plotSegs struct{ data, rexmt int }

// checkPlot parses the SVG with encoding/xml, counts the segments drawn
// and checks the sequence axis covers a mebibyte and the other series are
// there.
func checkPlot(t *testing.T, file string) plotSegs {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{}
	var seqTicks []float64
	var inSeqAxis bool
	var inText bool
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("plot: not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			attr := map[string]string{}
			for _, a := range tok.Attr {
				attr[a.Name.Local] = a.Value
			}
			switch tok.Name.Local {
			case "path":
				paths[attr["id"]] = attr["d"]
			case "g":
				inSeqAxis = attr["id"] == "seq-axis"
			case "text":
				inText = inSeqAxis
			}
		case xml.CharData:
			if inText {
				if v, err := strconv.ParseFloat(string(tok), 64); err == nil {
					seqTicks = append(seqTicks, v)
				}
			}
		case xml.EndElement:
			if tok.Name.Local == "text" {
				inText = false
			}
			if tok.Name.Local == "g" {
				inSeqAxis = false
			}
		}
	}
	for _, id := range []string{"segments", "acks", "window", "cwnd", "srtt"} {
		if paths[id] == "" {
			t.Errorf("plot has no %s path", id)
		}
	}
	if len(seqTicks) < 3 || seqTicks[len(seqTicks)-1] < 1.048576 {
		t.Errorf("sequence axis ticks %v (MB) do not cover the body", seqTicks)
	}
	if !bytes.Contains(b, []byte("relative sequence number (MB)")) {
		t.Errorf("no sequence axis label in MB")
	}
	return plotSegs{strings.Count(paths["segments"], "M"), strings.Count(paths["retransmissions"], "M")}
}

// checkPcap has tshark read the capture: nothing malformed, and the number
// of frames each filter matches.
func checkPcap(t *testing.T, file string, want map[string]int) {
	t.Helper()
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Fatal("tshark is not installed (.ci/run installs it): ", err)
	}
	count := func(filter string) int {
		cmd := exec.Command(tshark, "-r", file, "-Y", filter, "-T", "fields", "-e", "frame.number")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("tshark -Y %q: %v\n%s", filter, err, stderr.Bytes())
		}
		return strings.Count(string(b), "\n")
	}
	if n := count("frame"); n == 0 {
		t.Errorf("tshark reads no frames from %s", file)
	}
	if n := count("_ws.malformed || _ws.expert.severity >= error"); n != 0 {
		t.Errorf("tshark finds %d malformed frames", n)
	}
	for f, n := range want {
		if got := count(f); got != n {
			t.Errorf("tshark: %d frames match %s, want %d", got, f, n)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		nil, {"nosuch"}, {"demo", "-clients", "0"}, {"demo", "-bogus"}, {"demo", "extra"},
		{"demo", "-size", "0"}, {"demo", "-size", "lots"}, {"demo", "-loss", "1"}, {"demo", "-reorder", "-0.1"},
		{"demo", "-bandwidth", "fast"}, {"demo", "-delay", "-1ms"},
	} {
		var out, errb bytes.Buffer
		if err := run(args, &out, &errb); err == nil {
			t.Errorf("run(%q) succeeded, want an error", args)
		}
	}
	var out bytes.Buffer
	if err := run([]string{"help"}, &out, &out); err != nil || !strings.Contains(out.String(), "demo") {
		t.Errorf("help: %v %q", err, out.String())
	}
}

// TestUnits: the size and rate flags read what people write.
func TestUnits(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{{"65536", 65536}, {"64KiB", 65536}, {"2MiB", 2 << 20}, {"1.5MiB", 3 << 19}, {"10MB", 10e6}, {"1GiB", 1 << 30}, {"100kB", 1e5}} {
		var b byteSize
		if err := b.Set(c.in); err != nil || int64(b) != c.want {
			t.Errorf("size %q: %d, %v; want %d", c.in, b, err, c.want)
		}
	}
	for _, c := range []struct {
		in   string
		want int64
	}{{"1000000", 1e6}, {"10M", 1e7}, {"10Mbit", 1e7}, {"1.5Gbit/s", 15e8}, {"64k", 64e3}, {"100Mbps", 1e8}} {
		var r rate
		if err := r.Set(c.in); err != nil || int64(r) != c.want {
			t.Errorf("rate %q: %d, %v; want %d", c.in, r, err, c.want)
		}
	}
	for _, bad := range []string{"", "x", "-1", "1TiB0", "MiB"} {
		var b byteSize
		if b.Set(bad) == nil {
			t.Errorf("size %q accepted", bad)
		}
		var r rate
		if r.Set(bad) == nil {
			t.Errorf("rate %q accepted", bad)
		}
	}
	if s := byteSize(2 << 20).String(); s != "2MiB" {
		t.Errorf("2 MiB prints as %q", s)
	}
	if s := rate(1e7).String(); s != "10 Mbit/s" {
		t.Errorf("10M prints as %q", s)
	}
}

// TestSpans: the tracer's record of the sequence space sent tells a
// retransmission from a segment that passed the tap out of order.
func TestSpans(t *testing.T) {
	var set []span
	for _, c := range []struct {
		x     span
		rexmt bool
	}{
		{span{0, 10}, false}, {span{20, 30}, false}, {span{10, 20}, false}, // out of order
		{span{5, 8}, true}, {span{29, 31}, true}, {span{31, 40}, false}, {span{50, 60}, false},
		{span{40, 50}, false}, {span{0, 60}, true}, {span{60, 61}, false},
	} {
		if got := overlaps(set, c.x); got != c.rexmt {
			t.Errorf("%v over %v: retransmission %v, want %v", c.x, set, got, c.rexmt)
		}
		set = addSpan(set, c.x)
	}
	if len(set) != 1 || set[0] != (span{0, 61}) {
		t.Errorf("set %v, want one span [0, 61)", set)
	}
	set = addSpan(addSpan(addSpan(nil, span{10, 20}), span{30, 40}), span{0, 5})
	if want := []span{{0, 5}, {10, 20}, {30, 40}}; !slices.Equal(set, want) {
		t.Errorf("set %v, want %v", set, want)
	}
}

// TestPlural: netstat's phrases agree with their counts.
func TestPlural(t *testing.T) {
	for _, c := range []struct {
		format string
		vals   []uint64
		want   string
	}{
		{"%d packet{s} sent", []uint64{1}, "1 packet sent"},
		{"%d packet{s} sent", []uint64{0}, "0 packets sent"},
		{"%d data packet{s} (%d byte{s})", []uint64{2, 1}, "2 data packets (1 byte)"},
		{"%d syncache entr{y|ies} added", []uint64{1}, "1 syncache entry added"},
		{"%d syncache entr{y|ies} added", []uint64{3}, "3 syncache entries added"},
		{"%d tail loss probe{s} sent (%d loss{|es} repaired)", []uint64{1, 2}, "1 tail loss probe sent (2 losses repaired)"},
	} {
		if got := plural(c.format, c.vals); got != c.want {
			t.Errorf("plural(%q, %v) = %q, want %q", c.format, c.vals, got, c.want)
		}
	}
}
