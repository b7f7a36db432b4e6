package format

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// command is one scanned %COMMAND(ARG):LENGTH% operator.
type command struct {
	name   string
	arg    string
	maxLen int // -1 when no length was given
}

// parseSegments splits a format string into literal text and operators. "%%" is a
// literal percent sign.
func parseSegments(s string) ([]segment, error) {
	var segs []segment
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			segs = append(segs, segment{literal: lit.String()})
			lit.Reset()
		}
	}
	for pos := 0; pos < len(s); {
		i := strings.IndexByte(s[pos:], '%')
		if i < 0 {
			lit.WriteString(s[pos:])
			break
		}
		lit.WriteString(s[pos : pos+i])
		pos += i
		if pos+1 < len(s) && s[pos+1] == '%' {
			lit.WriteByte('%')
			pos += 2
			continue
		}
		flush()
		cmd, n, err := scanCommand(s[pos:])
		if err != nil {
			return nil, fmt.Errorf("format: position %d: %w", pos, err)
		}
		op, err := newOperator(cmd)
		if err != nil {
			return nil, fmt.Errorf("format: %w", err)
		}
		segs = append(segs, segment{op: op})
		pos += n
	}
	flush()
	return segs, nil
}

var errNoCommand = errors.New("no valid command operator (want %COMMAND(ARG):LENGTH%)")

// scanCommand reads one operator from s, which starts with '%', and returns it with
// the number of bytes it spans. It follows Envoy's grammar
// ^%([A-Z0-9_]+)(?:\((.*?)\))?(?::([0-9]+))?% where the argument is the shortest text
// that lets the rest match and cannot span a newline.
func scanCommand(s string) (command, int, error) {
	i := 1
	for i < len(s) && isCommandByte(s[i]) {
		i++
	}
	if i == 1 {
		return command{}, 0, errNoCommand
	}
	cmd := command{name: s[1:i], maxLen: -1}
	if i < len(s) && s[i] == '(' {
		for j := i + 1; j < len(s) && s[j] != '\n'; j++ {
			if s[j] != ')' {
				continue
			}
			if maxLen, n, ok := scanTail(s[j+1:]); ok {
				cmd.arg, cmd.maxLen = s[i+1:j], maxLen
				return cmd, j + 1 + n, nil
			}
		}
		return command{}, 0, fmt.Errorf("%%%s: unterminated or malformed argument", cmd.name)
	}
	maxLen, n, ok := scanTail(s[i:])
	if !ok {
		return command{}, 0, fmt.Errorf("%%%s: %w", cmd.name, errNoCommand)
	}
	cmd.maxLen = maxLen
	return cmd, i + n, nil
}

// scanTail matches (?::([0-9]+))?% at the start of s.
func scanTail(s string) (maxLen, n int, ok bool) {
	if len(s) > 1 && s[0] == ':' {
		d := 1
		for d < len(s) && s[d] >= '0' && s[d] <= '9' {
			d++
		}
		if d > 1 && d < len(s) && s[d] == '%' {
			v, err := strconv.Atoi(s[1:d])
			if err != nil {
				return 0, 0, false
			}
			return v, d + 1, true
		}
	}
	if len(s) > 0 && s[0] == '%' {
		return -1, 1, true
	}
	return 0, 0, false
}

func isCommandByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// argRule says whether an operator takes an argument in parentheses.
type argRule uint8

const (
	argNone argRule = iota
	argOptional
	argRequired
)

// spec describes how to build one command operator.
type spec struct {
	arg    argRule
	length bool // whether :LENGTH is allowed
	build  func(arg string) (*operator, error)
}

// newOperator checks cmd against its operator's syntax and builds it.
func newOperator(cmd command) (*operator, error) {
	sp, ok := operators[cmd.name]
	if !ok {
		return nil, fmt.Errorf("unsupported command operator %%%s%%", cmd.name)
	}
	switch {
	case sp.arg == argNone && cmd.arg != "":
		return nil, fmt.Errorf("%%%s%% takes no argument", cmd.name)
	case sp.arg == argRequired && cmd.arg == "":
		return nil, fmt.Errorf("%%%s%% requires an argument", cmd.name)
	case !sp.length && cmd.maxLen >= 0:
		return nil, fmt.Errorf("%%%s%% does not allow a length", cmd.name)
	}
	op, err := sp.build(cmd.arg)
	if err != nil {
		return nil, fmt.Errorf("%%%s(%s)%%: %w", cmd.name, cmd.arg, err)
	}
	op.maxLen = cmd.maxLen
	return op, nil
}
