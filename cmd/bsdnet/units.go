package main

import (
	"fmt"
	"strconv"
	"strings"
)

// byteSize is a flag holding a number of bytes, written plainly (65536)
// or with a binary or decimal unit: 64KiB, 2MiB, 1GiB, 100kB, 10MB.
type byteSize int64

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"GB", 1e9}, {"MB", 1e6}, {"kB", 1e3}, {"KB", 1e3}, {"B", 1},
}

// Set parses a size.
func (b *byteSize) Set(s string) error {
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 || v*float64(mult) > 1<<62 {
		return fmt.Errorf("%q is not a size in bytes (such as 65536, 64KiB or 2MiB)", s)
	}
	*b = byteSize(v * float64(mult))
	return nil
}

// String prints the size with the largest binary unit that divides it.
func (b byteSize) String() string {
	for _, u := range byteUnits[:3] {
		if b >= byteSize(u.mult) && int64(b)%u.mult == 0 {
			return fmt.Sprintf("%d%s", int64(b)/u.mult, u.suffix)
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

// rate is a flag holding bits per second: 1000000, 1M, 10Mbit, 1.5G.
type rate int64

// Set parses a rate.
func (r *rate) Set(s string) error {
	num := strings.TrimSpace(s)
	for _, u := range []string{"bit/s", "bps", "bit", "b"} {
		num = strings.TrimSuffix(num, u)
	}
	mult := 1.0
	if n := len(num); n > 0 {
		switch num[n-1] {
		case 'k', 'K':
			mult = 1e3
		case 'M':
			mult = 1e6
		case 'G':
			mult = 1e9
		}
		if mult != 1 {
			num = num[:n-1]
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || v < 0 || v*mult > 1e15 {
		return fmt.Errorf("%q is not a rate in bits per second (such as 10M or 1.5Gbit)", s)
	}
	*r = rate(v * mult)
	return nil
}

// String prints the rate in the largest decimal unit.
func (r rate) String() string {
	switch {
	case r == 0:
		return "0"
	case r >= 1e9:
		return strconv.FormatFloat(float64(r)/1e9, 'g', -1, 64) + " Gbit/s"
	case r >= 1e6:
		return strconv.FormatFloat(float64(r)/1e6, 'g', -1, 64) + " Mbit/s"
	case r >= 1e3:
		return strconv.FormatFloat(float64(r)/1e3, 'g', -1, 64) + " kbit/s"
	}
	return strconv.FormatInt(int64(r), 10) + " bit/s"
}

// mb formats a byte count in decimal megabytes, or kilobytes when small.
func mb(n int64) string {
	if n < 1e6 {
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%.2f MB", float64(n)/1e6)
}
