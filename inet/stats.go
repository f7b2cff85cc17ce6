package inet

import "sync/atomic"

// Stats are the inet counters, grouped as netstat -s prints them.
type Stats struct {
	IP    IPStats
	IP6   IPStats
	ICMP  ICMPStats
	ICMP6 ICMPStats
	UDP   UDPStats
	TCP   TCPStats
	ARP   ARPStats
	ND    ARPStats
	Raw   RawStats
}

// IPStats are struct ipstat's counters (and ip6stat's, for IPv6).
type IPStats struct {
	Total          atomic.Uint64 // packets received (ips_total)
	BadSum         atomic.Uint64 // bad header checksums
	TooShort       atomic.Uint64 // packet shorter than the header says
	TooSmall       atomic.Uint64 // too small for a header
	BadHdrLen      atomic.Uint64 // header length out of range
	BadLen         atomic.Uint64 // total length out of range
	BadVers        atomic.Uint64 // wrong version
	BadOptions     atomic.Uint64 // malformed options or extension headers
	Fragments      atomic.Uint64 // fragments received
	FragDropped    atomic.Uint64 // fragments dropped (duplicates, overlaps, limits)
	FragTimeout    atomic.Uint64 // fragments dropped after the reassembly timeout
	Reassembled    atomic.Uint64 // packets reassembled
	Delivered      atomic.Uint64 // packets given to an upper protocol
	NoProto        atomic.Uint64 // packets for an unknown protocol
	NotForUs       atomic.Uint64 // packets not addressed to us and not forwarded
	Forward        atomic.Uint64 // packets forwarded
	CantForward    atomic.Uint64 // packets not forwardable
	LocalOut       atomic.Uint64 // packets sent by this host
	NoRoute        atomic.Uint64 // packets dropped for want of a route
	ODropped       atomic.Uint64 // output packets dropped (no buffer, link down)
	Fragmented     atomic.Uint64 // packets fragmented on output
	OFragments     atomic.Uint64 // fragments sent
	CantFrag       atomic.Uint64 // packets too big with DF (or IPv6) and not fragmented
	RawOut         atomic.Uint64 // packets sent with a header from a raw socket
	MulticastNoGrp atomic.Uint64 // multicast for groups not joined
}

// ICMPStats are struct icmpstat's counters.
type ICMPStats struct {
	Error     atomic.Uint64 // errors generated
	OldICMP   atomic.Uint64 // no error about an ICMP error
	RateLimit atomic.Uint64 // errors suppressed by the rate limit
	TooShort  atomic.Uint64
	Checksum  atomic.Uint64 // bad checksums
	BadCode   atomic.Uint64
	Reflect   atomic.Uint64 // echo replies sent
	InEcho    atomic.Uint64 // echo requests received
	InErrors  atomic.Uint64 // errors received and passed to protocols
	InOther   atomic.Uint64
	OutEcho   atomic.Uint64
}

// UDPStats are struct udpstat's counters.
type UDPStats struct {
	IPackets    atomic.Uint64 // datagrams received
	HdrOps      atomic.Uint64 // packets shorter than a header
	BadSum      atomic.Uint64 // checksum errors
	NoSum       atomic.Uint64 // datagrams without a checksum
	BadLen      atomic.Uint64 // data length larger than the packet
	NoPort      atomic.Uint64 // no socket on the port (ICMP sent)
	NoPortBcast atomic.Uint64 // broadcast or multicast with no socket
	FullSock    atomic.Uint64 // dropped for a full receive buffer
	OPackets    atomic.Uint64 // datagrams sent
}

// ARPStats count address resolution (ARP for IPv4, ND for IPv6).
type ARPStats struct {
	TxRequests atomic.Uint64
	TxReplies  atomic.Uint64
	RxRequests atomic.Uint64
	RxReplies  atomic.Uint64
	Received   atomic.Uint64 // packets received
	Dropped    atomic.Uint64 // packets dropped waiting for resolution
	Timeouts   atomic.Uint64 // resolutions that failed
	Malformed  atomic.Uint64
}

// RawStats count raw-socket delivery.
type RawStats struct {
	Delivered atomic.Uint64
	FullSock  atomic.Uint64
}
