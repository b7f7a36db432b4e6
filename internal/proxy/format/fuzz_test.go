package format

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		DefaultFormat, "%%", "%", "%REQ(a?b):3%", "%START_TIME(%s.%3f %E*S %Ez)%", "%REQ(a)b)%",
		"%DYNAMIC_METADATA(com.test.my_filter:test_object:inner_key):2%", "%START_TIME(%E9f%c)%",
		"%RESPONSE_CODE_DETAILS(ALLOW_WHITESPACES)%", "%PROTOCOL:1%", "%A(%)%", "x%%%PROTOCOL%%%",
	} {
		f.Add(s)
	}
	full, empty := fullInfo(), &streaminfo.Info{}
	f.Fuzz(func(t *testing.T, s string) {
		fm, err := Parse(s)
		if err != nil {
			return
		}
		fm.Format(full)
		fm.Format(empty)
		if !strings.Contains(s, "%") {
			if got := fm.Format(empty); got != s {
				t.Errorf("Format of %q without operators = %q", s, got)
			}
		}
		if static, ok := fm.Static(); ok && static != fm.Format(full) {
			t.Errorf("Static() = %q but Format = %q", static, fm.Format(full))
		}
	})
}

func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c\n\x01", "\xff\xfe", "é€😀", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := appendJSONString(nil, s)
		if !json.Valid(out) {
			t.Fatalf("appendJSONString(%q) = %s, not valid JSON", s, out)
		}
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatal(err)
		}
		if utf8.ValidString(s) && back != s {
			t.Errorf("round trip of %q gave %q", s, back)
		}
	})
}
