package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/link"
)

const tapUsage = `usage: bsdnet tap [flags]

Attaches a bsdnet stack to a TAP device of the host kernel (Linux, as root
or with CAP_NET_ADMIN), gives it addresses and serves echo (port 7)
and discard (port 9) over TCP and UDP and HTTP (port 80: a page, and
/bytes?n=N for N bytes of text) on it, so that ping, curl and nc on the
host talk to bsdnet by hand. The stack answers ICMP and ICMPv6 echo
requests itself.

The kernel's side of the device starts down and without addresses: the
command prints the ip(8) commands that configure it, or runs them itself
with -configure. It runs until interrupted (SIGINT, SIGTERM) or for
-duration, then prints the stack's netstat -s and netstat -i views.

Flags:
`

// tapOpts are the settings of one tap run.
type tapOpts struct {
	name      string
	addrs     []netip.Prefix // bsdnet's addresses
	gws       []netip.Addr   // default routes
	configure bool
	duration  time.Duration

	// hostSide, when set, configures the kernel's side of the device
	// instead of ip(8) in this namespace: the tests move the device into
	// a network namespace of their own.
	hostSide func(dev string, host []netip.Prefix) error
	// ready, when set, is called once the services are up.
	ready func(dev string)
}

// prefixList is a flag holding a comma-separated list of prefixes; the
// flag may be repeated.
type prefixList struct {
	set bool
	ps  []netip.Prefix
}

// String prints the prefixes, comma-separated.
func (l *prefixList) String() string {
	s := make([]string, len(l.ps))
	for i, p := range l.ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// Set adds the prefixes in v; the first Set replaces the default.
func (l *prefixList) Set(v string) error {
	if !l.set {
		l.set, l.ps = true, nil
	}
	for _, f := range strings.Split(v, ",") {
		p, err := netip.ParsePrefix(strings.TrimSpace(f))
		if err != nil {
			return err
		}
		l.ps = append(l.ps, p)
	}
	return nil
}

// addrList is a flag holding a comma-separated list of addresses; it may
// be repeated.
type addrList []netip.Addr

// String prints the addresses, comma-separated.
func (l *addrList) String() string {
	s := make([]string, len(*l))
	for i, a := range *l {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

// Set adds the addresses in v.
func (l *addrList) Set(v string) error {
	for _, f := range strings.Split(v, ",") {
		a, err := netip.ParseAddr(strings.TrimSpace(f))
		if err != nil {
			return err
		}
		*l = append(*l, a)
	}
	return nil
}

func tap(args []string, stdout, stderr io.Writer) error {
	o, err := parseTap(args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return tapRun(ctx, o, stdout)
}

// parseTap parses the tap subcommand's flags.
func parseTap(args []string, stderr io.Writer) (tapOpts, error) {
	fs := flag.NewFlagSet("tap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), tapUsage)
		fs.PrintDefaults()
	}
	o := tapOpts{}
	addrs := prefixList{ps: []netip.Prefix{netip.MustParsePrefix("10.99.0.2/24"), netip.MustParsePrefix("fd99::2/64")}}
	var gws addrList
	fs.StringVar(&o.name, "name", "bsdnet%d", "name of the TAP device (a %d lets the kernel pick a free number)")
	fs.Var(&addrs, "addr", "bsdnet's addresses on the device, comma-separated, in CIDR form")
	fs.Var(&gws, "gw", "default gateway(s) of the stack, comma-separated (one per family)")
	fs.BoolVar(&o.configure, "configure", false, "configure the kernel's side of the device with ip(8) instead of printing the commands")
	fs.DurationVar(&o.duration, "duration", 0, "stop after this long (0: run until interrupted)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return o, fmt.Errorf("tap: unexpected argument %q", fs.Arg(0))
	}
	if len(addrs.ps) == 0 {
		return o, errors.New("tap: -addr: no address")
	}
	if o.duration < 0 {
		return o, errors.New("tap: -duration must not be negative")
	}
	o.addrs, o.gws = addrs.ps, gws
	if _, err := hostPrefixes(o.addrs); err != nil {
		return o, err
	}
	return o, nil
}

// hostPrefixes chooses the kernel side's address on each of bsdnet's
// subnets: the first in the subnet, or the second when bsdnet has the
// first.
func hostPrefixes(ps []netip.Prefix) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, len(ps))
	for i, p := range ps {
		if p.Bits() >= p.Addr().BitLen()-1 {
			return nil, fmt.Errorf("tap: -addr %s: the subnet has no room for the host's side", p)
		}
		h := p.Masked().Addr().Next()
		if h == p.Addr() {
			h = h.Next()
		}
		out[i] = netip.PrefixFrom(h, p.Bits())
	}
	return out, nil
}

// hostCommands are the ip(8) commands that configure the kernel's side.
func hostCommands(dev string, host []netip.Prefix) [][]string {
	var cmds [][]string
	for _, h := range host {
		c := []string{"ip", "addr", "add", h.String(), "dev", dev}
		if h.Addr().Is6() {
			// Usable at once, without duplicate address detection.
			c = append(c, "nodad")
		}
		cmds = append(cmds, c)
	}
	return append(cmds, []string{"ip", "link", "set", dev, "up"})
}

// openTAP makes a stack on a fresh TAP device, with clear errors for the
// usual reasons it cannot.
func openTAP(name string, addrs []netip.Prefix, gws []netip.Addr) (*bsdnet.Stack, *link.Ifnet, error) {
	if runtime.GOOS != "linux" {
		return nil, nil, fmt.Errorf("tap: TAP devices are a Linux feature; this is %s", runtime.GOOS)
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return nil, nil, fmt.Errorf("tap: /dev/net/tun is missing, so the kernel offers no TUN/TAP devices (try modprobe tun): %w", err)
	}
	st := bsdnet.NewStack(bsdnet.WithName("bsdnet"))
	ifp, err := link.OpenTAP(name, st.Vnet().Pool)
	if err != nil {
		st.Close()
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			who := "this process lacks CAP_NET_ADMIN"
			if os.Geteuid() != 0 {
				who = fmt.Sprintf("uid %d is not root", os.Geteuid())
			}
			return nil, nil, fmt.Errorf("tap: creating a TAP device needs root (CAP_NET_ADMIN), and %s: %w", who, err)
		}
		return nil, nil, fmt.Errorf("tap: %w", err)
	}
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	err = st.AddInterface(ifp, s...)
	for _, gw := range gws {
		if err != nil {
			break
		}
		if err = st.AddRoute("default", gw.String()); err != nil {
			err = fmt.Errorf("default route via %s: %w", gw, err)
		}
	}
	if err != nil {
		ifp.Close()
		st.Close()
		return nil, nil, fmt.Errorf("tap: %w", err)
	}
	return st, ifp, nil
}

// syncWriter serializes writes from the services' goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Write writes p in one piece.
func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// tapRun runs the tap subcommand until ctx ends or the duration is over.
func tapRun(ctx context.Context, o tapOpts, stdout io.Writer) error {
	out := &syncWriter{w: stdout}
	host, err := hostPrefixes(o.addrs)
	if err != nil {
		return err
	}
	st, ifp, err := openTAP(o.name, o.addrs, o.gws)
	if err != nil {
		return err
	}
	defer st.Close()
	defer ifp.Close()
	dev := ifp.Name()
	fmt.Fprintf(out, "bsdnet tap: a stack on TAP device %s (%v, MTU %d), addresses %s\n",
		dev, ifp.HWAddr(), ifp.MTU(), (&prefixList{ps: o.addrs}).String())

	svcs, err := startServices(st, out)
	if err != nil {
		return fmt.Errorf("tap: %w", err)
	}
	defer svcs.Close()
	fmt.Fprintln(out, "serving echo (port 7) and discard (port 9) over TCP and UDP, and HTTP (port 80);")
	fmt.Fprintln(out, "ICMP and ICMPv6 echo requests are answered by the stack")

	cmds := hostCommands(dev, host)
	switch {
	case o.hostSide != nil:
		if err := o.hostSide(dev, host); err != nil {
			return fmt.Errorf("tap: configuring the host side: %w", err)
		}
	case o.configure:
		for _, c := range cmds {
			fmt.Fprintf(out, "+ %s\n", strings.Join(c, " "))
			if b, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
				return fmt.Errorf("tap: %s: %v: %s", strings.Join(c, " "), err, strings.TrimSpace(string(b)))
			}
		}
	default:
		fmt.Fprintln(out, "\nConfigure the host's side of the device (as root):")
		for _, c := range cmds {
			fmt.Fprintf(out, "\t%s\n", strings.Join(c, " "))
		}
	}
	fmt.Fprintln(out, "\nThen talk to bsdnet from the host:")
	for _, a := range o.addrs {
		if a.Addr().Is4() {
			fmt.Fprintf(out, "\tping -c 3 %s\n", a.Addr())
		} else {
			fmt.Fprintf(out, "\tping -6 -c 3 %s\n", a.Addr())
		}
	}
	for _, a := range o.addrs {
		h := a.Addr().String()
		if a.Addr().Is6() {
			h = "[" + h + "]"
		}
		fmt.Fprintf(out, "\tcurl http://%s/    # and /bytes?n=1000000\n", h)
	}
	for _, a := range o.addrs {
		fmt.Fprintf(out, "\techo hello | nc -N %s 7    # TCP echo; port 9 discards\n", a.Addr())
		fmt.Fprintf(out, "\techo hello | nc -u -w 1 %s 7    # UDP echo\n", a.Addr())
	}
	if o.duration > 0 {
		fmt.Fprintf(out, "\nRunning for %v (or until interrupted).\n", o.duration)
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	} else {
		fmt.Fprintln(out, "\nRunning until interrupted (Ctrl-C).")
	}
	if o.ready != nil {
		o.ready(dev)
	}
	<-ctx.Done()

	fmt.Fprintln(out)
	netstatA(out, st)
	svcs.Close()
	fmt.Fprintln(out)
	netstatS(out, st)
	fmt.Fprintln(out, "services:")
	s := &st.Inet().Stats
	fmt.Fprintf(out, "\t%d ICMP echo requests received, %d echo replies sent\n", s.ICMP.InEcho.Load(), s.ICMP.Reflect.Load())
	fmt.Fprintf(out, "\t%d ICMPv6 echo requests received, %d echo replies sent\n", s.ICMP6.InEcho.Load(), s.ICMP6.Reflect.Load())
	svcs.summary(out)
	fmt.Fprintln(out)
	netstatI(out, st)
	return nil
}
