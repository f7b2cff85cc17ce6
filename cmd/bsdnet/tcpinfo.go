package main

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/bsdnet/bsdnet/inet"
	"github.com/bsdnet/bsdnet/socket"
)

// tcpStates are the TCP states by number, as tcp_fsm.h's tcpstates[]
// names them and netstat prints them.
var tcpStates = [...]string{"CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED",
	"CLOSE_WAIT", "FIN_WAIT_1", "CLOSING", "LAST_ACK", "FIN_WAIT_2", "TIME_WAIT"}

// tcpStateName names state s.
func tcpStateName(s int) string {
	if s >= 0 && s < len(tcpStates) {
		return tcpStates[s]
	}
	return fmt.Sprint(s)
}

// tcpInfo is the part of FreeBSD's struct tcp_info that bsdnet fills,
// decoded from getsockopt(IPPROTO_TCP, TCP_INFO).
type tcpInfo struct {
	State    int           // tcpi_state
	RTO      time.Duration // tcpi_rto
	SndMSS   uint32        // tcpi_snd_mss
	RTT      time.Duration // tcpi_rtt: the smoothed round-trip time
	RTTVar   time.Duration // tcpi_rttvar
	Ssthresh uint32        // tcpi_snd_ssthresh
	Cwnd     uint32        // tcpi_snd_cwnd
	RcvSpace uint32        // tcpi_rcv_space: the window offered
	SndWnd   uint32        // tcpi_snd_wnd: the peer's window
	SndNxt   uint32        // tcpi_snd_nxt
	RcvNxt   uint32        // tcpi_rcv_nxt
}

// getTCPInfo reads TCP_INFO from a TCP socket.
func getTCPInfo(so *socket.Socket) (tcpInfo, error) {
	var b [inet.TCPInfoLen]byte
	sopt := socket.Sockopt{Level: inet.IPPROTO_TCP, Name: inet.TCP_INFO, Val: b[:], Valsize: len(b)}
	if err := so.GetOpt(&sopt); err != nil {
		return tcpInfo{}, err
	}
	if sopt.Valsize < 88 {
		return tcpInfo{}, fmt.Errorf("TCP_INFO: %d bytes, want at least 88", sopt.Valsize)
	}
	ne := binary.NativeEndian
	us := func(off int) time.Duration { return time.Duration(ne.Uint32(b[off:])) * time.Microsecond }
	return tcpInfo{
		State:    int(b[0]),
		RTO:      us(8),
		SndMSS:   ne.Uint32(b[20:]),
		RTT:      us(44),
		RTTVar:   us(48),
		Ssthresh: ne.Uint32(b[52:]),
		Cwnd:     ne.Uint32(b[56:]),
		RcvSpace: ne.Uint32(b[64:]),
		SndWnd:   ne.Uint32(b[72:]),
		SndNxt:   ne.Uint32(b[80:]),
		RcvNxt:   ne.Uint32(b[84:]),
	}, nil
}
