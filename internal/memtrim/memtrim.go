package memtrim

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Stats say what Release unmapped.
type Stats struct {
	Mappings int
	Bytes    uint64 // the size of the mappings advised, not what was resident
}

// Release unmaps the read-only mappings of the running executable (its text and
// read-only data). Writable mappings (.data, .bss, heap) are never touched.
func Release() (Stats, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return Stats{}, err
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return Stats{}, err
	}
	defer f.Close()
	var ranges [][2]uintptr
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 00400000-0255e000 r-xp 00000000 08:01 1234 /path/to/weft
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		ranges = append(ranges, [2]uintptr{uintptr(start), uintptr(end)})
	}
	if err := sc.Err(); err != nil {
		return Stats{}, err
	}
	var st Stats
	for _, r := range ranges {
		// MADV_RANDOM first: without it, each page the proxy touches again maps its
		// 64 KiB neighbourhood back too (fault-around), a third of the saving.
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, r[0], r[1]-r[0], syscall.MADV_RANDOM); errno != 0 {
			return st, fmt.Errorf("madvise random %#x-%#x: %w", r[0], r[1], errno)
		}
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, r[0], r[1]-r[0], syscall.MADV_DONTNEED); errno != 0 {
			return st, fmt.Errorf("madvise %#x-%#x: %w", r[0], r[1], errno)
		}
		st.Mappings++
		st.Bytes += uint64(r[1] - r[0])
	}
	return st, nil
}

// Run releases the executable's pages now and then every interval until ctx ends, so
// that what one-off work mapped (a config dump through the admin API, a large config
// update) does not stay resident. What is in use maps back at the cost of a few minor
// faults. Each time it first collects the heap and gives its free pages back to the
// system: starting (every package's initialisation, parsing the bootstrap) leaves a
// few megabytes of garbage that an idle proxy would otherwise keep until the
// scavenger gets to it, and a collection costs milliseconds a minute.
func Run(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		debug.FreeOSMemory()
		st, err := Release()
		if err != nil {
			log.Warn("could not release the executable's pages; stopped trying", "error", err)
			return
		}
		log.Debug("released the executable's pages", "mappings", st.Mappings, "bytes", st.Bytes)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
