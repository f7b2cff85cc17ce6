package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/link"
)

const ncUsage = `usage: bsdnet nc [flags] host port
       bsdnet nc -l [flags] [host] port

Connects to a TCP port (a UDP one with -u) from a bsdnet stack, or with -l
listens on one for a single peer, and copies standard input to the
connection and the connection to standard output, as nc(1) does. At the
end of standard input it shuts down its sending side (TCP) and goes on
reading until the peer closes; with -u it reads replies until none has
come for -w (1s by default).

Where the stack is:

  by default  host a of the demo topology, built in this process with no
              root and no setup, where host b serves echo (port 7) and
              discard (9) over TCP and UDP, and HTTP (80):

                a (10.1.0.1, fd01::1) -- r (router) -- b (10.2.0.2, fd02::2)

              host is an address or one of the names a, r and b, port a
              number or echo, discard or http:

                echo hello | bsdnet nc b echo
                printf 'GET /bytes?n=100 HTTP/1.0\r\n\r\n' | bsdnet nc b 80
                echo hello | bsdnet nc -u -6 b 7

  -tunnel LOCAL,REMOTE
              a stack of its own whose Ethernet is carried in UDP
              datagrams between the host addresses LOCAL and REMOTE, so
              that two bsdnet nc processes make a cable, with no root:

                bsdnet nc -l -tunnel 127.0.0.1:7001,127.0.0.1:7002 5000
                bsdnet nc -tunnel 127.0.0.1:7002,127.0.0.1:7001 10.77.0.1 5000

              Its addresses are 10.77.0.1/24 and fd77::1/64 with -l,
              10.77.0.2/24 and fd77::2/64 without (see -addr).

  -tap DEV    a stack of its own on a new TAP device (Linux, root), with
              addresses 10.99.0.2/24 and fd99::2/64 (see -addr); the
              host's side is 10.99.0.1 and fd99::1, configured with
              -configure or by the ip(8) commands printed on stderr:

                bsdnet nc -l -tap bsdnet0 -configure 5000   # then: nc 10.99.0.2 5000

The exit status is 0 when the exchange ended normally, 2 otherwise.

Flags:
`

// ncOpts are the settings of one nc run.
type ncOpts struct {
	udp, listen, verbose, v6, configure bool
	wait                                time.Duration
	tunnel, tap                         string
	addrs                               prefixList
	wires                               wireOpts
	host                                string
	port                                uint16

	// hostSide, when set, configures the kernel's side of a TAP device
	// (the tests move it into a network namespace).
	hostSide func(dev string, host []netip.Prefix) error
	// ready, when set, is called once the stack is up and, with -l, its
	// socket listens.
	ready func()
}

// ncServices are the named ports.
var ncServices = map[string]uint16{"echo": portEcho, "discard": portDiscard, "http": portHTTP}

func nc(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o, err := parseNc(args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return ncRun(ctx, o, stdin, stdout, stderr)
}

// parseNc parses the nc subcommand's flags and arguments.
func parseNc(args []string, stderr io.Writer) (ncOpts, error) {
	fs := flag.NewFlagSet("nc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), ncUsage)
		fs.PrintDefaults()
	}
	o := ncOpts{wires: wireOpts{delay: 2 * time.Millisecond, seed: 1}}
	fs.BoolVar(&o.udp, "u", false, "UDP instead of TCP")
	fs.BoolVar(&o.listen, "l", false, "listen for one peer instead of connecting (needs -tunnel or -tap)")
	fs.BoolVar(&o.verbose, "v", false, "say on stderr what happens, and count the bytes at the end")
	fs.BoolVar(&o.v6, "6", false, "a host named a, r or b is reached at its IPv6 address")
	fs.DurationVar(&o.wait, "w", 0, "give up a connection or a listen that takes longer, or a connection idle this long (UDP: the wait for replies after the end of input, 1s if 0)")
	fs.StringVar(&o.tunnel, "tunnel", "", "LOCAL,REMOTE: run the stack on a UDP tunnel between these host addresses")
	fs.StringVar(&o.tap, "tap", "", "run the stack on a new TAP device of this name (a %d picks a free number; root)")
	fs.Var(&o.addrs, "addr", "the stack's addresses with -tunnel or -tap, comma-separated, in CIDR form")
	fs.BoolVar(&o.configure, "configure", false, "with -tap, configure the host's side of the device with ip(8)")
	o.wires.addFlags(fs, false)
	// Flags may follow the operands, as nc users type them.
	var operands []string
	for {
		if err := fs.Parse(args); err != nil {
			return o, err
		}
		if fs.NArg() == 0 {
			break
		}
		operands = append(operands, fs.Arg(0))
		args = fs.Args()[1:]
	}
	fail := func(format string, a ...any) (ncOpts, error) {
		fs.Usage()
		return o, fmt.Errorf("nc: "+format, a...)
	}
	switch {
	case len(operands) == 2:
		o.host = operands[0]
	case len(operands) == 1 && o.listen:
	case len(operands) == 0:
		return fail("no port given")
	default:
		return fail("want host and port, got %q", operands)
	}
	port, ok := ncServices[operands[len(operands)-1]]
	if !ok {
		p, err := strconv.ParseUint(operands[len(operands)-1], 10, 16)
		if err != nil || p == 0 {
			return fail("port %q: want 1..65535 or echo, discard, http", operands[len(operands)-1])
		}
		port = uint16(p)
	}
	o.port = port
	if err := o.wires.check(); err != nil {
		return o, fmt.Errorf("nc: %w", err)
	}
	switch {
	case o.tunnel != "" && o.tap != "":
		return o, errors.New("nc: -tunnel and -tap are two places for the stack; choose one")
	case o.listen && o.tunnel == "" && o.tap == "":
		return o, errors.New("nc: -l needs -tunnel or -tap: in the built-in topology nothing else would connect " +
			"(host b already serves echo, discard and http: try \"bsdnet nc b echo\")")
	case !o.listen && o.host == "":
		return o, errors.New("nc: no host given")
	case o.wait < 0:
		return o, errors.New("nc: -w must not be negative")
	case o.addrs.set && o.tunnel == "" && o.tap == "":
		return o, errors.New("nc: -addr is for a stack on -tunnel or -tap")
	}
	if !o.addrs.set {
		switch {
		case o.tap != "":
			o.addrs.Set("10.99.0.2/24,fd99::2/64")
		case o.listen:
			o.addrs.Set("10.77.0.1/24,fd77::1/64")
		default:
			o.addrs.Set("10.77.0.2/24,fd77::2/64")
		}
	}
	return o, nil
}

// ncRun sets up the stack, makes the connection and copies until the end.
func ncRun(ctx context.Context, o ncOpts, stdin io.Reader, stdout, stderr io.Writer) error {
	st, cleanup, err := o.stack(stderr)
	if err != nil {
		return err
	}
	defer cleanup()
	var dst netip.AddrPort
	if o.host != "" {
		a, err := resolveHost(o.host, o.v6)
		if err != nil {
			return fmt.Errorf("nc: %w", err)
		}
		dst = netip.AddrPortFrom(a, o.port)
	}
	proto := "tcp"
	if o.udp {
		proto = "udp"
	}
	var sent, rcvd int64
	if o.udp {
		sent, rcvd, err = o.runUDP(ctx, st, dst, stdin, stdout, stderr)
	} else {
		sent, rcvd, err = o.runTCP(ctx, st, dst, stdin, stdout, stderr)
	}
	if o.verbose {
		fmt.Fprintf(stderr, "nc: %d bytes sent, %d bytes received over %s\n", sent, rcvd, proto)
	}
	return err
}

// stack returns the stack to run on, and how to tear it down.
func (o *ncOpts) stack(stderr io.Writer) (*bsdnet.Stack, func(), error) {
	var log io.Writer
	if o.verbose {
		log = &syncWriter{w: stderr}
	}
	switch {
	case o.tunnel != "":
		return o.tunnelStack()
	case o.tap != "":
		host, err := hostPrefixes(o.addrs.ps)
		if err != nil {
			return nil, nil, fmt.Errorf("nc: %w", err)
		}
		st, ifp, err := openTAP(o.tap, o.addrs.ps, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("nc: %w", err)
		}
		cleanup := func() {
			st.Close()
			ifp.Close()
		}
		if o.verbose {
			fmt.Fprintf(stderr, "nc: a stack on TAP device %s, addresses %s\n", ifp.Name(), o.addrs.String())
		}
		cmds := hostCommands(ifp.Name(), host)
		switch {
		case o.hostSide != nil:
			err = o.hostSide(ifp.Name(), host)
		case o.configure:
			for _, c := range cmds {
				if b, cerr := exec.Command(c[0], c[1:]...).CombinedOutput(); cerr != nil {
					err = fmt.Errorf("%s: %v: %s", strings.Join(c, " "), cerr, strings.TrimSpace(string(b)))
					break
				}
			}
		default:
			fmt.Fprintln(stderr, "nc: configure the host's side of the device (as root):")
			for _, c := range cmds {
				fmt.Fprintf(stderr, "\t%s\n", strings.Join(c, " "))
			}
		}
		if err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("nc: the host's side of %s: %w", ifp.Name(), err)
		}
		return st, cleanup, nil
	}
	t, err := newTopology(o.wires.faults(), o.wires.seed)
	if err != nil {
		return nil, nil, fmt.Errorf("nc: %w", err)
	}
	svcs, err := startServices(t.b, log)
	if err != nil {
		t.Close()
		return nil, nil, fmt.Errorf("nc: services on b: %w", err)
	}
	if o.verbose {
		fmt.Fprintf(stderr, "nc: host a of %s; b serves echo, discard and http\n", topologyLine(o.wires))
	}
	return t.a, func() {
		svcs.Close()
		t.Close()
	}, nil
}

// tunnelStack makes a stack whose interface is a UDP tunnel.
func (o *ncOpts) tunnelStack() (*bsdnet.Stack, func(), error) {
	local, remote, ok := strings.Cut(o.tunnel, ",")
	if !ok {
		return nil, nil, fmt.Errorf("nc: -tunnel %q: want LOCAL,REMOTE (host:port each)", o.tunnel)
	}
	la, err := net.ResolveUDPAddr("udp", strings.TrimSpace(local))
	if err != nil {
		return nil, nil, fmt.Errorf("nc: -tunnel local address: %w", err)
	}
	ra, err := net.ResolveUDPAddr("udp", strings.TrimSpace(remote))
	if err != nil {
		return nil, nil, fmt.Errorf("nc: -tunnel remote address: %w", err)
	}
	conn, err := net.ListenUDP("udp", la)
	if err != nil {
		return nil, nil, fmt.Errorf("nc: -tunnel: %w", err)
	}
	st := bsdnet.NewStack(bsdnet.WithName("nc"))
	// A locally administered MAC address made from the first address.
	mac := net.HardwareAddr{0x02, 'b', 's', 0, 0, 0}
	if b := o.addrs.ps[0].Addr().AsSlice(); len(b) >= 3 {
		copy(mac[3:], b[len(b)-3:])
	}
	ifp := link.NewTunnel(conn, ra, "tun0", mac, st.Vnet().Pool)
	addrs := make([]string, len(o.addrs.ps))
	for i, p := range o.addrs.ps {
		addrs[i] = p.String()
	}
	if err := st.AddInterface(ifp, addrs...); err != nil {
		ifp.Close()
		st.Close()
		return nil, nil, fmt.Errorf("nc: %w", err)
	}
	return st, func() {
		st.Close()
		ifp.Close()
	}, nil
}

// runTCP connects or accepts, then copies both ways.
func (o *ncOpts) runTCP(ctx context.Context, st *bsdnet.Stack, dst netip.AddrPort, stdin io.Reader, stdout, stderr io.Writer) (sent, rcvd int64, err error) {
	var c net.Conn
	if o.listen {
		addr := fmt.Sprintf(":%d", o.port)
		if dst.IsValid() {
			addr = dst.String()
		}
		l, err := st.Listen("tcp", addr)
		if err != nil {
			return 0, 0, fmt.Errorf("nc: %w", err)
		}
		defer l.Close()
		if o.verbose {
			fmt.Fprintf(stderr, "nc: listening on %v\n", l.Addr())
		}
		if o.wait > 0 {
			l.(*bsdnet.Listener).SetDeadline(time.Now().Add(o.wait))
		}
		stop := context.AfterFunc(ctx, func() { l.Close() })
		defer stop()
		if o.ready != nil {
			o.ready()
		}
		if c, err = l.Accept(); err != nil {
			return 0, 0, fmt.Errorf("nc: %w", err)
		}
		l.Close()
		if o.verbose {
			fmt.Fprintf(stderr, "nc: connection received from %v\n", c.RemoteAddr())
		}
	} else {
		if o.ready != nil {
			o.ready()
		}
		dctx := ctx
		if o.wait > 0 {
			var cancel context.CancelFunc
			dctx, cancel = context.WithTimeout(ctx, o.wait)
			defer cancel()
		}
		if c, err = st.DialContext(dctx, "tcp", dst.String()); err != nil {
			return 0, 0, fmt.Errorf("nc: %w", err)
		}
		if o.verbose {
			fmt.Fprintf(stderr, "nc: connection to %s port %d [tcp] succeeded\n", dst.Addr(), dst.Port())
		}
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	// The connection's data goes to stdout until the peer closes; stdin
	// goes to the connection until its end, then the sending side is
	// shut down.
	type result struct {
		n   int64
		err error
	}
	read := make(chan result, 1)
	go func() {
		n, err := io.Copy(stdout, &idleReader{c: c, idle: o.wait})
		read <- result{n, err}
	}()
	wrote := make(chan result, 1)
	go func() {
		n, err := io.Copy(c, stdin)
		if err == nil {
			err = c.(*bsdnet.Conn).CloseWrite()
		}
		wrote <- result{n, err}
	}()
	// Both directions run to their end, as nc's do: after the peer's
	// FIN, what is left of stdin is still sent (a peer that has closed
	// altogether answers it with a reset, which ends the copy).
	r := <-read
	w := <-wrote
	sent, rcvd = w.n, r.n
	if r.err != nil {
		return sent, rcvd, fmt.Errorf("nc: read: %w", r.err)
	}
	if w.err != nil && !errors.Is(w.err, syscall.EPIPE) && !errors.Is(w.err, syscall.ECONNRESET) {
		return sent, rcvd, fmt.Errorf("nc: write: %w", w.err)
	}
	return sent, rcvd, nil
}

// idleReader reads from a connection with a deadline idle from now at
// each read (none when idle is 0).
type idleReader struct {
	c    net.Conn
	idle time.Duration
}

// Read reads with the idle deadline renewed.
func (r *idleReader) Read(b []byte) (int, error) {
	if r.idle > 0 {
		r.c.SetReadDeadline(time.Now().Add(r.idle))
	}
	return r.c.Read(b)
}

// runUDP sends each chunk of stdin as a datagram and writes the datagrams
// that come back to stdout; with -l it first waits for a peer's datagram.
func (o *ncOpts) runUDP(ctx context.Context, st *bsdnet.Stack, dst netip.AddrPort, stdin io.Reader, stdout, stderr io.Writer) (sent, rcvd int64, err error) {
	quiet := o.wait
	if quiet == 0 {
		quiet = time.Second
	}
	addr := fmt.Sprintf(":%d", o.port)
	if !o.listen {
		addr = ":0"
	} else if dst.IsValid() {
		addr = dst.String()
	}
	pc, err := st.ListenPacket("udp", addr)
	if err != nil {
		return 0, 0, fmt.Errorf("nc: %w", err)
	}
	defer pc.Close()
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	defer stop()
	if o.ready != nil {
		o.ready()
	}
	buf := make([]byte, 65536)
	var peer net.Addr
	if o.listen {
		if o.verbose {
			fmt.Fprintf(stderr, "nc: listening on %v (udp)\n", pc.LocalAddr())
		}
		if o.wait > 0 {
			pc.SetReadDeadline(time.Now().Add(o.wait))
		}
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return 0, 0, fmt.Errorf("nc: %w", err)
		}
		pc.SetReadDeadline(time.Time{})
		peer, rcvd = from, int64(n)
		stdout.Write(buf[:n])
		if o.verbose {
			fmt.Fprintf(stderr, "nc: datagram from %v\n", from)
		}
	} else {
		peer = net.UDPAddrFromAddrPort(dst)
	}
	// Replies, until none has come for the quiet time after the end of
	// stdin.
	done := make(chan struct{})
	eof := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 65536)
		ended := false
		for {
			if ended {
				pc.SetReadDeadline(time.Now().Add(quiet))
			}
			n, from, err := pc.ReadFrom(b)
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) && !ended {
					// stdin ended while we waited: start the quiet time.
					ended = true
					continue
				}
				return
			}
			if from.String() == peer.String() {
				stdout.Write(b[:n])
				rcvd += int64(n)
			}
			select {
			case <-eof:
				ended = true
			default:
			}
		}
	}()
	var werr error
	for {
		n, err := stdin.Read(buf)
		if n > 0 {
			if _, err := pc.WriteTo(buf[:n], peer); err != nil {
				werr = fmt.Errorf("nc: send: %w", err)
				break
			}
			sent += int64(n)
		}
		if err != nil {
			if err != io.EOF {
				werr = fmt.Errorf("nc: stdin: %w", err)
			}
			break
		}
	}
	close(eof)
	// Wake the reader so that it starts its quiet time now.
	pc.SetReadDeadline(time.Now())
	<-done
	return sent, rcvd, werr
}
