package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// The time-sequence graph, drawn as tcptrace and xplot draw it, as a
// hand-written SVG: the upper panel has time since the connection's first
// segment across and the relative sequence number up, with a vertical bar
// for each data segment the server sent (retransmissions in red), the
// client's cumulative ACK as a step line and the right edge of the window
// it offered above it; the lower panel has the server's congestion window
// and slow-start threshold and its smoothed round-trip time, sampled from
// TCP_INFO.

// Layout, in SVG user units.
const (
	plotW      = 1000.0
	plotLeft   = 90.0
	plotRight  = plotW - 90
	seqTop     = 70.0
	seqBottom  = 480.0
	infoTop    = 540.0
	infoBottom = 700.0
	plotH      = 760.0
)

// Colours of the series.
const (
	colData   = "#1f4e9c"
	colRexmt  = "#d62728"
	colAck    = "#2ca02c"
	colWindow = "#e0a000"
	colCwnd   = "#1f77b4"
	colThresh = "#7f7f7f"
	colRTT    = "#9467bd"
)

// axis maps data values onto a span of the picture, with ticks at round
// values.
type axis struct {
	max        float64 // the axis runs from 0 to max, a multiple of step
	step       float64
	from, to   float64 // picture coordinates of 0 and max
	unit       float64 // tick labels are value/unit
	unitSuffix string
}

// newAxis returns an axis from 0 past dataMax with about n ticks.
func newAxis(dataMax float64, n int, from, to float64) axis {
	if !(dataMax > 0) || math.IsInf(dataMax, 0) {
		dataMax = 1
	}
	raw := dataMax / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	return axis{max: math.Ceil(dataMax/step-1e-9) * step, step: step, from: from, to: to, unit: 1}
}

// at maps v onto the picture.
func (a axis) at(v float64) float64 { return a.from + (a.to-a.from)*v/a.max }

// ticks returns the tick values.
func (a axis) ticks() []float64 {
	var t []float64
	for i := 0; float64(i)*a.step <= a.max*(1+1e-9); i++ {
		t = append(t, float64(i)*a.step)
	}
	return t
}

// label formats a tick value.
func (a axis) label(v float64) string {
	prec := max(0, int(math.Ceil(-math.Log10(a.step/a.unit)))+1)
	s := strconv.FormatFloat(v/a.unit, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// withByteUnit makes the axis label bytes in kB or MB.
func (a axis) withByteUnit() axis {
	switch {
	case a.max >= 1e6:
		a.unit, a.unitSuffix = 1e6, "MB"
	case a.max >= 1e3:
		a.unit, a.unitSuffix = 1e3, "kB"
	default:
		a.unitSuffix = "bytes"
	}
	return a
}

// svgWriter builds the picture.
type svgWriter struct {
	b strings.Builder
}

func (w *svgWriter) printf(format string, args ...any) { fmt.Fprintf(&w.b, format, args...) }

// text writes a text element with escaped content.
func (w *svgWriter) text(x, y float64, attrs, s string) {
	w.printf(`<text x="%.1f" y="%.1f"%s>`, x, y, attrs)
	xml.EscapeText(&w.b, []byte(s))
	w.b.WriteString("</text>\n")
}

// path is an SVG path's data, built a command at a time.
type path struct {
	b strings.Builder
	n int // commands started with M
}

func (p *path) move(x, y float64) {
	fmt.Fprintf(&p.b, "M%.1f %.1f", x, y)
	p.n++
}
func (p *path) vert(y float64)  { fmt.Fprintf(&p.b, "V%.1f", y) }
func (p *path) horiz(x float64) { fmt.Fprintf(&p.b, "H%.1f", x) }
func (p *path) line(x, y float64) {
	fmt.Fprintf(&p.b, "L%.1f %.1f", x, y)
}

// draw writes the path with an id and style.
func (w *svgWriter) draw(id string, p *path, style string) {
	if p.b.Len() == 0 {
		return
	}
	w.printf(`<path id="%s" d="%s" %s/>`+"\n", id, p.b.String(), style)
}

// xAxis draws the ticks and labels of a time axis under a panel.
func (w *svgWriter) xAxis(id string, x axis, y0, y1 float64, label string) {
	w.printf(`<g id="%s" font-size="11" text-anchor="middle">`+"\n", id)
	for _, t := range x.ticks() {
		px := x.at(t)
		w.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e6e6e6"/>`+"\n", px, y0, px, y1)
		w.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", px, y1, px, y1+5)
		w.text(px, y1+17, "", x.label(t))
	}
	if label != "" {
		w.text((plotLeft+plotRight)/2, y1+34, ` font-size="12"`, label)
	}
	w.b.WriteString("</g>\n")
}

// yAxis draws the ticks and labels of a vertical axis at x (the left or
// the right edge of a panel), with grid lines for the left one.
func (w *svgWriter) yAxis(id string, y axis, x float64, left bool, label, colour string) {
	anchor, dx, tick := "end", -8.0, -5.0
	if !left {
		anchor, dx, tick = "start", 8, 5
	}
	w.printf(`<g id="%s" font-size="11" text-anchor="%s" fill="%s">`+"\n", id, anchor, colour)
	for _, t := range y.ticks() {
		py := y.at(t)
		if left {
			w.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e6e6e6"/>`+"\n", plotLeft, py, plotRight, py)
		}
		w.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", x, py, x+tick, py)
		w.text(x+dx, py+4, "", y.label(t))
	}
	lx := x - 62
	if !left {
		lx = x + 62
	}
	my := (y.from + y.to) / 2
	w.text(lx, my, fmt.Sprintf(` font-size="12" text-anchor="middle" transform="rotate(-90 %.1f %.1f)"`, lx, my), label)
	w.b.WriteString("</g>\n")
}

// legend draws a row of coloured samples with their names.
func (w *svgWriter) legend(x, y float64, items [][3]string) {
	w.printf(`<g font-size="11">` + "\n")
	for _, it := range items {
		colour, dash, name := it[0], it[1], it[2]
		w.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="3"%s/>`+"\n", x, y-4, x+18, y-4, colour, dash)
		w.text(x+23, y, "", name)
		x += 30 + 6.5*float64(len(name))
	}
	w.b.WriteString("</g>\n")
}

// plotInfo says what the picture shows, for its titles.
type plotInfo struct {
	title    string // what was transferred, and between whom
	subtitle string // the wires
}

// secs returns d in seconds.
func secs(d time.Duration) float64 { return d.Seconds() }

// writePlot draws d as a time-sequence graph in SVG to out.
func writePlot(out io.Writer, d traceData, pi plotInfo) error {
	var tMax, seqMax float64
	for _, s := range d.segs {
		tMax, seqMax = max(tMax, secs(s.t)), max(seqMax, float64(s.end))
	}
	for _, a := range d.acks {
		tMax, seqMax = max(tMax, secs(a.t)), max(seqMax, float64(a.win))
	}
	var cwndMax float64
	var rttMax time.Duration
	for _, s := range d.info {
		tMax = max(tMax, secs(s.t))
		cwndMax = max(cwndMax, float64(s.cwnd))
		rttMax = max(rttMax, s.srtt)
	}
	x := newAxis(tMax, 10, plotLeft, plotRight)
	x.unitSuffix = "s"
	seq := newAxis(seqMax, 8, seqBottom, seqTop).withByteUnit()
	cw := newAxis(cwndMax, 4, infoBottom, infoTop).withByteUnit()
	rtt := newAxis(float64(rttMax)/1e6, 4, infoBottom, infoTop) // milliseconds

	var w svgWriter
	w.printf(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="Helvetica, Arial, sans-serif">`+"\n",
		plotW, plotH, plotW, plotH)
	w.b.WriteString("<title>")
	xml.EscapeText(&w.b, []byte("TCP time-sequence graph: "+pi.title))
	w.b.WriteString("</title>\n")
	w.printf(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	w.text(plotW/2, 24, ` font-size="15" text-anchor="middle" font-weight="bold"`, pi.title)
	w.text(plotW/2, 42, ` font-size="12" text-anchor="middle" fill="#444"`, pi.subtitle)
	w.printf(`<defs><clipPath id="seq-clip"><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"/></clipPath>`,
		plotLeft, seqTop-4, plotRight-plotLeft, seqBottom-seqTop+8)
	w.printf(`<clipPath id="info-clip"><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"/></clipPath></defs>`+"\n",
		plotLeft, infoTop-4, plotRight-plotLeft, infoBottom-infoTop+8)

	// The upper panel: sequence numbers.
	w.xAxis("time-axis", x, seqTop, seqBottom, "")
	w.yAxis("seq-axis", seq, plotLeft, true, "relative sequence number ("+seq.unitSuffix+")", "black")
	w.printf(`<g clip-path="url(#seq-clip)">` + "\n")
	var ack, win path
	for i, a := range d.acks {
		px := x.at(secs(a.t))
		if i == 0 {
			ack.move(px, seq.at(float64(a.ack)))
			win.move(px, seq.at(float64(a.win)))
			continue
		}
		ack.horiz(px)
		ack.vert(seq.at(float64(a.ack)))
		win.horiz(px)
		win.vert(seq.at(float64(a.win)))
	}
	w.draw("window", &win, `fill="none" stroke="`+colWindow+`" stroke-width="1.2"`)
	w.draw("acks", &ack, `fill="none" stroke="`+colAck+`" stroke-width="1.2"`)
	var data, rexmt path
	for _, s := range d.segs {
		p := &data
		if s.rexmt {
			p = &rexmt
		}
		px := x.at(secs(s.t))
		p.move(px, seq.at(float64(s.seq)))
		p.vert(seq.at(float64(s.end)))
	}
	w.draw("segments", &data, `fill="none" stroke="`+colData+`" stroke-width="1.5" stroke-linecap="square"`)
	w.draw("retransmissions", &rexmt, `fill="none" stroke="`+colRexmt+`" stroke-width="3" stroke-linecap="square"`)
	w.b.WriteString("</g>\n")
	w.printf(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="black"/>`+"\n",
		plotLeft, seqTop, plotRight-plotLeft, seqBottom-seqTop)
	w.legend(plotLeft+10, seqTop-10, [][3]string{
		{colData, "", fmt.Sprintf("data segments (%d)", len(d.segs)-d.retransmissions())},
		{colRexmt, "", fmt.Sprintf("retransmissions (%d)", d.retransmissions())},
		{colAck, "", "ACK (snd_una)"},
		{colWindow, "", "ACK + receive window"},
	})

	// The lower panel: cwnd, ssthresh and the smoothed RTT.
	w.xAxis("info-time-axis", x, infoTop, infoBottom, "time since the first segment ("+x.unitSuffix+")")
	w.yAxis("cwnd-axis", cw, plotLeft, true, "cwnd ("+cw.unitSuffix+")", colCwnd)
	w.yAxis("rtt-axis", rtt, plotRight, false, "smoothed RTT (ms)", colRTT)
	w.printf(`<g clip-path="url(#info-clip)">` + "\n")
	var cwnd, thresh, srtt path
	var lastCwnd, lastThresh uint32
	var lastRTT time.Duration
	threshOn := false
	for i, s := range d.info {
		px := x.at(secs(s.t))
		if i == 0 {
			cwnd.move(px, cw.at(float64(s.cwnd)))
			srtt.move(px, rtt.at(float64(s.srtt)/1e6))
		} else {
			if s.cwnd != lastCwnd {
				cwnd.horiz(px)
				cwnd.vert(cw.at(float64(s.cwnd)))
			}
			if s.srtt != lastRTT {
				srtt.line(px, rtt.at(float64(s.srtt)/1e6))
			}
		}
		// ssthresh starts "infinite"; it is drawn once it is finite.
		if finite := float64(s.ssthresh) <= 2*cw.max; finite && (!threshOn || s.ssthresh != lastThresh) {
			if !threshOn {
				thresh.move(px, cw.at(float64(s.ssthresh)))
			} else {
				thresh.horiz(px)
				thresh.vert(cw.at(float64(s.ssthresh)))
			}
			threshOn = true
		}
		lastCwnd, lastThresh, lastRTT = s.cwnd, s.ssthresh, s.srtt
	}
	if n := len(d.info); n > 0 {
		end := x.at(secs(d.info[n-1].t))
		cwnd.horiz(end)
		srtt.horiz(end)
		if threshOn {
			thresh.horiz(end)
		}
	}
	w.draw("ssthresh", &thresh, `fill="none" stroke="`+colThresh+`" stroke-width="1.2" stroke-dasharray="5 3"`)
	w.draw("cwnd", &cwnd, `fill="none" stroke="`+colCwnd+`" stroke-width="1.5"`)
	w.draw("srtt", &srtt, `fill="none" stroke="`+colRTT+`" stroke-width="1.2"`)
	w.b.WriteString("</g>\n")
	w.printf(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="black"/>`+"\n",
		plotLeft, infoTop, plotRight-plotLeft, infoBottom-infoTop)
	w.legend(plotLeft+10, infoTop-10, [][3]string{
		{colCwnd, "", "cwnd"},
		{colThresh, ` stroke-dasharray="5 3"`, "ssthresh"},
		{colRTT, "", fmt.Sprintf("smoothed RTT (TCP_INFO, %d samples)", len(d.info))},
	})
	w.b.WriteString("</svg>\n")
	_, err := io.WriteString(out, w.b.String())
	return err
}
