package header

import "strings"

// Pseudo-header names as HTTP/2 spells them; the HTTP/1 codec maps the request and
// status lines onto them.
const (
	Method    = ":method"
	Path      = ":path"
	Authority = ":authority"
	Scheme    = ":scheme"
	Status    = ":status"
	Protocol  = ":protocol"
)

// Field is one header field. Name is lowercase.
type Field struct {
	Name  string
	Value string
}

// Map is an ordered list of header fields. Names are stored lowercase; callers pass
// lowercase names to every method (all of weft's names are constants). The zero value
// is an empty map ready to use. A Map is not safe for concurrent use.
type Map struct {
	fields []Field
}

// Len returns the number of fields, pseudo-headers included.
func (m *Map) Len() int { return len(m.fields) }

// Fields returns the fields in order. The slice aliases the map: callers may change
// values in place but must not append to it.
func (m *Map) Fields() []Field { return m.fields }

// Get returns the first value of name, or "" when it is absent.
func (m *Map) Get(name string) string {
	v, _ := m.Lookup(name)
	return v
}

// Lookup returns the first value of name and whether it is present.
func (m *Map) Lookup(name string) (string, bool) {
	for i := range m.fields {
		if m.fields[i].Name == name {
			return m.fields[i].Value, true
		}
	}
	return "", false
}

// Has reports whether name is present.
func (m *Map) Has(name string) bool {
	_, ok := m.Lookup(name)
	return ok
}

// Count returns how many fields are called name.
func (m *Map) Count(name string) int {
	n := 0
	for i := range m.fields {
		if m.fields[i].Name == name {
			n++
		}
	}
	return n
}

// Joined returns every value of name joined with ",", as Envoy presents a header that
// appears more than once to matchers. It allocates only when there are several values.
func (m *Map) Joined(name string) (string, bool) {
	first := -1
	for i := range m.fields {
		if m.fields[i].Name != name {
			continue
		}
		if first < 0 {
			first = i
			continue
		}
		var b strings.Builder
		b.WriteString(m.fields[first].Value)
		for j := i; j < len(m.fields); j++ {
			if m.fields[j].Name == name {
				b.WriteByte(',')
				b.WriteString(m.fields[j].Value)
			}
		}
		return b.String(), true
	}
	if first < 0 {
		return "", false
	}
	return m.fields[first].Value, true
}

// Add appends a field. A pseudo-header goes after the existing pseudo-headers so that
// they stay first.
func (m *Map) Add(name, value string) {
	if IsPseudo(name) {
		i := 0
		for i < len(m.fields) && IsPseudo(m.fields[i].Name) {
			i++
		}
		m.fields = append(m.fields, Field{})
		copy(m.fields[i+1:], m.fields[i:])
		m.fields[i] = Field{Name: name, Value: value}
		return
	}
	m.fields = append(m.fields, Field{Name: name, Value: value})
}

// Set replaces every value of name with value, keeping the position of the first one.
func (m *Map) Set(name, value string) {
	for i := range m.fields {
		if m.fields[i].Name == name {
			m.fields[i].Value = value
			m.delFrom(name, i+1)
			return
		}
	}
	m.Add(name, value)
}

// SetDefault adds name only when it is absent.
func (m *Map) SetDefault(name, value string) {
	if !m.Has(name) {
		m.Add(name, value)
	}
}

// Del removes every field called name and reports whether there was one.
func (m *Map) Del(name string) bool {
	n := len(m.fields)
	m.delFrom(name, 0)
	return len(m.fields) != n
}

func (m *Map) delFrom(name string, from int) {
	j := from
	for i := from; i < len(m.fields); i++ {
		if m.fields[i].Name != name {
			m.fields[j] = m.fields[i]
			j++
		}
	}
	clear(m.fields[j:])
	m.fields = m.fields[:j]
}

// DelFunc removes every field for which drop returns true.
func (m *Map) DelFunc(drop func(Field) bool) {
	j := 0
	for i := range m.fields {
		if !drop(m.fields[i]) {
			m.fields[j] = m.fields[i]
			j++
		}
	}
	clear(m.fields[j:])
	m.fields = m.fields[:j]
}

// Reset empties the map and keeps its storage.
func (m *Map) Reset() {
	clear(m.fields)
	m.fields = m.fields[:0]
}

// Clone returns a copy that shares no storage with m.
func (m *Map) Clone() Map {
	if len(m.fields) == 0 {
		return Map{}
	}
	return Map{fields: append([]Field(nil), m.fields...)}
}

// CopyFrom makes m a copy of src, reusing m's storage.
func (m *Map) CopyFrom(src *Map) {
	m.fields = append(m.fields[:0], src.fields...)
}

// IsPseudo reports whether name is an HTTP/2 pseudo-header.
func IsPseudo(name string) bool { return len(name) > 0 && name[0] == ':' }

// Of builds a map from name/value pairs; it is meant for tests and literals.
func Of(pairs ...string) Map {
	var m Map
	for i := 0; i+1 < len(pairs); i += 2 {
		m.Add(strings.ToLower(pairs[i]), pairs[i+1])
	}
	return m
}
