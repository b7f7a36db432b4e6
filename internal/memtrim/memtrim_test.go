//go:build linux

package memtrim

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// exeResident sums the resident kB of the executable's read-only mappings.
func exeResident(t *testing.T) int {
	t.Helper()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	total, ours := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":"):
			ours = len(fields) >= 6 && fields[5] == exe && !strings.Contains(fields[1], "w")
		case ours && len(fields) == 3 && fields[0] == "Rss:":
			kb, _ := strconv.Atoi(fields[1])
			total += kb
		}
	}
	return total
}

// TestRelease: the test binary's text and read-only data are mostly resident after
// it started; Release unmaps them, and the code keeps running (it maps back what it
// uses).
func TestRelease(t *testing.T) {
	before := exeResident(t)
	st, err := Release()
	if err != nil {
		t.Fatal(err)
	}
	after := exeResident(t)
	if st.Mappings == 0 || st.Bytes == 0 {
		t.Fatalf("Release advised nothing: %+v", st)
	}
	// What the test runs between the two reads maps back (a good part of a small test
	// binary): fewer pages, not none.
	if before == 0 || after >= before {
		t.Errorf("executable's read-only pages resident: %d kB before Release, %d kB after; want fewer", before, after)
	}
	t.Logf("released %d mappings (%d bytes); resident %d kB before, %d kB after", st.Mappings, st.Bytes, before, after)
	// Run again: still fine, and what runs between is mapped back on demand.
	if _, err := Release(); err != nil {
		t.Fatal(err)
	}
}
