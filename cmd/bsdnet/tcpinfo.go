package main

import (
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
	ti, err := inet.ParseTCPInfo(b[:sopt.Valsize])
	if err != nil {
		return tcpInfo{}, fmt.Errorf("TCP_INFO: %d bytes: %w", sopt.Valsize, err)
	}
	return tcpInfo{
		State:    int(ti.State),
		RTO:      ti.RTO,
		SndMSS:   ti.SndMSS,
		RTT:      ti.RTT,
		RTTVar:   ti.RTTVar,
		Ssthresh: ti.SndSsthresh,
		Cwnd:     ti.SndCwnd,
		RcvSpace: ti.RcvSpace,
		SndWnd:   ti.SndWnd,
		SndNxt:   ti.SndNxt,
		RcvNxt:   ti.RcvNxt,
	}, nil
}
