package streaminfo

import "testing"

func TestFlags(t *testing.T) {
	var f Flags
	if f.String() != "-" {
		t.Errorf("no flags = %q, want -", f.String())
	}
	f = UpstreamConnectionFailure | NoHealthyUpstream | UpstreamRetryLimitExceeded
	if f.String() != "UH,UF,URX" {
		t.Errorf("short = %q, want Envoy's order UH,UF,URX", f.String())
	}
	if f.Long() != "NoHealthyUpstream,UpstreamConnectionFailure,UpstreamRetryLimitExceeded" {
		t.Errorf("long = %q", f.Long())
	}
	for _, n := range []string{"UO", "UpstreamOverflow"} {
		if g, ok := ParseFlag(n); !ok || g != UpstreamOverflow {
			t.Errorf("ParseFlag(%s) = %v %v", n, g, ok)
		}
	}
	if int(lastFlag) != 1<<len(flagNames) {
		t.Errorf("%d flags but %d names", bitsOf(lastFlag), len(flagNames))
	}
}

func bitsOf(f Flags) int {
	n := 0
	for f > 1 {
		f >>= 1
		n++
	}
	return n
}
