package main

import (
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/inet"
	"github.com/bsdnet/bsdnet/link"
	"github.com/bsdnet/bsdnet/socket"
)

// The views print a stack as FreeBSD's netstat(1) and sockstat(1) do,
// from the same sources: sotoxsocket for the socket tables (with the TCP
// state from TCP_INFO), the protocols' stat structs for netstat -s and the
// ifnet counters for netstat -i.

// sockRow is one socket as the tables print it.
type sockRow struct {
	host  string
	x     socket.Xsocket
	proto string // tcp4, tcp6, tcp46, udp4, ..., raw4, raw6; stream, dgram, seqpac for PF_LOCAL
	state string // the TCP state, or the socket's for other protocols
}

// inet reports whether the row is an AF_INET or AF_INET6 socket.
func (r sockRow) inet() bool {
	return r.x.Family == socket.AF_INET || r.x.Family == socket.AF_INET6
}

// sockRows returns every socket of st, oldest first.
func sockRows(host string, st *bsdnet.Stack) []sockRow {
	socks := st.Vnet().Sockets()
	rows := make([]sockRow, 0, len(socks))
	for _, so := range socks {
		r := sockRow{host: host}
		so.ToXsocket(&r.x)
		r.proto, r.state = protoName(so, r.x), stateName(r.x)
		if r.x.Type == socket.SOCK_STREAM && r.inet() {
			if ti, err := getTCPInfo(so); err == nil {
				r.state = tcpStateName(int(ti.State))
				if r.x.Options&socket.SO_ACCEPTCONN != 0 {
					r.state = fmt.Sprintf("LISTEN %d/%d", r.x.Qlen, r.x.Qlimit)
				}
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// protoName is netstat's protocol column: the protocol and the IP
// versions the socket takes (an AF_INET6 socket without IPV6_V6ONLY takes
// both, "46", until it is bound or connected to an IPv4 address).
func protoName(so *socket.Socket, x socket.Xsocket) string {
	var base string
	switch x.Type {
	case socket.SOCK_STREAM:
		base = "stream"
	case socket.SOCK_DGRAM:
		base = "dgram"
	case socket.SOCK_SEQPACKET:
		base = "seqpac"
	case socket.SOCK_RAW:
		base = "raw"
	default:
		base = fmt.Sprintf("type%d", x.Type)
	}
	switch x.Family {
	case socket.AF_INET, socket.AF_INET6:
	default:
		return base
	}
	switch x.Type {
	case socket.SOCK_STREAM:
		base = "tcp"
	case socket.SOCK_DGRAM:
		base = "udp"
	}
	if x.Family == socket.AF_INET {
		return base + "4"
	}
	if mapped(x.Local) || mapped(x.Foreign) {
		return base + "4"
	}
	if v6only, err := so.GetOptInt(inet.IPPROTO_IPV6, inet.IPV6_V6ONLY); err == nil && v6only == 0 {
		return base + "46"
	}
	return base + "6"
}

// mapped reports whether sa is an IPv4-mapped IPv6 address.
func mapped(sa socket.Sockaddr) bool {
	s6, ok := sa.(socket.SockaddrInet6)
	return ok && netip.AddrFrom16(s6.Addr).Is4In6()
}

// stateName is the state of a socket without a TCP state.
func stateName(x socket.Xsocket) string {
	switch {
	case x.Options&socket.SO_ACCEPTCONN != 0:
		return fmt.Sprintf("LISTEN %d/%d", x.Qlen, x.Qlimit)
	case x.State&socket.SS_ISCONNECTED != 0:
		return "CONNECTED"
	case x.State&socket.SS_ISCONNECTING != 0:
		return "CONNECTING"
	case x.State&socket.SS_ISDISCONNECTED != 0:
		return "DISCONNECTED"
	}
	return "-"
}

// fmtAddr prints an address as netstat does (addr.port), an IPv4-mapped
// one in its IPv4 form; foreign prints a missing address as *.*.
func fmtAddr(sa socket.Sockaddr, foreign bool) string {
	if sa == nil {
		if foreign {
			return "*.*"
		}
		return "*"
	}
	if s6, ok := sa.(socket.SockaddrInet6); ok {
		if a := netip.AddrFrom16(s6.Addr); a.Is4In6() {
			sa = socket.SockaddrInet4{Port: s6.Port, Addr: a.Unmap().As4()}
		}
	}
	return socket.FormatSockaddr(sa)
}

// sockstat prints sockets as sockstat(1) does, with netstat's queue
// columns, and a count by protocol; rows > 0 prints only the first rows.
// A HOST column is printed when the sockets are on more than one host.
func sockstat(w io.Writer, rs []sockRow, rows int) {
	counts := map[string]int{}
	hosts := map[string]bool{}
	for _, r := range rs {
		counts[r.proto]++
		hosts[r.host] = true
	}
	multi := len(hosts) > 1
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	if multi {
		fmt.Fprint(tw, "HOST\t")
	}
	fmt.Fprintln(tw, "USER\tPROTO\tSTATE\tRECV-Q\tSEND-Q\tLOCAL ADDRESS\tFOREIGN ADDRESS")
	for i, r := range rs {
		if rows > 0 && i == rows {
			if multi {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprintf(tw, "...\t(%d more)\t\t\t\t\t\n", len(rs)-rows)
			break
		}
		if multi {
			fmt.Fprintf(tw, "%s\t", r.host)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", userName(r.x.UID), r.proto, r.state,
			r.x.Rcv.Cc, r.x.Snd.Cc, fmtAddr(r.x.Local, false), fmtAddr(r.x.Foreign, false))
	}
	tw.Flush()
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "\n%d sockets:", len(rs))
	for _, n := range names {
		fmt.Fprintf(w, " %d %s", counts[n], n)
	}
	fmt.Fprintln(w)
}

func userName(uid uint32) string {
	if uid == 0 {
		return "root"
	}
	return fmt.Sprint(uid)
}

// netstatA prints the inet sockets of the hosts as netstat -an does, with
// a HOST column.
func netstatA(w io.Writer, hosts ...*bsdnet.Stack) {
	names := make([]string, len(hosts))
	for i, h := range hosts {
		names[i] = h.Name()
	}
	fmt.Fprintf(w, "netstat -an -f inet (host %s)\n", strings.Join(names, ", "))
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tPROTO\tRECV-Q\tSEND-Q\tLOCAL ADDRESS\tFOREIGN ADDRESS\t(STATE)")
	for _, h := range hosts {
		for _, r := range sockRows(h.Name(), h) {
			if !r.inet() {
				continue
			}
			state := ""
			switch {
			case r.x.Type == socket.SOCK_STREAM:
				state, _, _ = strings.Cut(r.state, " ") // LISTEN without its queue
			case r.x.State&socket.SS_ISCONNECTED != 0:
				state = "CONNECTED"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", r.host, r.proto, r.x.Rcv.Cc, r.x.Snd.Cc,
				fmtAddr(r.x.Local, false), fmtAddr(r.x.Foreign, true), state)
		}
	}
	tw.Flush()
}

// statLine is one line of netstat -s: a format with a %d for each value,
// printed at depth tabs when a value is not zero.
type statLine struct {
	depth  int
	format string
	vals   []uint64
}

func sl(depth int, format string, vals ...uint64) statLine { return statLine{depth, format, vals} }

// plural fills in a format's plural marks as netstat's plural() does:
// {s} (or {y|ies}, the singular and plural forms) takes the form for the
// count last printed before it.
func plural(format string, vals []uint64) string {
	var b strings.Builder
	n := -1
	for i := 0; i < len(format); i++ {
		switch {
		case strings.HasPrefix(format[i:], "%d"):
			n++
			fmt.Fprint(&b, vals[n])
			i++
		case format[i] == '{':
			end := strings.IndexByte(format[i:], '}')
			one, many, ok := strings.Cut(format[i+1:i+end], "|")
			if !ok {
				one, many = "", one
			}
			if n >= 0 && vals[n] == 1 {
				b.WriteString(one)
			} else {
				b.WriteString(many)
			}
			i += end
		default:
			b.WriteByte(format[i])
		}
	}
	return b.String()
}

// statSection prints the lines whose values moved under a header, and
// nothing when none did (netstat -s -s).
func statSection(w io.Writer, header string, lines []statLine) {
	printed := false
	for _, l := range lines {
		moved := false
		for _, v := range l.vals {
			moved = moved || v != 0
		}
		if !moved {
			continue
		}
		if !printed {
			fmt.Fprintf(w, "  %s:\n", header)
			printed = true
		}
		fmt.Fprintf(w, "%s%s\n", strings.Repeat("\t", l.depth), plural(l.format, l.vals))
	}
}

// netstatS prints each host's protocol counters that moved, as
// netstat -s -s does, with FreeBSD's phrases.
func netstatS(w io.Writer, hosts ...*bsdnet.Stack) {
	fmt.Fprintln(w, "netstat -s -s (counters that moved)")
	for _, h := range hosts {
		st := &h.Inet().Stats
		fmt.Fprintf(w, "%s:\n", h.Name())
		statSection(w, "tcp", tcpStatLines(&st.TCP))
		u := &st.UDP
		statSection(w, "udp", []statLine{
			sl(1, "%d datagram{s} received", u.IPackets.Load()),
			sl(2, "%d with incomplete header", u.HdrOps.Load()),
			sl(2, "%d with bad data length field", u.BadLen.Load()),
			sl(2, "%d with bad checksum", u.BadSum.Load()),
			sl(2, "%d with no checksum", u.NoSum.Load()),
			sl(2, "%d dropped due to no socket", u.NoPort.Load()),
			sl(2, "%d broadcast/multicast datagram{s} undelivered", u.NoPortBcast.Load()),
			sl(2, "%d dropped due to full socket buffers", u.FullSock.Load()),
			sl(1, "%d datagram{s} output", u.OPackets.Load()),
		})
		statSection(w, "ip", ipStatLines(&st.IP))
		statSection(w, "ip6", ipStatLines(&st.IP6))
		for _, c := range []struct {
			name string
			s    *inet.ICMPStats
		}{{"icmp", &st.ICMP}, {"icmp6", &st.ICMP6}} {
			statSection(w, c.name, []statLine{
				sl(1, "%d call{s} to icmp_error", c.s.Error.Load()),
				sl(1, "%d error{s} not generated in response to an icmp message", c.s.OldICMP.Load()),
				sl(1, "%d error{s} suppressed by the rate limit", c.s.RateLimit.Load()),
				sl(1, "%d message{s} with bad checksum", c.s.Checksum.Load()),
				sl(1, "%d message{s} < minimum length", c.s.TooShort.Load()),
				sl(1, "%d echo request{s} received", c.s.InEcho.Load()),
				sl(1, "%d message response{s} generated", c.s.Reflect.Load()),
				sl(1, "%d echo request{s} sent", c.s.OutEcho.Load()),
				sl(1, "%d error{s} received for the protocols", c.s.InErrors.Load()),
			})
		}
		for _, c := range []struct {
			name, req, rep string
			s              *inet.ARPStats
		}{{"arp", "ARP request{s}", "ARP repl{y|ies}", &st.ARP}, {"nd6", "neighbor solicitation{s}", "neighbor advertisement{s}", &st.ND}} {
			statSection(w, c.name, []statLine{
				sl(1, "%d "+c.req+" sent", c.s.TxRequests.Load()),
				sl(1, "%d "+c.rep+" sent", c.s.TxReplies.Load()),
				sl(1, "%d "+c.req+" received", c.s.RxRequests.Load()),
				sl(1, "%d "+c.rep+" received", c.s.RxReplies.Load()),
				sl(1, "%d total packet{s} dropped due to no entry", c.s.Dropped.Load()),
				sl(1, "%d entr{y|ies} timed out", c.s.Timeouts.Load()),
			})
		}
	}
}

// tcpStatLines are netstat -s -p tcp's lines.
func tcpStatLines(t *inet.TCPStats) []statLine {
	return []statLine{
		sl(1, "%d packet{s} sent", t.SndTotal.Load()),
		sl(2, "%d data packet{s} (%d byte{s})", t.SndPack.Load(), t.SndByte.Load()),
		sl(2, "%d data packet{s} (%d byte{s}) retransmitted", t.SndRexmitPack.Load(), t.SndRexmitByte.Load()),
		sl(2, "%d ack-only packet{s} (%d delayed)", t.SndAcks.Load(), t.DelAck.Load()),
		sl(2, "%d window probe packet{s}", t.SndProbe.Load()),
		sl(2, "%d window update packet{s}", t.SndWinUp.Load()),
		sl(2, "%d control packet{s} (%d reset{s})", t.SndCtrl.Load(), t.SndRst.Load()),
		sl(1, "%d packet{s} received", t.RcvTotal.Load()),
		sl(2, "%d ack{s} (for %d byte{s})", t.RcvAckPack.Load(), t.RcvAckByte.Load()),
		sl(2, "%d duplicate ack{s}", t.RcvDupAck.Load()),
		sl(2, "%d ack{s} for unsent data", t.RcvAckTooMuch.Load()),
		sl(2, "%d packet{s} (%d byte{s}) received in-sequence", t.RcvPack.Load(), t.RcvByte.Load()),
		sl(2, "%d completely duplicate packet{s} (%d byte{s})", t.RcvDupPack.Load(), t.RcvDupByte.Load()),
		sl(2, "%d packet{s} with some dup. data", t.RcvPartDupPack.Load()),
		sl(2, "%d out-of-order packet{s} (%d byte{s})", t.RcvOOPack.Load(), t.RcvOOByte.Load()),
		sl(2, "%d packet{s} of data after window", t.RcvPackAfterWin.Load()),
		sl(2, "%d window probe{s}", t.RcvWinProbe.Load()),
		sl(2, "%d window update packet{s}", t.RcvWinUpd.Load()),
		sl(2, "%d packet{s} received after close", t.RcvAfterClose.Load()),
		sl(2, "%d discarded for bad checksums", t.RcvBadSum.Load()),
		sl(2, "%d discarded for bad header offset fields", t.RcvBadOff.Load()),
		sl(2, "%d discarded because packet too short", t.RcvShort.Load()),
		sl(2, "%d discarded due to full reassembly queue", t.RcvReassFull.Load()),
		sl(2, "%d discarded by PAWS", t.PAWSDrop.Load()),
		sl(2, "%d reset{s} outside the window ignored", t.RcvBadRst.Load()),
		sl(1, "%d connection request{s}", t.ConnAttempt.Load()),
		sl(1, "%d syncache entr{y|ies} added", t.SyncacheAdded.Load()),
		sl(2, "%d retransmitted", t.SyncacheRexmit.Load()),
		sl(2, "%d dupsyn", t.SyncacheDupSyn.Load()),
		sl(2, "%d completed", t.SyncacheCompleted.Load()),
		sl(2, "%d cache overflow", t.SyncacheOverflow.Load()),
		sl(2, "%d reset", t.SyncacheReset.Load()),
		sl(2, "%d timed out", t.SyncacheTimeout.Load()),
		sl(1, "%d cookie{s} sent", t.SyncookiesSent.Load()),
		sl(1, "%d cookie{s} received (%d failed)", t.SyncookiesRecvd.Load(), t.SyncookiesFailed.Load()),
		sl(1, "%d connection accept{s}", t.Accepts.Load()),
		sl(1, "%d listen queue overflow{s}", t.ListenDrop.Load()),
		sl(1, "%d connection{s} established (including accepts)", t.Connects.Load()),
		sl(1, "%d connection{s} closed (including %d drop{s})", t.Closed.Load(), t.Drops.Load()),
		sl(1, "%d embryonic connection{s} dropped", t.ConnDrops.Load()),
		sl(1, "%d segment{s} updated rtt (of %d attempt{s})", t.RttUpdated.Load(), t.SegsTimed.Load()),
		sl(1, "%d retransmit timeout{s}", t.RexmtTimeo.Load()),
		sl(2, "%d connection{s} dropped by rexmit timeout", t.TimeoutDrop.Load()),
		sl(1, "%d persist timeout{s}", t.PersistTimeo.Load()),
		sl(1, "%d keepalive timeout{s}", t.KeepTimeo.Load()),
		sl(2, "%d keepalive probe{s} sent", t.KeepProbe.Load()),
		sl(2, "%d connection{s} dropped by keepalive", t.KeepDrops.Load()),
		sl(1, "%d fast retransmit{s}", t.FastRexmit.Load()),
		sl(1, "%d NewReno recover{y|ies} (%d partial ack{s})", t.FastRecovery.Load(), t.PartialAck.Load()),
		sl(1, "%d SACK recovery episode{s}", t.SackRecovery.Load()),
		sl(2, "%d byte rexmits in SACK recovery episodes", t.SackRexmitByte.Load()),
		sl(1, "%d D-SACK block{s} received", t.RcvDSack.Load()),
		sl(1, "%d segment{s} deemed lost by RACK", t.RackLoss.Load()),
		sl(1, "%d tail loss probe{s} sent (%d loss{|es} repaired)", t.TLPProbe.Load(), t.TLPRecovery.Load()),
		sl(1, "%d challenge ACK{s} sent", t.ChallengeAck.Load()),
		sl(1, "%d MSS update{s} from ICMP", t.PMTUUpdate.Load()),
		sl(1, "%d segment{s} for no connection (RST sent)", t.NoPort.Load()),
	}
}

// ipStatLines are netstat -s -p ip's (and ip6's) lines.
func ipStatLines(s *inet.IPStats) []statLine {
	return []statLine{
		sl(1, "%d total packet{s} received", s.Total.Load()),
		sl(1, "%d bad header checksums", s.BadSum.Load()),
		sl(1, "%d with size smaller than minimum", s.TooSmall.Load()),
		sl(1, "%d with data size < data length", s.TooShort.Load()),
		sl(1, "%d with header length < data size", s.BadHdrLen.Load()),
		sl(1, "%d with data length < header length", s.BadLen.Load()),
		sl(1, "%d with bad options", s.BadOptions.Load()),
		sl(1, "%d with incorrect version number", s.BadVers.Load()),
		sl(1, "%d fragment{s} received", s.Fragments.Load()),
		sl(1, "%d fragment{s} dropped (dup or out of space)", s.FragDropped.Load()),
		sl(1, "%d fragment{s} dropped after timeout", s.FragTimeout.Load()),
		sl(1, "%d packet{s} reassembled ok", s.Reassembled.Load()),
		sl(1, "%d packet{s} for this host", s.Delivered.Load()),
		sl(1, "%d packet{s} for unknown/unsupported protocol", s.NoProto.Load()),
		sl(1, "%d packet{s} forwarded", s.Forward.Load()),
		sl(1, "%d packet{s} not forwardable", s.CantForward.Load()),
		sl(1, "%d packet{s} received for unknown multicast group", s.MulticastNoGrp.Load()),
		sl(1, "%d packet{s} not for this host", s.NotForUs.Load()),
		sl(1, "%d packet{s} sent from this host", s.LocalOut.Load()),
		sl(1, "%d packet{s} sent with fabricated ip header", s.RawOut.Load()),
		sl(1, "%d output packet{s} dropped due to no bufs, etc.", s.ODropped.Load()),
		sl(1, "%d output packet{s} discarded due to no route", s.NoRoute.Load()),
		sl(1, "%d output datagram{s} fragmented", s.Fragmented.Load()),
		sl(1, "%d fragment{s} created", s.OFragments.Load()),
		sl(1, "%d datagram{s} that can't be fragmented", s.CantFrag.Load()),
	}
}

// netstatI prints the interfaces of each host as netstat -i -b -d does:
// packets, errors, drops and bytes each way.
func netstatI(w io.Writer, hosts ...*bsdnet.Stack) {
	fmt.Fprintln(w, "netstat -i -b -d")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tNAME\tMTU\tNETWORK\tADDRESS\tIPKTS\tIERRS\tIDROP\tIBYTES\tOPKTS\tOERRS\tODROP\tOBYTES")
	for _, h := range hosts {
		for _, ifa := range h.Inet().Interfaces() {
			ifp := ifa.Ifnet()
			network, addr := "<Link>", ifp.HWAddr().String()
			if addr == "" {
				addr = "-"
			}
			for _, p := range ifa.Addrs() {
				if p.Addr().Is4() {
					network, addr = p.Masked().String(), p.Addr().String()
					break
				}
			}
			s := &ifp.Stats
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", h.Name(), ifp.Name(), ifp.MTU(), network, addr,
				s.Ipackets.Load(), s.Ierrors.Load(), s.Iqdrops.Load(), s.Ibytes.Load(),
				s.Opackets.Load(), s.Oerrors.Load(), s.Oqdrops.Load(), s.Obytes.Load())
		}
	}
	tw.Flush()
}

// wireStats prints what each wire of the topology did to the frames
// crossing it, each way.
func wireStats(w io.Writer, t *topology) {
	fmt.Fprintln(w, "wires (frames each way)")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "FROM\tTO\tSENT\tDELIVERED\tLOST\tREORDERED\tQDROPS")
	row := func(from, to string, d link.DirStats) {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\n", from, to, d.Sent, d.Delivered, d.Lost, d.Reordered, d.QueueDrops)
	}
	sa, sb := t.wa.Stats(), t.wb.Stats()
	row("a.eth0", "r.eth0", sa.AtoB)
	row("r.eth0", "a.eth0", sa.BtoA)
	row("r.eth1", "b.eth0", sb.AtoB)
	row("b.eth0", "r.eth1", sb.BtoA)
	tw.Flush()
}
