package runtime

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"sigs.k8s.io/yaml"
)

// Fraction is a fractional percent: Numerator out of Denominator, which is 100,
// 10000 or 1000000 as in envoy.type.v3.FractionalPercent. A zero Denominator means 100.
type Fraction struct {
	Numerator   uint32
	Denominator uint32
}

// Percent returns the fraction n out of 100.
func Percent(n uint32) Fraction { return Fraction{Numerator: n, Denominator: 100} }

// FractionFromProto converts a FractionalPercent; nil is zero percent.
func FractionFromProto(p *typev3.FractionalPercent) Fraction {
	return Fraction{Numerator: p.GetNumerator(), Denominator: denominator(p.GetDenominator())}
}

func denominator(d typev3.FractionalPercent_DenominatorType) uint32 {
	switch d {
	case typev3.FractionalPercent_TEN_THOUSAND:
		return 10000
	case typev3.FractionalPercent_MILLION:
		return 1000000
	default:
		return 100
	}
}

// Enabled reports whether random falls under the fraction, as Envoy evaluates a
// FractionalPercent: random % denominator < numerator.
func (f Fraction) Enabled(random uint64) bool {
	d := uint64(f.Denominator)
	if d == 0 {
		d = 100
	}
	return random%d < uint64(f.Numerator)
}

// entry is one runtime value: the raw string /runtime shows and the typed views
// Envoy derives from it. A view is valid only when its has* flag is set.
type entry struct {
	raw     string
	u       uint64
	d       float64
	b       bool
	frac    Fraction
	hasU    bool
	hasD    bool
	hasB    bool
	hasFrac bool
}

// setNumber fills the numeric views of a number, as Envoy's setNumberValue does:
// an integral value is also a boolean (non-zero is true) and a non-negative one is
// also an unsigned integer (truncated).
func (e *entry) setNumber(v float64) {
	e.d, e.hasD = v, true
	if v < math.MaxInt32 && v >= math.MinInt32 && v == math.Trunc(v) {
		e.b, e.hasB = v != 0, true
	}
	if v >= 0 && v <= math.MaxUint64 {
		e.u, e.hasU = uint64(v), true
	}
}

// entryFromValue builds the entry of a Struct value. raw, when not empty, is the
// text the value was parsed from (admin layer); otherwise it is derived from the value
// as Envoy does: numbers with six significant digits, booleans as true/false.
func entryFromValue(v *structpb.Value, raw string) (entry, error) {
	e := entry{raw: raw}
	switch k := v.GetKind().(type) {
	case *structpb.Value_NumberValue:
		e.setNumber(k.NumberValue)
		if e.raw == "" {
			e.raw = strconv.FormatFloat(k.NumberValue, 'g', 6, 64)
		}
	case *structpb.Value_BoolValue:
		e.b, e.hasB = k.BoolValue, true
		if e.raw == "" {
			e.raw = strconv.FormatBool(k.BoolValue)
		}
	case *structpb.Value_StringValue:
		if e.raw == "" {
			e.raw = k.StringValue
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(k.StringValue), 64); err == nil {
			e.setNumber(f)
		}
	case *structpb.Value_StructValue:
		if e.raw == "" {
			e.raw = compactJSON(k.StructValue)
		}
		e.frac, e.hasFrac = fractionOf(k.StructValue)
	default:
		return entry{}, fmt.Errorf("value must be a string, number, boolean or fractional percent")
	}
	return e, nil
}

// fractionOf reads a {numerator, denominator} struct; any other field, or an unknown
// denominator, makes it not a fraction.
func fractionOf(s *structpb.Struct) (Fraction, bool) {
	f := Fraction{Denominator: 100}
	for k, v := range s.GetFields() {
		switch {
		case k == "numerator":
			if n, ok := v.GetKind().(*structpb.Value_NumberValue); ok {
				f.Numerator = uint32(n.NumberValue)
			}
		case k == "denominator":
			d, ok := typev3.FractionalPercent_DenominatorType_value[v.GetStringValue()]
			if !ok {
				return Fraction{}, false
			}
			f.Denominator = denominator(typev3.FractionalPercent_DenominatorType(d))
		default:
			return Fraction{}, false
		}
	}
	return f, true
}

// compactJSON renders a struct deterministically (sorted keys); weft shows a
// fractional-percent struct of a static layer this way where Envoy shows the proto's
// debug string.
func compactJSON(s *structpb.Struct) string {
	b, err := json.Marshal(s.AsMap())
	if err != nil {
		return ""
	}
	return string(b)
}

// parseAdminValue parses a /runtime_modify value the way Envoy's admin layer does: as
// YAML, keeping the text as given for display.
func parseAdminValue(raw string) (entry, error) {
	js, err := yaml.YAMLToJSON([]byte(raw))
	if err != nil {
		return entry{}, fmt.Errorf("invalid YAML: %w", err)
	}
	v := &structpb.Value{}
	if err := protojson.Unmarshal(js, v); err != nil {
		return entry{}, fmt.Errorf("invalid YAML value: %w", err)
	}
	if _, ok := v.GetKind().(*structpb.Value_NullValue); ok {
		return entry{raw: raw}, nil
	}
	e, err := entryFromValue(v, raw)
	if err != nil {
		return entry{raw: raw}, nil // lists and the like stay plain strings
	}
	return e, nil
}

// flatten walks a static layer's struct into dotted keys, as Envoy's ProtoLayer does:
// a struct that is empty or has a numerator or denominator is one fractional-percent
// value; any other struct is a directory.
func flatten(dst map[string]entry, prefix string, v *structpb.Value) error {
	if s := v.GetStructValue(); s != nil && !isFraction(s) {
		for k, fv := range s.GetFields() {
			if err := flatten(dst, prefix+"."+k, fv); err != nil {
				return err
			}
		}
		return nil
	}
	e, err := entryFromValue(v, "")
	if err != nil {
		return fmt.Errorf("invalid runtime entry value for %s: %w", prefix, err)
	}
	dst[prefix] = e
	return nil
}

func isFraction(s *structpb.Struct) bool {
	_, n := s.GetFields()["numerator"]
	_, d := s.GetFields()["denominator"]
	return len(s.GetFields()) == 0 || n || d
}
