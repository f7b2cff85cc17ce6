package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestDemo(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run([]string{"demo", "-clients", "40", "-messages", "5", "-size", "100", "-rows", "0",
		"-loss", "0", "-delay", "1ms", "-datagrams", "50", "-dgsize", "3000"}, &out, &errb); err != nil {
		t.Fatalf("demo: %v\n%s", err, errb.String())
	}
	s := out.String()
	if !strings.Contains(s, "40 clients x 5 messages x 100 bytes echoed") {
		t.Errorf("no transfer summary:\n%s", s)
	}
	if !strings.Contains(s, "40 connections accepted, 20000 bytes echoed") {
		t.Errorf("server counters do not add up:\n%s", s)
	}
	// The table lists the listener and both ends of each connection.
	if n := strings.Count(s, "LISTEN 0/"); n != 1 {
		t.Errorf("%d listener rows, want 1", n)
	}
	sockstatPart, _, _ := strings.Cut(s, "\nUDP:")
	if n := strings.Count(sockstatPart, "CONNECTED"); n != 80 {
		t.Errorf("%d connected rows, want 80:\n%s", n, s)
	}
	m := regexp.MustCompile(`(\d+) sockets: (\d+) stream`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no socket summary:\n%s", s)
	}
	if n, _ := strconv.Atoi(m[1]); n != 81 {
		t.Errorf("summary says %d sockets, want 81", n)
	}
	// The UDP part: a lossless path echoes everything, fragments included
	// (3000-byte datagrams over 1500-byte wires), and the tables show it.
	for _, want := range []string{
		"10.2.0.2:7    50 datagrams of 3000 bytes sent, 50 echoed back intact",
		"[fd02::2]:7   50 datagrams of 3000 bytes sent, 50 echoed back intact",
		"netstat -an -f inet", "netstat -s", "netstat -i",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	// Counters add up: what a sent over UDP, b received, and r forwarded.
	if !regexp.MustCompile(`r:\n(.*\n)*?\t\d+ packets forwarded`).MatchString(s) {
		t.Errorf("router forwarded nothing:\n%s", s)
	}
	if !strings.Contains(s, "102 UDP datagrams output") || !strings.Contains(s, "102 UDP datagrams received") {
		t.Errorf("UDP counters do not add up (100 datagrams and 2 warm-ups each way):\n%s", s)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"nosuch"}, {"demo", "-clients", "0"}, {"demo", "-bogus"}} {
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
